"""Reference values for canary-report's statistics, computed by numpy.

Run once to (re)create tests/fixtures/stats/percentiles.json; the Rust test
`stats_match_numpy` compares against the stored values, so CI needs no numpy.

    python3 tests/reference/make_percentiles.py
"""
import json
import pathlib

import numpy as np

rng = np.random.default_rng(20261129)
cases = {
    "lognormal_latency_ms": rng.lognormal(mean=1.5, sigma=0.6, size=10_007),
    "uniform_cpu_pct": rng.uniform(5, 95, size=997),
    "heavy_ties": rng.integers(0, 5, size=501).astype(float),
    "two_points": np.array([3.0, 11.0]),
    "single": np.array([42.5]),
    "spiky": np.concatenate([rng.normal(10, 0.5, size=1000), [900.0, 1200.0]]),
    "tiny_and_huge": np.array([1e-9, 2e-9, 1e9, 3.5, 7.25, 1e12]),
}
out = []
for name, x in cases.items():
    x = [float(v) for v in x]
    arr = np.array(x)
    out.append(
        {
            "name": name,
            "values": x,
            "count": len(x),
            "mean": float(np.mean(arr)),
            "min": float(np.min(arr)),
            "max": float(np.max(arr)),
            # numpy's default method is "linear" (type 7 of Hyndman & Fan).
            "p50": float(np.percentile(arr, 50)),
            "p95": float(np.percentile(arr, 95)),
            "p99": float(np.percentile(arr, 99)),
        }
    )
meta = {"numpy": np.__version__, "method": "linear", "cases": out}
path = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "stats" / "percentiles.json"
path.write_text(json.dumps(meta, indent=1) + "\n")
print(f"wrote {path}")
