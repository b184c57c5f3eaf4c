"""Reference values for canary-report's significance module, computed by scipy and numpy.

Run once to (re)create tests/fixtures/stats/mannwhitney.json; the Rust test
`significance_matches_scipy` compares against the stored values, so CI needs
neither scipy nor numpy.

    python3 tests/reference/make_mannwhitney.py

For each case:
- scipy.stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided",
  method=M) for M in "asymptotic", "exact" (cases without ties) and "auto":
  U1 (scipy's statistic, of x) and the p-value;
- the Hodges-Lehmann shift: numpy's median of every pairwise difference y - x;
- its 95 % interval: the C-th smallest and C-th largest pairwise difference,
  C = round(n1*n2/2 - z_0.975 * sigma), sigma the tie-corrected standard
  deviation of U (Hollander & Wolfe), clamped to 1..n1*n2.
"""
import json
import pathlib

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261130)


def case(name, x, y):
    return {"name": name, "x": [float(v) for v in x], "y": [float(v) for v in y]}


cases = [
    # Small, no ties: scipy's "auto" takes the exact distribution.
    case("exact_3_vs_4_separated", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]),
    case("exact_5_vs_7", rng.normal(0, 1, 5), rng.normal(0.8, 1, 7)),
    case("exact_8_vs_8", rng.normal(10, 2, 8), rng.normal(11, 2, 8)),
    case("exact_8_vs_40", rng.lognormal(1.0, 0.4, 8), rng.lognormal(1.3, 0.4, 40)),
    case("exact_6_vs_300", rng.uniform(0, 1, 6), rng.uniform(0.1, 1.1, 300)),
    case("exact_1_vs_9", [2.5], rng.normal(0, 1, 9)),
    # Larger or tied: normal approximation with tie and continuity corrections.
    case("asymptotic_9_vs_12", rng.normal(0, 1, 9), rng.normal(0.5, 1, 12)),
    case("asymptotic_latency_200_vs_150", rng.lognormal(1.5, 0.5, 200), rng.lognormal(1.62, 0.5, 150)),
    case("asymptotic_same_distribution", rng.normal(50, 5, 300), rng.normal(50, 5, 250)),
    case("ties_integers", rng.integers(0, 6, 60).astype(float), rng.integers(1, 7, 45).astype(float)),
    case("ties_small_6_vs_7", [1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5, 5, 6]),
    case("mostly_zero_error_rate", np.where(rng.uniform(size=120) < 0.9, 0.0, rng.uniform(0, 0.2, 120)),
         np.where(rng.uniform(size=80) < 0.6, 0.0, rng.uniform(0, 0.5, 80))),
    case("huge_shift_2000_vs_1500", rng.normal(0, 1, 2000), rng.normal(3, 1, 1500)),
    case("negative_shift_cpu", rng.normal(40, 3, 60), rng.normal(35, 3, 55)),
]


def hodges_lehmann(x, y):
    d = np.subtract.outer(np.asarray(y), np.asarray(x)).ravel()
    return float(np.median(d)), np.sort(d)


def tie_sigma(x, y):
    n1, n2 = len(x), len(y)
    n = n1 + n2
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    tie = float(np.sum(counts.astype(float) ** 3 - counts))
    return float(np.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1)))))


out = []
for c in cases:
    x, y = np.asarray(c["x"]), np.asarray(c["y"])
    n1, n2 = len(x), len(y)
    ties = len(np.unique(np.concatenate([x, y]))) < n1 + n2
    res = {}
    methods = ["asymptotic", "auto"] + ([] if ties else ["exact"])
    for m in methods:
        r = stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method=m)
        res[m] = {"u": float(r.statistic), "p": float(r.pvalue)}
    shift, d = hodges_lehmann(x, y)
    total = n1 * n2
    z = float(stats.norm.ppf(0.975))
    rank = int(min(max(np.round(total / 2 - z * tie_sigma(x, y)), 1), total))
    c.update(
        {
            "ties": bool(ties),
            "mannwhitneyu": res,
            "auto_method": "exact" if (not ties and (n1 <= 8 or n2 <= 8)) else "asymptotic",
            "hl_shift": shift,
            "hl_ci_rank": rank,
            "hl_ci_low": float(d[rank - 1]),
            "hl_ci_high": float(d[total - rank]),
            "rank_biserial": float(1 - 2 * res["auto"]["u"] / total),
        }
    )
    out.append(c)

meta = {
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "alternative": "two-sided",
    "use_continuity": True,
    "confidence": 0.95,
    "cases": out,
}
path = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "stats" / "mannwhitney.json"
path.write_text(json.dumps(meta, indent=1) + "\n")
print(f"wrote {path}: {len(out)} cases")
