"""Score trained checkpoints on a test split under every occluder kind and level.

For each condition (clean, then each kind x level x occlusion seed) the occluded test
images are drawn and painted once and kept in memory; every checkpoint is then scored
on them, so all checkpoints see exactly the same images and level 0 (clean) is scored
once per checkpoint. A result already in the cache (``ResultCache``) is not computed
again, which makes the study's evaluation resumable.

Pasted cut-outs are objects of known classes: each one is added to the ground truth as a
*difficult* object (VOC rule: a detection of it is neither a true nor a false positive),
so that finding the pasted object is neither rewarded nor penalised. This needs a VOC
metric; with the COCO metric the ``pasted`` kind is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from detaug.errors import UsageError
from detaug.robustness.occluders import KINDS, Level, OcclusionPlan, OcclusionSampler, plan_summary

__all__ = ["CLEAN", "Condition", "OccludedTestSet", "ResultCache", "Row", "conditions", "evaluate_checkpoints",
           "load_trained"]

CLEAN = "clean"


@dataclass(frozen=True)
class Condition:
    """Clean (``kind="clean"``, no level) or one occluder kind at one level and occlusion seed."""

    kind: str
    level: Optional[Level] = None
    seed: int = 0

    @property
    def level_label(self) -> str:
        return "0" if self.level is None else self.level.label


def conditions(kinds: Sequence[str], levels: Sequence[Level], seeds: Sequence[int] = (0,)) -> List[Condition]:
    """Clean first, then every kind x level x seed.

    Raises:
        UsageError: an unknown kind.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UsageError(f"unknown occluder kind(s) {unknown}; valid: {', '.join(KINDS)}")
    return [Condition(CLEAN)] + [Condition(k, lv, s) for k in kinds for lv in levels for s in seeds]


@dataclass
class Row:
    """One checkpoint scored under one condition (a line of the CSV).

    ``covered`` is the mean fraction of the counted objects' pixels the occluders cover,
    ``in_level`` the share of them whose fraction is inside the level's band and
    ``objects`` their number; all three describe the occluded images, not the model.
    """

    run: str
    scheme: str
    seed: int
    checkpoint: str
    split: str
    kind: str
    level: str
    lo: float
    hi: float
    occlusion_seed: int
    metric: str
    value: float
    covered: float
    in_level: float
    objects: int
    mask_source: str
    in_distribution_for: str


_ROW_FIELDS = {f.name for f in fields(Row)}


class OccludedTestSet(torch.utils.data.Dataset):
    """The test images of one condition, drawn and painted once, as ``(image, target)`` pairs.

    Args:
        objects: the test set (:class:`~detaug.robustness.masks.DatasetObjects`).
        condition: what to paint.
    """

    def __init__(self, objects: Any, condition: Condition):
        from detaug.robustness.paint import paint

        self.objects, self.condition = objects, condition
        self.plans: List[Optional[OcclusionPlan]] = []
        self.images: List[np.ndarray] = []
        sampler = None if condition.kind == CLEAN else OcclusionSampler(objects, condition.kind, condition.level,
                                                                         condition.seed)
        for idx in range(len(objects)):
            image = objects.image(idx)
            plan = sampler.plan(idx) if sampler is not None else None
            self.plans.append(plan)
            self.images.append(paint(image, plan, objects) if plan is not None else image)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int):
        from detaug.data import to_float_image

        return to_float_image(self.images[idx]), self.objects.dataset.get_target(idx)

    def summary(self) -> Dict[str, Any]:
        """Covered fraction, share inside the band, counted objects, mask source."""
        plans = [p for p in self.plans if p is not None]
        out = plan_summary(plans)
        out["mask_source"] = "box" if any(p.mask_source == "box" for p in plans) else "mask"
        return out

    def ground_truth(self, classes: Sequence[str]) -> List[Dict[str, Any]]:
        """VOC annotations, with every pasted cut-out added as a difficult object."""
        out = []
        for idx, plan in enumerate(self.plans):
            ann = self.objects.dataset.get_annotation(idx)
            for occ in plan.occluders if plan is not None else []:
                rows, cols, part = occ.region(plan.image_shape)
                if occ.label > 0 and part.any():
                    ys, xs = np.nonzero(part)
                    x0, y0 = cols.start + xs.min(), rows.start + ys.min()
                    x1, y1 = cols.start + xs.max(), rows.start + ys.max()
                    # devkit: 1-based inclusive pixel indices
                    ann["objects"].append({"name": classes[occ.label - 1], "bbox": (x0 + 1, y0 + 1, x1 + 1, y1 + 1),
                                           "difficult": True, "truncated": False, "extra": {}})
            out.append(ann)
        return out


