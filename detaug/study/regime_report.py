"""``REGIMES.md`` and its files: the regime study's answer, per regime, with its evidence.

Written by ``detaug-study`` beside ``STUDY.md`` when the matrix has regimes:

- ``regimes.csv``: the primary family (per regime, clean and retention effect: n, mean, sd,
  95 % t-interval, p, Benjamini-Hochberg adjusted p, bootstrap interval, verdict, and the
  baseline's train - test gap);
- ``per_run.csv``: per run, clean and train-set mAP, the gap, retention at every level;
- ``exploratory.csv``: per regime and level, paired differences of absolute occluded mAP and
  of retention (not corrected: exploratory);
- ``provenance.csv``: per run, every training session's commit, dirty flag and code hash;
- ``effect_vs_gap.png``: each regime's effects against its baseline's gap.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Dict, List, Sequence

from detaug.robustness.evaluation import Row
from detaug.study.regimes import (
    RETENTION_KIND,
    Contrast,
    RegimeCell,
    bootstrap_clean_effects,
    clean,
    levels,
    occluded,
    primary_contrasts,
    regime_cells,
    retention,
    run_flags,
    train_map,
    verdict,
)
from detaug.study.stats import paired_difference

__all__ = ["write_regime_outputs"]

Q = 0.05


def _pct(x: float, sign: bool = True) -> str:
    return "n/a" if x is None or math.isnan(x) else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}")


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else (f"{x:.3f}" if x >= 0.001 else "<0.001")


def _csv(records: Sequence[Dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return buffer.getvalue()


def contrast_records(contrasts: Sequence[Contrast]) -> List[Dict[str, Any]]:
    return [{"regime": c.regime, "scheme": c.scheme, "reference": c.reference, "endpoint": c.endpoint,
             "n": c.diff.n, "mean": c.diff.mean, "sd": c.diff.sd, "ci_lo": c.diff.lo, "ci_hi": c.diff.hi,
             "p": c.p, "p_bh": c.p_bh, "boot_lo": c.boot_lo, "boot_hi": c.boot_hi, "verdict": verdict(c, Q),
             "baseline_gap": c.gap, "baseline_gap_sd": c.gap_sd} for c in contrasts]


def run_records(rows: Sequence[Row], cells: Sequence[RegimeCell]) -> List[Dict[str, Any]]:
    lv = levels(rows)
    out = []
    for cell in cells:
        for scheme in (cell.reference, cell.scheme):
            test, train = clean(rows, scheme), train_map(rows, scheme)
            per_level = {x: retention(rows, scheme, level=x) for x in lv}
            mean_ret = retention(rows, scheme)
            for seed in sorted(test):
                rec = {"regime": cell.regime, "scheme": scheme, "seed": seed, "test_map": test[seed],
                       "train_map": train.get(seed, math.nan),
                       "gap": train.get(seed, math.nan) - test[seed]}
                rec.update({f"retention {x}": per_level[x].get(seed, math.nan) for x in lv})
                rec["retention mean"] = mean_ret.get(seed, math.nan)
                out.append(rec)
    return out


def exploratory_records(rows: Sequence[Row], cells: Sequence[RegimeCell]) -> List[Dict[str, Any]]:
    out = []
    for cell in cells:
        for x in levels(rows):
            for what, get in (("occluded mAP", lambda s, x=x: occluded(rows, s, x)),
                              ("retention", lambda s, x=x: retention(rows, s, level=x))):
                d = paired_difference(get(cell.scheme), get(cell.reference))
                out.append({"regime": cell.regime, "scheme": cell.scheme, "reference": cell.reference,
                            "kind": RETENTION_KIND, "level": x, "endpoint": what, "n": d.n, "mean": d.mean,
                            "sd": d.sd, "ci_lo": d.lo, "ci_hi": d.hi, "excludes_zero": d.excludes_zero})
        d = paired_difference(train_map(rows, cell.scheme), train_map(rows, cell.reference))
        out.append({"regime": cell.regime, "scheme": cell.scheme, "reference": cell.reference, "kind": "train",
                    "level": "0", "endpoint": "train-set mAP", "n": d.n, "mean": d.mean, "sd": d.sd,
                    "ci_lo": d.lo, "ci_hi": d.hi, "excludes_zero": d.excludes_zero})
    return out


def provenance_records(runs: Sequence[Any]) -> List[Dict[str, Any]]:
    from detaug.study.training import read_provenance

    out = []
    for run in runs:
        for s in read_provenance(run.folder):
            out.append({"run": run.name, "scheme": run.scheme.label, "seed": run.seed, "state": s.get("state"),
                        "started": s.get("started"), "commit": s.get("commit"), "dirty": s.get("dirty"),
                        "code_hash": s.get("code_hash"), "version": s.get("version"),
                        "cpu": (s.get("environment") or {}).get("cpu")})  # None for runs recorded before 0.4
    return out


def plot_effects(contrasts: Sequence[Contrast], path: Path) -> Path:
    """Effect (points) against the baseline's train - test gap (points), one marker per
    regime, with its 95 % t-interval; one panel per endpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from detaug.io import atomic_write_bytes

    endpoints = list(dict.fromkeys(c.endpoint for c in contrasts))
    fig, axes = plt.subplots(1, len(endpoints), figsize=(5.2 * len(endpoints), 4.4), squeeze=False)
    titles = {"clean": "clean test mAP: I+ORE − baseline (points)",
              "retention": f"retention under {RETENTION_KIND} objects: I+ORE − baseline (points)"}
    for ax, endpoint in zip(axes[0], endpoints):
        for c in (c for c in contrasts if c.endpoint == endpoint):
            err = [[100 * (c.diff.mean - c.diff.lo)], [100 * (c.diff.hi - c.diff.mean)]]
            ax.errorbar([100 * c.gap], [100 * c.diff.mean], yerr=err, fmt="o", capsize=4, label=c.regime)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("baseline's train − test mAP gap (points)")
        ax.set_title(titles.get(endpoint, endpoint), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("paired difference, mean and 95 % t-interval over seeds")
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _interval(c: Contrast) -> str:
    return f"{_pct(c.diff.mean)} [{_pct(c.diff.lo)}, {_pct(c.diff.hi)}]"


def render(contrasts: Sequence[Contrast], runs: Sequence[Dict[str, Any]], explore: Sequence[Dict[str, Any]],
           prov: Sequence[Dict[str, Any]], command: str, resamples: int) -> str:
    clean_c = {c.regime: c for c in contrasts if c.endpoint == "clean"}
    ret_c = {c.regime: c for c in contrasts if c.endpoint == "retention"}
    lines = [
        "# Regime study: when does box-aware erasing help?", "",
        "Generated by `detaug-study` from the runs' scores; the hypotheses and the primary family were "
        "committed before the first run (`HYPOTHESES.md`). Every number is in the CSV files beside this page.",
        "", f"Command: `{command}`", "",
        "## The answer, per regime", "",
        f"Primary family: {len(contrasts)} paired t tests (per regime: the clean effect and the retention "
        f"effect under {RETENTION_KIND} objects), Benjamini-Hochberg at q = {Q}. An effect is stated (helps / "
        "costs) only where its BH-adjusted p is below q **and** its 95 % interval excludes 0; otherwise the "
        "cell is *inconclusive* (not \"no effect\"). Differences are I+ORE − baseline in points (mAP x 100) "
        "over paired training seeds (same initial weights and data order); retention = pasted mAP / clean "
        "mAP of the same run, mean over the levels.", "",
        "| regime | seeds | baseline test mAP | baseline train mAP | gap (sd) | clean effect [95 % t] | p (BH) "
        "| bootstrap over images | clean | retention effect [95 % t] | p (BH) | retention |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for regime, c in clean_c.items():
        r = ret_c.get(regime)
        base = [x for x in runs if x["regime"] == regime and x["scheme"] == c.reference]
        test = sum(x["test_map"] for x in base) / max(len(base), 1)
        train = sum(x["train_map"] for x in base) / max(len(base), 1)
        boot = f"[{_pct(c.boot_lo)}, {_pct(c.boot_hi)}]" if not math.isnan(c.boot_lo) else "n/a"
        ret = (f"{_interval(r)} | {_p(r.p)} ({_p(r.p_bh)}) | **{verdict(r, Q)}**" if r else "n/a | n/a | n/a")
        lines.append(f"| {regime} | {c.diff.n} | {_pct(test, False)} | {_pct(train, False)} | "
                     f"{_pct(c.gap)} ({_pct(c.gap_sd, False)}) | {_interval(c)} | {_p(c.p)} ({_p(c.p_bh)}) | "
                     f"{boot} | **{verdict(c, Q)}** | {ret} |")
    lines += ["", "![effect against the gap](effect_vs_gap.png)", "",
              f"Bootstrap: {resamples} resamples of the test images, the same resamples for every run, from the "
              "predictions each run stored (the inference is not repeated, only the AP computation): it shows how "
              "much of the clean effect's uncertainty comes from the finite test set with the training seeds "
              "fixed; the t-interval over seeds is the one the verdicts use.", "",
              "## Per run", "",
              "| regime | scheme | seed | test mAP | train mAP | gap | retention (mean) |", "|---|---|---|---|---|---|---|"]
    for x in runs:
        lines.append(f"| {x['regime']} | {x['scheme'].split(' | ')[0]} | {x['seed']} | {_pct(x['test_map'], False)} | "
                     f"{_pct(x['train_map'], False)} | {_pct(x['gap'])} | {_pct(x['retention mean'], False)} |")
    lines += ["", "## Exploratory (not corrected for multiplicity)", "",
              "Per level, I+ORE − baseline on absolute pasted mAP and on retention, and on the train-set mAP; "
              "95 % t-intervals, `*` where they exclude 0. These are descriptions, not findings.", "",
              "| regime | endpoint | level | difference [95 % t] |", "|---|---|---|---|"]
    for e in explore:
        star = " *" if e["excludes_zero"] else ""
        lines.append(f"| {e['regime']} | {e['endpoint']} | {e['level']} | {_pct(e['mean'])} "
                     f"[{_pct(e['ci_lo'])}, {_pct(e['ci_hi'])}]{star} |")
    commits: Dict[str, set] = {}
    for p in prov:
        commits.setdefault(p["scheme"], set()).add(f"{(p['commit'] or 'no git')[:10]}{' (dirty)' if p['dirty'] else ''}"
                                                   f" / code {p['code_hash']}")
    lines += ["", "## Provenance", "",
              "The commits and code hashes that trained each cell's runs (every training session of every run: "
              "`provenance.csv`; each run folder's `provenance.json`).", "",
              "| scheme | commit / code hash |", "|---|---|"]
    lines += [f"| {scheme.replace('|', '/')} | {'; '.join(sorted(c))} |" for scheme, c in commits.items()]
    return "\n".join(lines) + "\n"


def write_regime_outputs(report_dir: Path, plan: Any, rows: Sequence[Row], command: str,
                         resamples: int = 1000, log=print) -> List[Path]:
    """The regime study's files (module docstring) in ``report_dir``; nothing when the
    matrix has no regimes."""
    from detaug.io import atomic_write_text

    cells = regime_cells(plan.schemes)
    if not cells:
        return []
    scored = [r for r in plan.finished if r.scheme.scored]
    flags, num_images, datasets = {}, 0, {}
    for run in scored:
        try:
            flags[(run.scheme.label, run.seed)], num_images = run_flags(run.folder, datasets=datasets)
        except FileNotFoundError as exc:
            log(f"bootstrap: {exc}; that run is left out of the bootstrap")
    boot = bootstrap_clean_effects(flags, cells, num_images, resamples) if flags else {}
    contrasts = primary_contrasts(rows, cells, boot)
    runs, explore = run_records(rows, cells), exploratory_records(rows, cells)
    prov = provenance_records(scored + [r for r in plan.finished if not r.scheme.scored])
    written = []
    for name, records in (("regimes.csv", contrast_records(contrasts)), ("per_run.csv", runs),
                          ("exploratory.csv", explore), ("provenance.csv", prov)):
        written.append(atomic_write_text(report_dir / name, _csv(records)))
    written.append(plot_effects(contrasts, report_dir / "effect_vs_gap.png"))
    written.append(atomic_write_text(report_dir / "REGIMES.md", render(contrasts, runs, explore, prov, command,
                                                                       resamples)))
    return written
