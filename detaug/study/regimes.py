"""The regime study's analysis: in which regime does a scheme help, cost, or stay inconclusive?

A regime matrix (``regimes:`` in a ``--schemes`` file, :mod:`detaug.study.schemes`)
trains every scheme in every regime; a scheme is compared seed by seed with the baseline
of its own regime. Per regime this module computes

- the regime diagnostic: the baseline's train - test gap (mAP on its own training images,
  unaugmented, minus mAP on the test split), mean over its seeds;
- the primary contrasts of ``HYPOTHESES.md``: the clean effect (scheme - baseline, test
  mAP) and the retention effect (retention = occluded mAP / clean mAP of the same run, the
  mean over the occluder's levels), each a paired t test over training seeds, with
  Benjamini-Hochberg adjusted p-values over the whole family;
- percentile bootstrap intervals over test images for the clean effect, from the
  predictions every run stored (the same resample of images for every run; only the AP
  computation is repeated, not the inference);
- a verdict per contrast: ``helps`` or ``costs`` where the BH-adjusted p is below ``q``
  and the 95 % interval excludes 0, ``inconclusive`` otherwise.

Everything else (per-level retention and absolute occluded mAP) is exploratory and is
labelled so in the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from detaug.robustness.evaluation import CLEAN, Row
from detaug.study.results import TRAIN, per_seed
from detaug.study.stats import (
    Difference,
    benjamini_hochberg,
    paired_difference,
    paired_p_value,
    summarize,
)

__all__ = ["Contrast", "RegimeCell", "bootstrap_clean_effects", "primary_contrasts", "regime_cells",
           "retention", "verdict"]

#: The test-time occluder the retention contrast is computed under (unlike every training
#: augmentation: cut-outs of other test objects along their masks).
RETENTION_KIND = "pasted"


@dataclass(frozen=True)
class RegimeCell:
    """One regime of the matrix: the scheme compared, its baseline, and their labels."""

    regime: str
    scheme: str
    reference: str


def regime_cells(schemes: Sequence[Any]) -> List[RegimeCell]:
    """The (regime, scheme, baseline) triples of a regime matrix, in matrix order: every
    scored scheme whose reference is another scheme of the same regime.

    Examples:
        >>> from detaug.study.schemes import Scheme
        >>> s = [Scheme("baseline | A", "b", reference="baseline | A", regime="A"),
        ...      Scheme("I+ORE | A", "i", reference="baseline | A", regime="A")]
        >>> regime_cells(s)
        [RegimeCell(regime='A', scheme='I+ORE | A', reference='baseline | A')]
    """
    return [RegimeCell(s.regime, s.label, s.reference) for s in schemes
            if s.regime and s.scored and s.reference != s.label]


def _values(rows: Sequence[Row], scheme: str, kind: str, level: str = "0") -> Dict[int, float]:
    """Seed -> value of one condition, averaged over occlusion seeds (:func:`per_seed`)."""
    return dict(per_seed([r for r in rows if r.scheme == scheme and r.kind == kind]).get((scheme, kind, level), {}))


def clean(rows: Sequence[Row], scheme: str) -> Dict[int, float]:
    """Seed -> clean test mAP."""
    return _values(rows, scheme, CLEAN)


def train_map(rows: Sequence[Row], scheme: str) -> Dict[int, float]:
    """Seed -> mAP on the run's own training images (``train_eval``, unaugmented)."""
    return _values(rows, scheme, TRAIN)


def occluded(rows: Sequence[Row], scheme: str, level: str, kind: str = RETENTION_KIND) -> Dict[int, float]:
    """Seed -> occluded mAP at one level of ``kind``."""
    return _values(rows, scheme, kind, level)


def levels(rows: Sequence[Row], kind: str = RETENTION_KIND) -> List[str]:
    """The kind's level labels, by band."""
    return [lv for _, lv in sorted({(r.lo, r.level) for r in rows if r.kind == kind})]


def retention(rows: Sequence[Row], scheme: str, kind: str = RETENTION_KIND,
              level: Optional[str] = None) -> Dict[int, float]:
    """Seed -> occluded mAP / clean mAP of the same run: at one ``level``, or the mean of
    the per-level retentions over every level of ``kind`` (occlusion seeds averaged first).

    Examples:
        >>> mk = lambda k, lv, lo, v: Row("r", "a", 0, "", "test", k, lv, lo, lo, 0, "voc2010", v, 0, 1, 1, "", "")
        >>> rows = [mk("clean", "0", 0, 0.8), mk("pasted", "20-40 %", .2, 0.6), mk("pasted", "40-60 %", .4, 0.4)]
        >>> retention(rows, "a")  # (0.6 / 0.8 + 0.4 / 0.8) / 2
        {0: 0.625}
        >>> retention(rows, "a", level="40-60 %")
        {0: 0.5}
    """
    base = clean(rows, scheme)
    wanted = [level] if level is not None else levels(rows, kind)
    per_level = [occluded(rows, scheme, lv, kind) for lv in wanted]
    seeds = sorted(set(base).intersection(*[set(p) for p in per_level])) if per_level else []
    return {s: float(np.mean([p[s] / base[s] for p in per_level])) for s in seeds if base[s] > 0}


