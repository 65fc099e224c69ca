"""Helpers for the data and evaluation tests: tiny real-layout folders built on the fly."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Iterable, Sequence, Tuple

import numpy as np
from PIL import Image

# (name, xmin, ymin, xmax, ymax, difficult) in devkit 1-based inclusive coordinates
Obj = Tuple[str, float, float, float, float, int]


def voc_xml(filename: str, width: int, height: int, objects: Iterable[Obj]) -> str:
    parts = [
        f"<annotation><filename>{filename}</filename>",
        f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>",
    ]
    for name, x1, y1, x2, y2, diff in objects:
        parts.append(
            f"<object><name>{name}</name><difficult>{diff}</difficult><bndbox>"
            f"<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax>"
            "</bndbox></object>"
        )
    parts.append("</annotation>")
    return "".join(parts)


def make_voc(
    root: Path,
    images: Sequence[Tuple[str, Tuple[int, int], Sequence[Obj]]],
    split: str = "test",
    year_dir: str = "VOC2007",
    write_images: bool = True,
) -> Path:
    """Write a VOCdevkit/<year_dir> folder; ``images`` = [(name, (width, height), objs)]."""
    voc = Path(root) / "VOCdevkit" / year_dir
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    for name, (w, h), objs in images:
        (voc / "Annotations" / f"{name}.xml").write_text(voc_xml(f"{name}.jpg", w, h, objs))
        if write_images:
            Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(voc / "JPEGImages" / f"{name}.jpg")
    (voc / "ImageSets" / "Main" / f"{split}.txt").write_text(
        "\n".join(n for n, _, _ in images) + "\n"
    )
    return voc


def make_coco(root: Path, images, annotations, categories, write_images: bool = True) -> Tuple[Path, Path]:
    """Write an image folder and an instances JSON; images = [{"id", "width", "height"}]."""
    root = Path(root)
    img_dir = root / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    imgs = []
    for im in images:
        im = dict(im)
        im.setdefault("file_name", f"{im['id']:06d}.jpg")
        imgs.append(im)
        if write_images:
            Image.fromarray(np.full((im["height"], im["width"], 3), 90, np.uint8)).save(img_dir / im["file_name"])
    anns = []
    for k, a in enumerate(annotations):
        a = dict(a)
        a.setdefault("id", k + 1)
        a.setdefault("iscrowd", 0)
        a.setdefault("area", float(a["bbox"][2] * a["bbox"][3]))
        anns.append(a)
    path = root / "instances.json"
    path.write_text(json.dumps({"images": imgs, "annotations": anns, "categories": categories}))
    return img_dir, path


@functools.cache
def small_synthetic(seed: int = 0, num_train: int = 16, num_test: int = 8):
    """A small synthetic dataset generated once per test process."""
    from detaug.data import generate_synthetic

    return generate_synthetic(tempfile.mkdtemp(prefix="detaug-synth-"), seed=seed,
                              num_train=num_train, num_test=num_test)


def perfect_predictions(dataset, keep_difficult: bool = False, score: float = 0.9):
    """Predictions equal to every ground-truth box (as a model would output them)."""
    import torch

    preds = {}
    for i in range(len(dataset)):
        t = dataset.get_target(i)
        preds[i] = {
            "boxes": t["boxes"].clone(),
            "scores": torch.full((len(t["boxes"]),), score),
            "labels": t["labels"].clone(),
        }
    return preds
