"""The driver of bench/run.sh: makes the seeded exports when missing, times
`canary-report build` and the polars reference (bench/polars_ref.py) side by
side on each, checks that both computed the same statistics, and prints the
ratios of wall time and peak memory with the issue's targets.

Wall time is measured around the process; peak memory is GNU time's
"Maximum resident set size". Each tool runs --runs times, alternately; the
median wall time and the largest peak are kept.
"""
import argparse
import hashlib
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_TIME_RATIO = 0.25
TARGET_PEAK_MB = 400.0
TARGET_SIZE = "20M"
METRICS = {"query_latency_ms": "query_latency_p50_ms", "request_latency_ms": "request_latency_p50_ms"}
WINDOWS = ("baseline", "during", "post")
STATS = ("count", "mean", "p50", "p95", "p99")
HERE = pathlib.Path(__file__).resolve().parent


def rows_of(size: str) -> int:
    scale = {"K": 1_000, "M": 1_000_000}.get(size[-1].upper(), 1)
    return int(size.rstrip("KkMm")) * scale


def ensure_data(gen: str, data: pathlib.Path, size: str, fmt: str) -> pathlib.Path:
    """The run directory of `size` rows in `fmt`, made by the generator unless
    an up-to-date one is there (its stamp names the generator's source hash)."""
    source = b"".join((HERE / "gen" / f).read_bytes() for f in ("export.rs", "main.rs"))
    stamp_text = f"rows={rows_of(size)} format={fmt} gen={hashlib.sha256(source).hexdigest()[:16]}\n"
    run = data / f"{'csv' if fmt == 'csv' else 'prom'}-{size}"
    stamp = run / ".complete"
    if stamp.exists() and stamp.read_text() == stamp_text:
        return run
    shutil.rmtree(run, ignore_errors=True)
    subprocess.run([gen, "--rows", str(rows_of(size)), "--format", fmt, "--out", str(run)], check=True)
    stamp.write_text(stamp_text)
    return run


def metrics_bytes(run: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in (run / "metrics").rglob("*") if p.is_file())


def warm(run: pathlib.Path) -> None:
    """Reads the inputs once, so that every timed run reads from the page cache."""
    for p in (run / "metrics").rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(1 << 24):
                    pass


