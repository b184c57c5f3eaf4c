"""Reference statistics of the seeded 1M-row raw latency export, computed by numpy.

Builds bench/gen (a plain rustc build), writes the run directory it makes for
1,000,000 rows (samples/run-001's manifest and events around
metrics/latency.csv), and computes for query_latency_ms and request_latency_ms
in each comparison window (as canary-report finds them: baseline = the
baseline phase, during = ddl_start..ddl_end, post = ddl_end..end of the after
phase; start inclusive, end exclusive) the count, mean, min, max and numpy's
default (linear) P50, P95 and P99. Writes tests/fixtures/stats/perf-1m.json,
which the Rust test tests/suite/perf_stats.rs compares against, so CI needs
neither numpy nor this script. Rerun it whenever bench/gen changes:

    python3 tests/reference/make_perf_stats.py
"""
import csv
import json
import pathlib
import subprocess
import tempfile
from datetime import datetime, timezone

import numpy as np

ROWS = 1_000_000
ROOT = pathlib.Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def unix_seconds(ts: str) -> float:
    """canary-report's unix(): whole microseconds, then / 1e6."""
    delta = datetime.fromisoformat(ts.replace("Z", "+00:00")) - EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) / 1e6


def windows(run: pathlib.Path) -> dict:
    starts, ends, ddl = {}, {}, {}
    for line in (run / "events.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        t = unix_seconds(e["ts"])
        if e["type"] == "phase_start":
            starts.setdefault(e["phase"], t)
        elif e["type"] == "phase_end":
            ends[e["phase"]] = t
        elif e["type"] in ("ddl_start", "ddl_end"):
            ddl.setdefault(e["type"], t)
    post_end = next(ends[p] for p in ("after", "monitoring", "verification") if p in ends)
    return {
        "baseline": (starts["baseline"], ends["baseline"]),
        "during": (ddl["ddl_start"], ddl["ddl_end"]),
        "post": (ddl["ddl_end"], post_end),
    }


def checksum(data: bytes) -> int:
    """Σ byte·(index+1) mod 2⁶⁴, as the Rust test computes it."""
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    weights = np.arange(1, len(b) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return int(np.sum(b * weights, dtype=np.uint64))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        gen = tmp / "gen"
        subprocess.run(
            ["rustc", "--edition", "2024", "-C", "opt-level=3", str(ROOT / "bench/gen/main.rs"), "-o", str(gen)],
            check=True,
        )
        run = tmp / "run"
        subprocess.run([str(gen), "--rows", str(ROWS), "--out", str(run)], check=True)
        path = run / "metrics" / "latency.csv"
        data = path.read_bytes()
        spans = windows(run)
        values = {"query_latency_ms": ([], []), "request_latency_ms": ([], [])}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                t, v = values[row["metric"]]
                t.append(float(row["timestamp"]))
                v.append(float(row["value"]))

    out = {}
    for metric, (t, v) in values.items():
        t, v = np.array(t), np.array(v)
        out[metric] = {}
        for name, (start, end) in spans.items():
            x = v[(t >= start) & (t < end)]
            out[metric][name] = {
                "count": int(x.size),
                "mean": float(np.mean(x)),
                "min": float(np.min(x)),
                "max": float(np.max(x)),
                # numpy's default method is "linear" (type 7 of Hyndman & Fan).
                "p50": float(np.percentile(x, 50)),
                "p95": float(np.percentile(x, 95)),
                "p99": float(np.percentile(x, 99)),
            }
    reference = {
        "numpy": np.__version__,
        "method": "linear",
        "rows": ROWS,
        "bytes": len(data),
        "checksum": str(checksum(data)),
        "windows": {k: list(v) for k, v in spans.items()},
        "stats": out,
    }
    target = ROOT / "tests" / "fixtures" / "stats" / "perf-1m.json"
    target.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
