"""The occlusion study: evaluate trained checkpoints with occluders added at test time.

For each checkpoint, occlusion kind (``"object"``: every box loses ``level`` of its
area; ``"image"``: one occluder of ``level`` of the image), level and seed, the model
predicts on the occluded test split and the dataset's metric is computed. Rows go to a
CSV and a plot shows the metric against the level, one line per checkpoint, with the
spread over seeds: the detection counterpart of the paper's occlusion experiment.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch

from detaug.erasing import sample_plan
from detaug.io import atomic_write_bytes as atomic_write
from detaug.robustness.occlusion import covered_fraction, occlude, occlusion_params

CSV_FIELDS = ("run", "checkpoint", "split", "kind", "level", "seed", "metric", "value", "covered")


class TestTimeOcclusion:
    """A torchvision-v2 style ``(image, target) -> (image, target)`` transform that occludes.

    The occluders of image ``target["image_id"]`` depend only on ``(seed, image_id)``, so
    every checkpoint sees exactly the same occluded images, whatever the loader order.

    Args:
        level: fraction of each box (``kind="object"``) or of the image to cover.
        kind: ``"object"`` or ``"image"``.
        seed: the occlusion seed.
        fill: occluder fill. Default ``"random"``.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, level: float, kind: str = "object", seed: int = 0, fill: Any = "random"):
        occlusion_params(level, kind, fill)  # validates
        self.level, self.kind, self.seed, self.fill = float(level), kind, int(seed), fill

    def rng(self, image_id: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(image_id)])

    def __call__(self, image: Any, target: Dict[str, Any]):
        from torchvision import tv_tensors

        boxes = torch.as_tensor(target["boxes"]).as_subclass(torch.Tensor).numpy().reshape(-1, 4)
        out, _plan = occlude(image.as_subclass(torch.Tensor), boxes, self.level, self.kind,
                             self.rng(int(target["image_id"])), self.fill)
        return tv_tensors.Image(out), target

    def __repr__(self) -> str:
        return f"TestTimeOcclusion(level={self.level}, kind={self.kind!r}, seed={self.seed})"


def mean_covered(dataset: Any, occlusion: TestTimeOcclusion) -> float:
    """Mean fraction of the boxes (object) or image (image) the occluders really cover.

    Re-draws the same plans as :class:`TestTimeOcclusion` from the annotations alone
    (no image is decoded).
    """
    params = occlusion_params(occlusion.level, occlusion.kind, occlusion.fill)
    if params is None:
        return 0.0
    values = []
    for idx in range(len(dataset)):
        target = dataset.get_target(idx)
        boxes = target["boxes"].numpy().reshape(-1, 4)
        size = dataset.get_image_size(idx)
        plan = sample_plan(size, boxes if occlusion.kind == "object" else None, params,
                           occlusion.rng(int(target["image_id"])))
        if occlusion.kind == "object":
            if len(boxes):
                values.append(covered_fraction(boxes, plan))
        else:
            values.append(float(plan.areas.sum()) / float(size[0] * size[1]))
    return float(np.mean(values)) if values else 0.0


@dataclass
class StudyRow:
    run: str
    checkpoint: str
    split: str
    kind: str
    level: float
    seed: int
    metric: str
    value: float
    covered: float


def load_trained(checkpoint: os.PathLike, device: torch.device, log: Callable[[str], None] = print):
    """The model and config of a training checkpoint (weights from the checkpoint only)."""
    from omegaconf import OmegaConf

    from detaug.engine import find_checkpoint, load_checkpoint

    path = find_checkpoint(checkpoint)
    state = load_checkpoint(path, map_location="cpu")
    if "config" not in state or "model" not in state:
        raise ValueError(f"{path} is not a detaug training checkpoint (no 'config' or 'model')")
    cfg = OmegaConf.create(state["config"])
    # The checkpoint holds every weight: do not fetch pretrained ones again.
    cfg = OmegaConf.merge(cfg, {"model": {"weights": None, "weights_backbone": None}})
    return path, cfg, state