def load_trained(checkpoint: os.PathLike):
    """``(path, cfg, state)`` of a training checkpoint or run folder (its last checkpoint).

    The config's pretrained weights are switched off: the checkpoint holds every weight.

    Raises:
        UsageError: not a detaug training checkpoint, or not found.
    """
    from omegaconf import OmegaConf

    from detaug.checkpoint import find_checkpoint, read_trained

    try:
        path = find_checkpoint(checkpoint)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    state = read_trained(path)  # a CheckpointError (a UsageError) naming the fault, here rather than when scoring
    cfg = OmegaConf.merge(OmegaConf.create(state["config"]), {"model": {"weights": None, "weights_backbone": None}})
    return Path(path), cfg, state


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


class ResultCache:
    """Rows already computed, one JSON line each, keyed by checkpoint file (path, size, mtime),
    split, condition and batch size; a half-written last line (interruption) is ignored.

    Args:
        path: the JSON-lines file (None: no cache).
    """

    def __init__(self, path: Optional[os.PathLike] = None):
        self.path = Path(path) if path is not None else None
        self.rows: Dict[str, Dict[str, Any]] = {}
        self.skipped = 0  # lines that are not a whole, current record (cut, older version, bad value)
        if self.path is not None and self.path.is_file():
            for line in self.path.read_bytes().decode("utf-8", "replace").splitlines():
                row = self._parse(line)
                if row is None:
                    self.skipped += bool(line.strip())
                else:
                    self.rows[row[0]] = row[1]

    @staticmethod
    def _parse(line: str):
        """``(key, row)`` of a cache line, or None where it is not a whole record of this
        version: every field of :class:`Row`, numbers where numbers belong. Such a line is
        recomputed, not trusted."""
        try:
            item = json.loads(line)
            key, row = item["key"], item["row"]
            if not isinstance(key, str) or not isinstance(row, dict) or set(row) != _ROW_FIELDS:
                return None
            checked = dict(row, seed=int(row["seed"]), value=float(row["value"]), covered=float(row["covered"]),
                           in_level=float(row["in_level"]), lo=float(row["lo"]), hi=float(row["hi"]),
                           objects=int(row["objects"]), occlusion_seed=int(row["occlusion_seed"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        value = checked["value"]
        if isinstance(row["value"], (str, bool)) or not (value != value or 0.0 <= value <= 1.0):  # NaN: no truth
            return None
        return key, checked

    @staticmethod
    def key(run: str, checkpoint: Path, split: str, condition: Condition, batch_size: int) -> str:
        return json.dumps([run, _fingerprint(checkpoint), split, condition.kind, condition.level_label,
                           condition.seed, batch_size])

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        return self.rows.get(key)

    def add(self, key: str, row: Row) -> None:
        self.rows[key] = asdict(row)
        if self.path is not None:
            from detaug.records import append_line

            self.path.parent.mkdir(parents=True, exist_ok=True)
            append_line(self.path, json.dumps({"key": key, "row": asdict(row)}), sync=True)


@dataclass
class CheckpointToScore:
    """A checkpoint to score: its run name (unique), scheme label, training seed (-1: the
    checkpoint config's ``seed``) and file."""

    run: str
    scheme: str
    seed: int
    path: Path


def _score(model: Any, data: OccludedTestSet, ground_truth: Optional[list], classes: Sequence[str], metric: str, *,
           batch_size: int, workers: int, device: torch.device) -> float:
    from detaug.engine import build_evaluator, make_test_loader, predict
    from detaug.evaluation import VOCEvaluator

    loader = make_test_loader(data, None, batch_size, workers, seed=0, rank=0, world_size=1)
    predictions = predict(model, loader, device)
    if ground_truth is not None:
        evaluator = VOCEvaluator(ground_truth, list(classes), use_07_metric=metric == "voc07")
    else:
        evaluator = build_evaluator(data.objects.dataset, classes, metric)
    evaluator.update(predictions)
    return float(evaluator.compute()["AP" if metric == "coco" else "mAP"])


def _test_split(cfg: Any, split: Optional[str], data_root: Optional[str]):
    from omegaconf import OmegaConf

    from detaug.pipeline import build_datasets

    if data_root is not None:
        cfg = OmegaConf.merge(cfg, {"data": {"root": str(data_root)}})
    bundle = build_datasets(cfg, ["test"])
    split = split or next(iter(bundle.test))
    if split not in bundle.test:
        raise UsageError(f"--split: {split!r} is not a test split of this config; valid: {list(bundle.test)}")
    return bundle, split


def evaluate_checkpoints(trained: Sequence[CheckpointToScore], conds: Sequence[Condition], split: Optional[str] = None, *,
                         device: str = "cpu", batch_size: Optional[int] = None, workers: int = 0,
                         data_root: Optional[str] = None, cache: Optional[ResultCache] = None,
                         log: Callable[[str], None] = print) -> List[Row]:
    """Score every checkpoint under every condition (see the module docstring).

    Args:
        trained: the checkpoints; they must share their test data (the first one's config
            builds it).
        conds: from :func:`conditions`.
        split: test split name (default: the config's first, the clean test split).
        device: ``cpu``, ``cuda``, ...
        batch_size: images per forward pass (default: the config's ``data.test_batch_size``,
            so that the clean score is the training tool's).
        workers: DataLoader workers.
        data_root: override ``data.root`` (where the synthetic set lives).
        cache: rows computed before (and where new ones are added).
        log: progress messages.

    Returns:
        One :class:`Row` per checkpoint and condition, checkpoint by checkpoint.

    Raises:
        UsageError: a bad checkpoint or split, or ``pasted`` with the COCO metric.
    """
    from detaug.checkpoint import load_model_weights, model_weights
    from detaug.models import build_model_from_config
    from detaug.robustness.masks import DatasetObjects

    cache = cache or ResultCache()
    loaded = [(path, cfg, model_weights(state, path)) for path, cfg, state in (load_trained(t.path) for t in trained)]
    bundle, split = _test_split(loaded[0][1], split, data_root)
    metric, dev = bundle.metrics[split], torch.device(device)
    if metric == "coco" and any(c.kind == "pasted" for c in conds):
        raise UsageError("pasted occluders need a VOC metric (pasted objects are ignored as 'difficult'); "
                         "leave 'pasted' out of --kinds for COCO")
    objects, models, rows = DatasetObjects(bundle.test[split]), {}, {}
    for cond in conds:
        keys = {t.run: ResultCache.key(t.run, path, split, cond, batch_size or int(cfg.data.test_batch_size))
                for t, (path, cfg, _) in zip(trained, loaded)}
        todo = [i for i, t in enumerate(trained) if cache.get(keys[t.run]) is None]
        data = OccludedTestSet(objects, cond) if todo else None
        truth = data.ground_truth(bundle.classes) if data is not None and cond.kind == "pasted" else None
        for i in todo:
            t, (path, cfg, state) = trained[i], loaded[i]
            if t.run not in models:
                models[t.run] = build_model_from_config(cfg, bundle.num_classes, log=lambda m: None)
                load_model_weights(models[t.run], state, path)
                models[t.run].to(dev).eval()
            value = _score(models[t.run], data, truth, bundle.classes, metric,
                           batch_size=batch_size or int(cfg.data.test_batch_size), workers=workers, device=dev)
            seed = t.seed if t.seed >= 0 else int(cfg.seed)
            cache.add(keys[t.run], _row(t, seed, path, split, cond, metric=metric, value=value, summary=data.summary()))
            log(f"{t.run}: {cond.kind} {cond.level_label}: {metric} {100 * value:.1f}")
        for t in trained:
            rows[(t.run, cond)] = Row(**cache.get(keys[t.run]))
    return [rows[(t.run, c)] for t in trained for c in conds]


def _row(t: CheckpointToScore, seed: int, path: Path, split: str, cond: Condition, *, metric: str, value: float,
         summary: Dict[str, Any]) -> Row:
    nan = float("nan")
    lo, hi = (cond.level.lo, cond.level.hi) if cond.level is not None else (0.0, 0.0)
    covered = summary["covered"] if summary["covered"] is not None else (0.0 if cond.kind == CLEAN else nan)
    return Row(t.run, t.scheme, seed, str(path), split, cond.kind, cond.level_label, lo, hi, cond.seed, metric,
               value, covered, summary["in_level"] if summary["in_level"] is not None else nan, summary["objects"],
               summary["mask_source"], KINDS[cond.kind].in_distribution_for if cond.kind in KINDS else "")
