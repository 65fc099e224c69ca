"""Markdown tables and CSV records of a study: per-kind results and paired differences to the baseline.

Numbers are in percent (the metric x 100). A result cell is ``mean ± sd (n)`` over
training seeds (sample sd, ddof=1); a difference cell is ``mean [lo, hi]`` of the
per-seed differences to the scheme's reference with a 95 % t-interval, marked ``*`` where
the interval excludes 0 (the only cells that support a statement of an effect).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from detaug.robustness.evaluation import CLEAN, Row
from detaug.robustness.occluders import KINDS
from detaug.study.results import GENERATOR, per_seed
from detaug.study.stats import benjamini_hochberg, paired_difference, summarize

__all__ = ["adjust_records", "columns", "difference_records", "difference_table", "kind_table", "kind_title", "summary_records"]


def kind_title(kind: str) -> str:
    """The kind's name with its in-distribution label (``noise (in-distribution for ...)``)."""
    if kind in KINDS:
        return KINDS[kind].title
    return {CLEAN: "clean", GENERATOR: "generator's occluded split (independent of every scheme)"}.get(kind, kind)


def columns(rows: Sequence[Row], kind: str) -> List[Tuple[str, str]]:
    """``(kind, level)`` columns of a kind's table: clean first, then its levels by band."""
    levels = sorted({(r.lo, r.hi, r.level) for r in rows if r.kind == kind})
    head = [(CLEAN, "0")] if kind != CLEAN and any(r.kind == CLEAN for r in rows) else []
    return head + [(kind, level) for _, _, level in levels]


def _pct(x: float, sign: bool = False) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}"


def kind_table(rows: Sequence[Row], kind: str, schemes: Sequence[str]) -> str:
    """One row per scheme, one column per level (clean as ``0``): mean ± sd (n), and a last
    row with the fraction of the objects the occluders really cover (and the share inside
    the band).

    Examples:
        >>> r = [Row("a", "base", s, "", "test", k, lv, 0.2, 0.4, 0, "voc2010", v, c, 1.0, 9, "mask", "")
        ...      for s, k, lv, v, c in [(0, "clean", "0", 0.5, 0.0), (1, "clean", "0", 0.7, 0.0),
        ...                             (0, "grey", "20-40 %", 0.4, 0.3), (1, "grey", "20-40 %", 0.2, 0.3)]]
        >>> print(kind_table(r, "grey", ["base"]))
        | scheme | 0 | 20-40 % |
        |---|---|---|
        | base | 60.0 ± 14.1 (2) | 30.0 ± 14.1 (2) |
        | *covered (measured; share in band)* | 0 % | 30 % (100 % in band) |
    """
    cols = columns(rows, kind)
    values = per_seed(rows)
    lines = ["| scheme | " + " | ".join(level for _, level in cols) + " |", "|---|" + "---|" * len(cols)]
    for scheme in schemes:
        cells = []
        for k, level in cols:
            s = summarize(values.get((scheme, k, level), {}).values())
            cells.append("" if s.n == 0 else f"{_pct(s.mean)} ± {_pct(s.sd)} ({s.n})")
        lines.append(f"| {scheme} | " + " | ".join(cells) + " |")
    if kind != GENERATOR:  # the generator's bands cover "at least" their level (see its docs)
        cover = []
        for k, level in cols:
            rs = [r for r in rows if r.kind == k and r.level == level]
            c = rs[0].covered if rs else math.nan
            in_band = rs and k != CLEAN and not math.isnan(rs[0].in_level)
            inside = f" ({100 * rs[0].in_level:.0f} % in band)" if in_band else ""
            cover.append(f"{100 * c:.0f} %{inside}" if not math.isnan(c) else "")
        lines.append("| *covered (measured; share in band)* | " + " | ".join(cover) + " |")
    return "\n".join(lines)


