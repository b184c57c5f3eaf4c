"""The polars reference for bench/run.sh: the same per-phase statistics that
`canary-report build` reports for raw latency samples, on the same run
directory.

    python bench/polars_ref.py RUN_DIR [OUT.json]

Reads RUN_DIR/events.jsonl for the three comparison windows (as canary-report
finds them: baseline = the baseline phase, during = ddl_start..ddl_end, post
= ddl_end..end of the after phase; start inclusive, end exclusive) and every
RUN_DIR/metrics/*.csv (long format: timestamp,metric,value, unix seconds), then
computes count, mean, P50, P95 and P99 (linear interpolation, numpy's default)
of query_latency_ms and request_latency_ms in each window. Prints (or writes)
JSON: {"query_latency_ms": {"baseline": {"count":..,"mean":..,"p50":..}, ..}, ..}.
"""
import json
import pathlib
import sys
from datetime import datetime, timezone

import polars as pl

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
METRICS = ["query_latency_ms", "request_latency_ms"]


def unix_seconds(ts: str) -> float:
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    delta = dt - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros / 1e6


def windows(run: pathlib.Path) -> dict:
    starts, ends, ddl_start, ddl_end = {}, {}, None, None
    for line in (run / "events.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        t = unix_seconds(e["ts"])
        kind = e.get("type")
        if kind == "phase_start":
            starts.setdefault(e["phase"], t)
        elif kind == "phase_end":
            ends[e["phase"]] = t
        elif kind == "ddl_start" and ddl_start is None:
            ddl_start = t
        elif kind == "ddl_end" and ddl_end is None:
            ddl_end = t
    post_end = next(ends[p] for p in ("after", "monitoring", "verification") if p in ends)
    return {
        "baseline": (starts["baseline"], ends["baseline"]),
        "during": (ddl_start, ddl_end),
        "post": (ddl_end, post_end),
    }


def main() -> None:
    run = pathlib.Path(sys.argv[1])
    spans = windows(run)
    files = sorted((run / "metrics").glob("**/*.csv"))
    df = pl.concat(
        [
            pl.read_csv(
                f,
                columns=["timestamp", "metric", "value"],
                schema_overrides={
                    "timestamp": pl.Float64,
                    "metric": pl.Categorical,
                    "value": pl.Float64,
                },
            )
            for f in files
        ]
    )
    t = pl.col("timestamp")
    window = pl.when(False).then(pl.lit(None, dtype=pl.String))
    for name, (start, end) in spans.items():
        window = window.when((t >= start) & (t < end)).then(pl.lit(name))
    v = pl.col("value")
    stats = (
        df.filter(pl.col("metric").cast(pl.String).is_in(METRICS))
        .with_columns(window=window)
        .drop_nulls("window")
        .group_by("metric", "window")
        .agg(
            count=pl.len(),
            mean=v.mean(),
            p50=v.quantile(0.50, "linear"),
            p95=v.quantile(0.95, "linear"),
            p99=v.quantile(0.99, "linear"),
        )
    )
    out: dict = {m: {} for m in METRICS}
    for row in stats.iter_rows(named=True):
        out[str(row["metric"])][row["window"]] = {
            k: row[k] for k in ("count", "mean", "p50", "p95", "p99")
        }
    text = json.dumps(out, indent=1, sort_keys=True)
    if len(sys.argv) > 2:
        pathlib.Path(sys.argv[2]).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