@dataclass(frozen=True)
class Contrast:
    """One primary test: a scheme against its regime's baseline on one endpoint.

    Attributes:
        regime: the regime's label.
        endpoint: ``"clean"`` (test mAP) or ``"retention"`` (pasted / clean, mean over levels).
        diff: the paired difference over seeds (scheme - baseline) with its 95 % t-interval.
        p: two-sided paired t-test p-value.
        p_bh: Benjamini-Hochberg adjusted p over the family.
        gap: the baseline's train - test gap (mean over its seeds; NaN without train rows).
        gap_sd: its sample sd over seeds.
        boot_lo: lower end of the 95 % bootstrap interval over test images (NaN if not computed).
        boot_hi: its upper end.
    """

    regime: str
    scheme: str
    reference: str
    endpoint: str
    diff: Difference
    p: float
    p_bh: float
    gap: float
    gap_sd: float
    boot_lo: float = math.nan
    boot_hi: float = math.nan


def verdict(c: Contrast, q: float = 0.05) -> str:
    """``helps``, ``costs`` or ``inconclusive``: an effect is stated only where the
    BH-adjusted p is below ``q`` and the 95 % interval excludes 0.

    Examples:
        >>> d = Difference(-0.05, 0.01, 3, -0.075, -0.025)
        >>> verdict(Contrast("A", "s", "b", "clean", d, 0.01, 0.02, 0.1, 0.01))
        'costs'
        >>> verdict(Contrast("A", "s", "b", "clean", d, 0.01, 0.2, 0.1, 0.01))
        'inconclusive'
    """
    if c.diff.excludes_zero and c.p_bh < q:
        return "helps" if c.diff.mean > 0 else "costs"
    return "inconclusive"


def primary_contrasts(rows: Sequence[Row], cells: Sequence[RegimeCell],
                      boot: Optional[Mapping[str, Tuple[float, float]]] = None) -> List[Contrast]:
    """The family of ``HYPOTHESES.md``: for every regime, the clean and the retention
    contrast, with BH-adjusted p-values over all of them (in regime order, clean first).

    ``boot`` maps a regime to the bootstrap interval of its clean effect (see
    :func:`bootstrap_clean_effects`)."""
    raw = []
    for cell in cells:
        train, test = train_map(rows, cell.reference), clean(rows, cell.reference)
        gap = summarize(train[s] - test[s] for s in sorted(set(train) & set(test)))
        for endpoint, get in (("clean", clean), ("retention", retention)):
            d = paired_difference(get(rows, cell.scheme), get(rows, cell.reference))
            raw.append((cell, endpoint, d, paired_p_value(d), gap))
    adjusted = benjamini_hochberg([p for *_, p, _ in raw])
    out = []
    for (cell, endpoint, d, p, gap), p_bh in zip(raw, adjusted):
        lo, hi = (boot or {}).get(cell.regime, (math.nan, math.nan)) if endpoint == "clean" else (math.nan, math.nan)
        out.append(Contrast(cell.regime, cell.scheme, cell.reference, endpoint, d, p, p_bh, gap.mean, gap.sd, lo, hi))
    return out


# -- bootstrap over test images, from stored predictions ----------------------------------
@dataclass
class _ClassFlags:
    """One class of one run, detections in score order: image, TP and FP flags; and the
    number of counted (not difficult) ground truths per image."""

    image: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    npos: np.ndarray


def class_flags(gts: Sequence[Mapping[str, np.ndarray]], dets: Mapping[int, Tuple[np.ndarray, np.ndarray, np.ndarray]],
                num_classes: int) -> List[_ClassFlags]:
    """Per class, the devkit TP / FP flags of every detection in score order (as
    :func:`detaug.evaluation.voc.evaluate_class` assigns them) with its image index.

    A detection's flag depends only on its own image's ground truth and the higher-scored
    detections of that image, so resampling images reuses the flags: each image's
    detections and ground truths count as often as the image is drawn."""
    from detaug.evaluation.voc import evaluate_class

    out = []
    for label in range(1, num_classes + 1):
        gb = [g["boxes"][g["labels"] == label] for g in gts]
        gd = [g["difficult"][g["labels"] == label] for g in gts]
        img, scores, boxes = dets.get(label, (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4))))
        r = evaluate_class(gb, gd, img, scores, boxes)
        order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
        npos = np.array([int((~np.asarray(d, bool)).sum()) for d in gd], np.float64)
        out.append(_ClassFlags(np.asarray(img, np.int64)[order], r["tp"], r["fp"], npos))
    return out