def timed(cmd: list) -> tuple:
    """(wall seconds, peak MB, CPU seconds: user + system) of one run of `cmd`."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", out.name, *cmd], capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}{done.stderr}")
        peak_kib, user, system = out.read().strip().splitlines()[-1].split()
    return wall, int(peak_kib) * 1024 / 1e6, float(user) + float(system)


def canary_stats(summary: pathlib.Path) -> dict:
    data = json.loads(summary.read_text())
    by_metric = {m["metric"]: m for m in data["metrics"]}
    out = {}
    for raw, metric in METRICS.items():
        m = by_metric[metric]
        out[raw] = {w: ({k: m[w][k] for k in STATS} if m.get(w) else None) for w in WINDOWS}
    return out


def worst_difference(a: dict, b: dict) -> float:
    """The largest relative difference between two statistics tables (inf if
    a window or a count differs)."""
    worst = 0.0
    for raw in METRICS:
        for w in WINDOWS:
            x, y = a[raw].get(w), b[raw].get(w)
            if x is None or y is None:
                if x != y:
                    return float("inf")
                continue
            if x["count"] != y["count"]:
                return float("inf")
            for k in STATS[1:]:
                worst = max(worst, abs(x[k] - y[k]) / max(abs(y[k]), 1e-300))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--data", required=True, type=pathlib.Path)
    ap.add_argument("--sizes", nargs="+", default=["1M", "5M", "20M"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", nargs="+", default=["csv", "prometheus"])
    args = ap.parse_args()
    data = args.data
    results = {"machine": {"cpus": __import__("os").cpu_count()}, "runs": args.runs, "csv": [], "prometheus": []}

    for size in args.sizes:
        run = ensure_data(args.gen, data, size, "csv")
        warm(run)
        out = data / f"out-csv-{size}"
        polars_out = data / f"polars-{size}.json"
        canary_cmd = [args.bin, "build", str(run), "--format", "json", "--out", str(out), "--quiet"]
        polars_cmd = [sys.executable, str(HERE / "polars_ref.py"), str(run), str(polars_out)]
        canary, polars = [], []
        for _ in range(args.runs):
            canary.append(timed(canary_cmd))
            polars.append(timed(polars_cmd))
        diff = worst_difference(canary_stats(out / "summary.json"), json.loads(polars_out.read_text()))
        row = {
            "size": size,
            "rows": rows_of(size),
            "bytes": metrics_bytes(run),
            "canary_wall_s": statistics.median(w for w, _, _ in canary),
            "canary_peak_mb": max(m for _, m, _ in canary),
            "canary_cpu_s": statistics.median(c for _, _, c in canary),
            "canary_walls_s": [w for w, _, _ in canary],
            "polars_wall_s": statistics.median(w for w, _, _ in polars),
            "polars_peak_mb": max(m for _, m, _ in polars),
            "polars_cpu_s": statistics.median(c for _, _, c in polars),
            "polars_walls_s": [w for w, _, _ in polars],
            "worst_relative_difference": diff,
        }
        results["csv"].append(row)
        print(
            f"{size}: canary-report {row['canary_wall_s']:.2f} s {row['canary_peak_mb']:.0f} MB, "
            f"polars {row['polars_wall_s']:.2f} s {row['polars_peak_mb']:.0f} MB",
            flush=True,
        )

    if "prometheus" in args.formats:
        for size in args.sizes:
            run = ensure_data(args.gen, data, size, "prometheus")
            warm(run)
            out = data / f"out-prom-{size}"
            cmd = [args.bin, "build", str(run), "--format", "json", "--out", str(out), "--quiet"]
            times = [timed(cmd) for _ in range(args.runs)]
            same = canary_stats(out / "summary.json") == canary_stats(data / f"out-csv-{size}" / "summary.json")
            results["prometheus"].append(
                {
                    "size": size,
                    "rows": rows_of(size),
                    "bytes": metrics_bytes(run),
                    "canary_wall_s": statistics.median(w for w, _, _ in times),
                    "canary_peak_mb": max(m for _, m, _ in times),
                    "canary_cpu_s": statistics.median(c for _, _, c in times),
                    "same_statistics_as_csv": same,
                }
            )

    report(results)
    (data / "results.json").write_text(json.dumps(results, indent=1) + "\n")


def report(results: dict) -> None:
    print()
    print(f"long CSV (timestamp,metric,value), median of {results['runs']} runs, peak = max RSS")
    print(f"{'rows':>6} {'input':>9} | {'canary-report':^17} | {'polars':^17} | {'canary/polars':^15} | stats")
    print(f"{'':>6} {'MB':>9} | {'wall s':>8} {'peak MB':>8} | {'wall s':>8} {'peak MB':>8} | {'time':>7} {'memory':>7} |")
    for r in results["csv"]:
        diff = r["worst_relative_difference"]
        same = "equal" if diff == 0 else (f"≤{diff:.0e}" if diff < 1e-9 else f"DIFFER ({diff:.1e})")
        print(
            f"{r['size']:>6} {r['bytes'] / 1e6:>9.1f} | {r['canary_wall_s']:>8.2f} {r['canary_peak_mb']:>8.0f} | "
            f"{r['polars_wall_s']:>8.2f} {r['polars_peak_mb']:>8.0f} | "
            f"{r['canary_wall_s'] / r['polars_wall_s']:>6.2f}x {r['canary_peak_mb'] / r['polars_peak_mb']:>6.2f}x | {same}"
        )
    # Wall time moves with the machine's other load; the spread of the runs
    # and the CPU time (user + system) say how much.
    print("spread of wall times (min-max) and CPU seconds (median, user + system):")
    for r in results["csv"]:
        print(
            f"{r['size']:>6} canary-report {min(r['canary_walls_s']):.2f}-{max(r['canary_walls_s']):.2f} s, "
            f"CPU {r['canary_cpu_s']:.2f} s | polars {min(r['polars_walls_s']):.2f}-{max(r['polars_walls_s']):.2f} s, "
            f"CPU {r['polars_cpu_s']:.2f} s"
        )
    if len(results["csv"]) > 1:
        per_row = [f"{r['size']} {r['canary_wall_s'] / r['rows'] * 1e9:.0f}" for r in results["csv"]]
        print("canary-report ns per row (linear growth: about constant): " + ", ".join(per_row))
    if results["prometheus"]:
        print()
        print("Prometheus JSON of the same samples (canary-report only)")
        for r in results["prometheus"]:
            print(
                f"{r['size']:>6} {r['bytes'] / 1e6:>9.1f} MB | {r['canary_wall_s']:>8.2f} s {r['canary_peak_mb']:>8.0f} MB | "
                f"statistics {'equal to the CSV run' if r['same_statistics_as_csv'] else 'DIFFER from the CSV run'}"
            )
    target = next((r for r in results["csv"] if r["size"] == TARGET_SIZE), None)
    if target:
        ratio = target["canary_wall_s"] / target["polars_wall_s"]
        peak = target["canary_peak_mb"]
        exact = target["worst_relative_difference"] < 1e-9
        print()
        print(f"targets at {TARGET_SIZE} rows:")
        print(f"  wall time ratio {ratio:.3f} <= {TARGET_TIME_RATIO}: {'PASS' if ratio <= TARGET_TIME_RATIO else 'FAIL'}")
        print(f"  peak memory {peak:.0f} MB <= {TARGET_PEAK_MB:.0f} MB: {'PASS' if peak <= TARGET_PEAK_MB else 'FAIL'}")
        print(f"  statistics equal to polars': {'PASS' if exact else 'FAIL'}")


if __name__ == "__main__":
    main()