def _differences(rows: Sequence[Row], cols, schemes: Sequence[str], reference: Mapping[str, str]):
    values = per_seed(rows)
    for scheme in schemes:
        ref = reference.get(scheme, scheme)
        if ref == scheme:
            continue
        yield scheme, ref, [(k, level, paired_difference(values.get((scheme, k, level), {}),
                                                         values.get((ref, k, level), {}))) for k, level in cols]


def difference_table(rows: Sequence[Row], kind: str, schemes: Sequence[str], reference: Mapping[str, str]) -> str:
    """Paired differences to each scheme's reference, per level: ``mean [lo, hi]`` (95 % t),
    ``*`` where the interval excludes 0, and the number of paired seeds."""
    cols = columns(rows, kind)
    lines = ["| scheme − reference | seeds | " + " | ".join(level for _, level in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for scheme, ref, diffs in _differences(rows, cols, schemes, reference):
        n = max((d.n for *_, d in diffs), default=0)
        cells = [f"{_pct(d.mean, True)} [{_pct(d.lo, True)}, {_pct(d.hi, True)}]{' *' if d.excludes_zero else ''}"
                 if d.n else "" for *_, d in diffs]
        lines.append(f"| {scheme} − {ref} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_records(rows: Sequence[Row], schemes: Sequence[str]) -> List[Dict[str, Any]]:
    """One record per scheme, kind and level: mean, sd, n (metric in [0, 1]) and the measured cover."""
    values = per_seed(rows)
    out = []
    for kind in dict.fromkeys(r.kind for r in rows):
        for k, level in [c for c in columns(rows, kind) if c[0] == kind]:
            sample = next(r for r in rows if r.kind == k and r.level == level)
            for scheme in schemes:
                s = summarize(values.get((scheme, k, level), {}).values())
                if s.n:
                    out.append({"scheme": scheme, "kind": k, "level": level, "mean": s.mean, "sd": s.sd, "n": s.n,
                                "covered": sample.covered, "in_level": sample.in_level,
                                "in_distribution_for": sample.in_distribution_for})
    return out


def difference_records(rows: Sequence[Row], schemes: Sequence[str], reference: Mapping[str, str]) -> List[Dict[str, Any]]:
    """One record per scheme (with a reference), kind and level: the paired difference, its
    95 % interval, its paired t-test p-value and that p adjusted over every record
    (:func:`adjust_records`)."""
    out = []
    for kind in dict.fromkeys(r.kind for r in rows):
        cols = [c for c in columns(rows, kind) if c[0] == kind]
        for scheme, ref, diffs in _differences(rows, cols, schemes, reference):
            for k, level, d in diffs:
                if d.n:
                    out.append({"scheme": scheme, "reference": ref, "kind": k, "level": level, "mean": d.mean,
                                "sd": d.sd, "n": d.n, "ci_lo": d.lo, "ci_hi": d.hi, "excludes_zero": d.excludes_zero})
    return adjust_records(out)


def adjust_records(records: Sequence[Dict[str, Any]], q: float = 0.05) -> List[Dict[str, Any]]:
    """Add to difference records (``mean``, ``sd``, ``n``, ``ci_lo``, ``ci_hi``) the paired t
    p-value and its Benjamini-Hochberg and Holm adjustments over all of them, and whether the
    interval excludes 0 *and* the BH-adjusted p is below ``q`` (``survives_bh``).

    Every interval of a study is one test of one family: with 119 intervals about 6 exclude 0
    by chance at 95 %; the adjusted values say which survive that many looks.
    """
    from detaug.study.stats import Difference, holm, paired_p_value

    ps = [paired_p_value(Difference(float(r["mean"]), float(r["sd"]), int(r["n"]), float(r["ci_lo"]),
                                    float(r["ci_hi"]))) for r in records]
    bh, hm = benjamini_hochberg(ps), holm(ps)
    excludes = [str(r["excludes_zero"]) == "True" for r in records]
    return [dict(r, p=p, p_bh=b, p_holm=h, survives_bh=bool(e and b < q))
            for r, p, b, h, e in zip(records, ps, bh, hm, excludes)]