def weighted_map(flags: Sequence[_ClassFlags], weights: np.ndarray) -> np.ndarray:
    """All-point (VOC2010+) mAP for each row of ``weights`` ([B, images]: how often each
    image is drawn); row of ones = the devkit's mAP. Classes without ground truth in a
    resample are left out of its mean, as the evaluator does."""
    weights = np.atleast_2d(np.asarray(weights, np.float64))
    aps = []
    for f in flags:
        npos = weights @ f.npos  # [B]
        w = weights[:, f.image]  # [B, D]
        ctp = np.cumsum(w * f.tp, axis=1)
        cfp = np.cumsum(w * f.fp, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rec = ctp / npos[:, None]
        prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        # all-point area: sum over detections of the recall step times the precision
        # envelope (the best precision at this recall or beyond)
        env = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
        step = np.diff(rec, axis=1, prepend=0.0)
        ap = (step * env).sum(axis=1) if f.image.size else np.zeros(weights.shape[0])
        aps.append(np.where(npos > 0, ap, np.nan))
    return np.nanmean(np.stack(aps), axis=0)


def bootstrap_clean_effects(flags: Mapping[Tuple[str, int], Sequence[_ClassFlags]], cells: Sequence[RegimeCell],
                            num_images: int, resamples: int = 1000, seed: int = 0,
                            confidence: float = 0.95) -> Dict[str, Tuple[float, float]]:
    """Percentile bootstrap interval over test images of each regime's clean effect.

    Args:
        flags: ``(scheme label, training seed) -> class_flags(...)`` of every run.
        cells: the regimes (scheme and baseline labels).
        num_images: number of test images (every run was scored on the same ones).
        resamples: number of resamples (default 1,000); the same resamples for every run.
        seed: the resampling seed.
        confidence: the interval's level.

    Returns:
        regime -> ``(lo, hi)`` of the mean over paired seeds of scheme - baseline.
    """
    rng = np.random.default_rng(seed)
    weights = np.stack([np.bincount(rng.integers(0, num_images, num_images), minlength=num_images)
                        for _ in range(resamples)]).astype(np.float64)
    maps = {key: np.concatenate([weighted_map(f, weights[i:i + 100]) for i in range(0, resamples, 100)])
            for key, f in flags.items()}
    alpha = (1 - confidence) / 2
    out = {}
    for cell in cells:
        seeds = sorted({s for (k, s) in maps if k == cell.scheme} & {s for (k, s) in maps if k == cell.reference})
        if not seeds:
            continue
        d = np.mean([maps[(cell.scheme, s)] - maps[(cell.reference, s)] for s in seeds], axis=0)
        out[cell.regime] = (float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha)))
    return out


def run_flags(folder: Path, split: str = "test", datasets: Optional[Dict[str, Any]] = None) -> Tuple[List[_ClassFlags], int]:
    """``(class_flags, number of images)`` of a run's last stored predictions on ``split``
    (``<folder>/predictions/<last tag>/<split>``), scored against its config's dataset.

    ``datasets`` caches the ground truth by data config across runs (every run of a study
    shares its test set).

    Raises:
        FileNotFoundError: the run stored no predictions for that split.
    """
    import json

    from omegaconf import OmegaConf

    from detaug.evaluation.voc_files import read_voc_results

    tags = sorted(p for p in (Path(folder) / "predictions").glob(f"*/{split}") if p.is_dir())
    if not tags:
        raise FileNotFoundError(f"{folder}: no stored predictions for the split {split!r} "
                                "(evaluation.save_predictions was off?)")
    cfg = OmegaConf.load(Path(folder) / "config.yaml")
    key = json.dumps([split, OmegaConf.to_container(cfg.data, resolve=True)], sort_keys=True, default=str)
    cache = {} if datasets is None else datasets
    if key not in cache:
        cache[key] = _split_truth(cfg, split)
    names, classes, gts = cache[key]
    dets = read_voc_results(tags[-1], split, classes, names)
    return class_flags(gts, dets, len(classes)), len(names)


def _split_truth(cfg: Any, split: str):
    from detaug.evaluation.voc import ground_truth
    from detaug.pipeline import build_datasets

    dataset = build_datasets(cfg, ["test"]).test[split]
    classes = list(dataset.classes)
    return list(dataset.image_names), classes, ground_truth(dataset, classes)