def evaluate_checkpoint(
    checkpoint: os.PathLike,
    levels: Sequence[float],
    kinds: Sequence[str] = ("object", "image"),
    seeds: Sequence[int] = (0, 1, 2),
    split: Optional[str] = None,
    device: str = "cpu",
    batch_size: Optional[int] = None,
    workers: int = 0,
    run_name: Optional[str] = None,
    data_root: Optional[str] = None,
    log: Callable[[str], None] = print,
) -> List[StudyRow]:
    """Evaluate one checkpoint at every (kind, level, seed).

    Args:
        checkpoint: a checkpoint file or a run folder (its last checkpoint).
        levels: occlusion levels in [0, 1]; level 0 is evaluated once and reported for
            every kind and seed.
        kinds: ``"object"`` and/or ``"image"``.
        seeds: occlusion seeds.
        split: test split name (default: the config's first test split, the clean one).
        device: ``"cpu"``, ``"cuda"``, ...
        batch_size: images per forward pass (default: the config's ``data.test_batch_size``,
            so that level 0 reproduces the training tool's evaluation exactly: batches
            are padded to a common size, which moves detections slightly).
        workers: DataLoader workers.
        run_name: name in the table (default: the run folder's name).
        data_root: override ``data.root`` (where the synthetic set lives).
        log: progress messages.

    Returns:
        One :class:`StudyRow` per (kind, level, seed).
    """
    from omegaconf import OmegaConf

    from detaug.engine import build_evaluator, make_test_loader, predict
    from detaug.models import build_model_from_config
    from detaug.pipeline import build_datasets

    dev = torch.device(device)
    path, cfg, state = load_trained(checkpoint, dev, log)
    if data_root is not None:
        cfg = OmegaConf.merge(cfg, {"data": {"root": data_root}})
    bundle = build_datasets(cfg, train=False, test=True)
    split = split or next(iter(bundle.test))
    if split not in bundle.test:
        raise ValueError(f"split {split!r} is not a test split of {path}; valid: {list(bundle.test)}")
    dataset = bundle.test[split]
    metric = bundle.metrics[split]
    model = build_model_from_config(cfg, bundle.num_classes, log=lambda m: None)
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    run = run_name or (path.parent.name if path.parent.name else path.stem)
    batch_size = batch_size or int(cfg.data.test_batch_size)
    key = "AP" if metric == "coco" else "mAP"

    def score(occlusion: Optional[TestTimeOcclusion]) -> float:
        dataset.transforms = occlusion
        loader = make_test_loader(dataset, occlusion, batch_size, workers, seed=0, rank=0, world_size=1)
        predictions = predict(model, loader, dev)
        evaluator = build_evaluator(dataset, bundle.classes, metric)
        evaluator.update(predictions)
        return float(evaluator.compute()[key])

    original = dataset.transforms
    rows: List[StudyRow] = []
    try:
        clean = score(None) if 0.0 in levels else None
        for kind in kinds:
            for level in levels:
                for seed in seeds:
                    if level == 0.0:
                        value, covered = clean, 0.0
                    else:
                        occ = TestTimeOcclusion(level, kind, seed)
                        value, covered = score(occ), mean_covered(dataset, occ)
                    rows.append(StudyRow(run, str(path), split, kind, float(level), int(seed), metric, value, covered))
                    log(f"{run}: {kind} occlusion {level:.2f} seed {seed}: {metric} {value:.4f} (covered {covered:.3f})")
    finally:
        dataset.transforms = original
    return rows


def write_csv(rows: Iterable[StudyRow], path: os.PathLike) -> Path:
    """Write the rows atomically (temporary file, then rename)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in asdict(row).items()})
    return atomic_write(path, buffer.getvalue().encode())


def read_csv(path: os.PathLike) -> List[StudyRow]:
    with open(path, newline="") as f:
        return [
            StudyRow(r["run"], r["checkpoint"], r["split"], r["kind"], float(r["level"]), int(r["seed"]), r["metric"],
                     float(r["value"]), float(r["covered"]))
            for r in csv.DictReader(f)
        ]


def summarize(rows: Sequence[StudyRow]) -> Dict[tuple, Dict[str, float]]:
    """(run, kind, level) -> mean, std, min, max over seeds, and the number of seeds."""
    groups: Dict[tuple, List[float]] = {}
    for r in rows:
        groups.setdefault((r.run, r.kind, r.level), []).append(r.value)
    return {
        k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "min": float(np.min(v)), "max": float(np.max(v)), "n": len(v)}
        for k, v in groups.items()
    }


def plot(rows: Sequence[StudyRow], path: os.PathLike, title: str = "Detection under occlusion") -> Path:
    """Metric vs occlusion level, one panel per kind, one line per run, band = min..max over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(rows)
    kinds = sorted({r.kind for r in rows}, key=lambda k: ("object", "image").index(k) if k in ("object", "image") else 9)
    runs = list(dict.fromkeys(r.run for r in rows))
    metric = rows[0].metric if rows else ""
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for run in runs:
            levels = sorted(lv for (r, k, lv) in summary if r == run and k == kind)
            if not levels:
                continue
            mean = np.array([summary[(run, kind, lv)]["mean"] for lv in levels])
            lo = np.array([summary[(run, kind, lv)]["min"] for lv in levels])
            hi = np.array([summary[(run, kind, lv)]["max"] for lv in levels])
            (line,) = ax.plot(levels, mean, marker="o", label=run)
            ax.fill_between(levels, lo, hi, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("fraction of each object covered" if kind == "object" else "fraction of the image covered")
        ax.set_ylabel({"voc07": "VOC07 mAP@0.5", "voc2010": "VOC mAP@0.5 (all-point)", "coco": "COCO AP"}.get(metric, metric))
        ax.set_title(f"{kind}-level occluders")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title} (line: mean over seeds; band: min..max)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def markdown_table(rows: Sequence[StudyRow], kind: str = "object") -> str:
    """A markdown table: one row per run, one column per level (mean ± std over seeds, in %),
    and a last row with the fraction the occluders really covered (large levels may not
    fit inside thin boxes, so the measured cover can fall short of the nominal level)."""
    summary = summarize(rows)
    runs = list(dict.fromkeys(r.run for r in rows))
    levels = sorted({r.level for r in rows if r.kind == kind})
    head = "| run | " + " | ".join(f"{lv:g}" for lv in levels) + " |"
    sep = "|---|" + "---|" * len(levels)
    lines = [head, sep]
    for run in runs:
        cells = []
        for lv in levels:
            s = summary.get((run, kind, lv))
            cells.append("" if s is None else f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}")
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    covered = []
    for lv in levels:
        values = [r.covered for r in rows if r.kind == kind and r.level == lv]
        covered.append(f"{100 * float(np.mean(values)):.0f} %" if values else "")
    lines.append("| *covered (measured)* | " + " | ".join(covered) + " |")
    return "\n".join(lines)
