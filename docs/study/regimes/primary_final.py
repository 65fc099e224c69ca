"""The primary family after the extension, as EXTENSION.md declared it before its runs.

The 8 primary tests of HYPOTHESES.md: per regime, the clean effect and the retention
effect. N100 short scratch's two come from the extension (its 5 seeds, the pre-registered
rule's outcome); the other six are the first report's, unchanged. Benjamini-Hochberg at
q = 0.05 over these 8 p-values; a verdict (helps / costs) only where the adjusted p is
below 0.05 and the 95 % interval excludes 0. Run from the repository root:

    python docs/study/regimes/primary_final.py      # -> docs/study/regimes/primary_final.csv
"""

from __future__ import annotations

import csv
from pathlib import Path

from detaug.study.stats import benjamini_hochberg

HERE = Path(__file__).resolve().parent
REPLACED = "N100 short scratch"
COLUMNS = ["regime", "endpoint", "n", "mean", "sd", "ci_lo", "ci_hi", "p", "p_bh", "verdict", "source",
           "baseline_gap", "baseline_gap_sd"]


def rows(path: Path, regimes: set) -> list:
    with open(path, newline="") as f:
        return [dict(r, source=str(path.relative_to(HERE))) for r in csv.DictReader(f) if r["regime"] in regimes]


def main() -> None:
    first = rows(HERE / "regimes.csv", {"N100 long scratch", "N100 short pretrained", "N100 long pretrained"})
    extension = rows(HERE / "extension" / "regimes.csv", {REPLACED})
    family = extension + first
    assert len(family) == 8 and {r["endpoint"] for r in family} == {"clean", "retention"}, family
    adjusted = benjamini_hochberg([float(r["p"]) for r in family])
    out = []
    for r, p_bh in zip(family, adjusted):
        excludes_zero = float(r["ci_lo"]) > 0 or float(r["ci_hi"]) < 0
        verdict = ("helps" if float(r["mean"]) > 0 else "costs") if p_bh < 0.05 and excludes_zero else "inconclusive"
        out.append({**{k: r[k] for k in COLUMNS if k in r}, "p_bh": f"{p_bh:.6f}", "verdict": verdict})
    with open(HERE / "primary_final.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(out)
    for r in out:
        print(f"{r['regime']:<22} {r['endpoint']:<9} n={r['n']} {100 * float(r['mean']):+5.1f} "
              f"[{100 * float(r['ci_lo']):+5.1f}, {100 * float(r['ci_hi']):+5.1f}] p_BH {float(r['p_bh']):.3f} {r['verdict']}")


if __name__ == "__main__":
    main()
