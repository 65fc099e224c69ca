"""A small synthetic detection dataset in real VOC and COCO layout, made in seconds.

:func:`generate_synthetic` draws shapes (:data:`SYNTHETIC_CLASSES`) with varied colour,
texture, size and rotation on cluttered backgrounds, 1-4 objects per image that
sometimes overlap (later objects are painted over earlier ones; an object less than 25 %
visible is flagged ``difficult``). Boxes are the tight boxes of each object's full
(amodal) shape, so occlusion never changes a box.

Occlusion study. For every level ``L`` in ``occlusion_levels`` there is a split
``test_occ<round(100 L)>`` with the same scenes as ``test`` in which every object has a
fraction ``L`` of its pixels hidden by an occluder (a band of clutter texture entering the
object from a random side; the band is placed so that at least ``L`` of the pixels are
covered). ``test_occluded`` lists all those images together. Each object records the
requested ``occlusion_level`` and the measured ``occluded_fraction`` (which can exceed
the level when another object's band also covers it), in the XML (``<occluded>``,
``<occlusion_level>``, ``<occluded_fraction>``) and in the COCO JSON annotations.

Output layout (``<root>/synthetic-seed<seed>-<settings hash>/``)::

    VOCdevkit/SYNTH/Annotations/*.xml
    VOCdevkit/SYNTH/JPEGImages/*.jpg
    VOCdevkit/SYNTH/ImageSets/Main/{train,test,test_occ20,...,test_occluded}.txt
    VOCdevkit/SYNTH/SegmentationObject/*.png   # instance masks (visible pixels)
    VOCdevkit/SYNTH/SegmentationClass/*.png
    VOCdevkit/SYNTH/ImageSets/Segmentation/<split>.txt
    annotations/instances_<split>.json     # COCO (RLE masks); file_name relative to JPEGImages
    manifest.json                          # settings, splits, counts; written last

Instance masks, as the VOC devkit and COCO store them. Every object's *visible* pixels
(objects painted later hide earlier ones; in the occlusion splits the occluder band hides
more) are written as

* ``SegmentationObject/<id>.png``: a palette ("P") PNG with the devkit's colour map; pixel
  value ``k > 0`` is the ``k``-th ``<object>`` of the annotation XML in document order,
  0 the background (255, the devkit's "void", is not used);
* ``SegmentationClass/<id>.png``: the same with the object's class index (1-based, in
  :data:`SYNTHETIC_CLASSES` order) instead of ``k``;
* ``ImageSets/Segmentation/<split>.txt``: the same lists as ``ImageSets/Main``;
* COCO ``segmentation``: the visible mask as compressed RLE (``pycocotools.mask.encode``).
  COCO ``area`` stays the object's full (amodal) pixel count, from which ``difficult``
  (less than 25 % visible) is decided.

An object completely hidden by later ones has an empty mask. Masks do not change the
images or boxes: the random streams that draw the scenes are untouched.

The folder is built under a temporary name and renamed into place when complete, so an
interrupted run never leaves a folder that looks finished; calling again with the same
settings reuses the existing folder. The folder name has no ``VOC<year>``, so the VOC
evaluator defaults to the all-point (VOC2010+) metric on it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw

from detaug.io import atomic_write_text

__all__ = ["SYNTHETIC_CLASSES", "SyntheticDatasetInfo", "generate_synthetic"]

SYNTHETIC_CLASSES: Tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring")

# 2: instance masks (SegmentationObject/Class, COCO segmentation); images and boxes as in 1
_FORMAT_VERSION = 2
_SIZES = (128, 160, 192)


@dataclass(frozen=True)
class SyntheticDatasetInfo:
    """Where a generated synthetic dataset lives.

    Attributes:
        root: The dataset folder (``<root>/synthetic-seed<seed>-<hash>``).
        voc_root: The VOC-layout folder, pass it to ``VOCDetection``.
        image_dir: ``JPEGImages`` (shared by the VOC and COCO layouts).
        coco_annotations: Split name -> COCO instances JSON path.
        classes: The class names (:data:`SYNTHETIC_CLASSES`).
        splits: All split names.
        occlusion_splits: Occlusion level -> split name (e.g. ``0.2 -> "test_occ20"``).
        seed: The generator seed.
        settings: The full settings the folder was generated with.
    """

    root: Path
    voc_root: Path
    image_dir: Path
    coco_annotations: Dict[str, Path]
    classes: Tuple[str, ...]
    splits: Tuple[str, ...]
    occlusion_splits: Dict[float, str]
    seed: int
    settings: Dict[str, Any] = field(default_factory=dict)

    def voc(self, split: str, **kwargs: Any):
        """Return ``VOCDetection(voc_root, split, classes=classes, **kwargs)``."""
        from .voc import VOCDetection

        return VOCDetection(self.voc_root, split, classes=self.classes, **kwargs)

    def coco(self, split: str, **kwargs: Any):
        """Return ``COCODetection(image_dir, coco_annotations[split], **kwargs)``."""
        from .coco import COCODetection

        return COCODetection(self.image_dir, self.coco_annotations[split], **kwargs)


# -- drawing ------------------------------------------------------------------------
def _rot(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _star(r: float) -> np.ndarray:
    a = np.pi / 2 + np.arange(10) * np.pi / 5
    rad = np.where(np.arange(10) % 2 == 0, r, r * 0.42)
    return np.stack([np.cos(a) * rad, -np.sin(a) * rad], 1)


_CROSS_T = 0.33
#: The polygon classes: the vertices of a shape of size ``2 r`` centred at the origin, upright.
_POLYGONS = {
    "square": lambda r: np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * (r / math.sqrt(2)),
    "triangle": lambda r: np.stack([np.cos(np.pi / 2 + np.arange(3) * 2 * np.pi / 3),
                                    -np.sin(np.pi / 2 + np.arange(3) * 2 * np.pi / 3)], 1) * r,
    "star": _star,
    "cross": lambda r: np.array(
        [[-_CROSS_T, -1], [_CROSS_T, -1], [_CROSS_T, -_CROSS_T], [1, -_CROSS_T], [1, _CROSS_T], [_CROSS_T, _CROSS_T],
         [_CROSS_T, 1], [-_CROSS_T, 1], [-_CROSS_T, _CROSS_T], [-1, _CROSS_T], [-1, -_CROSS_T], [-_CROSS_T, -_CROSS_T]],
        float) * r,
}


def _shape_mask(cls: str, cx: float, cy: float, size: float, angle: float, w: int, h: int):
    """Binary mask (h, w) of one shape of the given class centred at (cx, cy)."""
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    r = size / 2.0
    if cls in ("circle", "ring"):
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        if cls == "ring":
            ri = r * 0.55
            d.ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=0)
    else:
        pts = _rot(_POLYGONS[cls](r), angle) + np.array([cx, cy])
        d.polygon([tuple(p) for p in pts], fill=255)
    return np.asarray(img) > 127


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb) * 255.0


def _texture(rng: np.random.Generator, h: int, w: int, colour: np.ndarray) -> np.ndarray:
    """An (h, w, 3) float texture around ``colour``: solid, stripes, checker or noise."""
    kind = rng.integers(4)
    base = np.broadcast_to(colour, (h, w, 3)).astype(np.float64)
    if kind == 0:
        return base.copy()
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == 1:
        period = rng.integers(4, 9)
        ang = rng.uniform(0, np.pi)
        band = ((xx * math.cos(ang) + yy * math.sin(ang)) // period) % 2
        return base * (1 - 0.35 * band[..., None])
    if kind == 2:
        cell = rng.integers(3, 7)
        band = ((xx // cell + yy // cell) % 2).astype(float)
        return base * (1 - 0.3 * band[..., None])
    return base + rng.normal(0, 18, (h, w, 3))


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    c0 = _hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.3), rng.uniform(0.3, 0.9))
    c1 = _hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.3), rng.uniform(0.3, 0.9))
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = xx * math.cos(ang) + yy * math.sin(ang)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    img += rng.normal(0, 6, (h, w, 3))
    # clutter: thin lines and small blobs, smaller than any object
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    for _ in range(rng.integers(6, 16)):
        col = tuple(int(v) for v in _hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.2, 1)))
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        if rng.uniform() < 0.5:
            ln = rng.uniform(8, 30)
            a = rng.uniform(0, 2 * np.pi)
            d.line([x, y, x + ln * math.cos(a), y + ln * math.sin(a)], fill=col, width=1)
        else:
            r = rng.uniform(1.5, 4.5)
            d.ellipse([x - r, y - r, x + r, y + r], fill=col)
    return np.asarray(pil).astype(np.float64)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _make_scene(seed: int, index: int, s: Dict[str, Any]):
    """Draw one scene. Returns (image float HWC, objects with full masks); an object's
    ``cls`` indexes ``s["classes"]`` (with all six classes the draws are those of every
    earlier version: a subset only changes which names the same integers pick)."""
    classes = s["classes"]
    rng = np.random.default_rng([seed, 7919, index])
    h, w = (int(v) for v in rng.choice(_SIZES, 2))
    img = _background(rng, h, w)
    objects: List[Dict[str, Any]] = []
    n = int(rng.integers(1, s["max_objects"] + 1))
    lo, hi = s["min_size"], min(s["max_size"], min(h, w) - 4)
    for _ in range(n):
        for _try in range(20):
            cls_idx = int(rng.integers(len(classes)))
            size = rng.uniform(lo, hi)
            r = size / 2
            cx, cy = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
            box = (cx - r, cy - r, cx + r, cy + r)
            if all(_iou(box, o["approx"]) <= s["max_overlap"] for o in objects):
                break
        else:
            continue
        mask = _shape_mask(classes[cls_idx], cx, cy, size, rng.uniform(0, 2 * np.pi), w, h)
        if mask.sum() < 16:
            continue
        colour = _hsv_to_rgb(rng.uniform(), rng.uniform(0.55, 1.0), rng.uniform(0.45, 1.0))
        tex = _texture(rng, h, w, colour)
        img[mask] = tex[mask]
        for o in objects:  # paint order: the new object hides earlier ones
            o["visible"] &= ~mask
        objects.append({"cls": cls_idx, "mask": mask, "visible": mask.copy(), "approx": box})
    return img, objects, rng


def _occlude(img: np.ndarray, objects, level: float, rng: np.random.Generator):
    """Cover a fraction >= ``level`` of every object's pixels with a clutter band.

    Returns ``(image, covered)``: the occluded image and the boolean mask of the pixels
    the bands cover.
    """
    img = img.copy()
    h, w = img.shape[:2]
    covered = np.zeros((h, w), bool)
    for o in objects:
        ys, xs = np.nonzero(o["mask"])
        side = int(rng.integers(4))  # 0 left, 1 right, 2 top, 3 bottom
        coord = (xs, -xs, ys, -ys)[side]
        cut = np.sort(coord)[max(math.ceil(level * coord.size) - 1, 0)]
        band = np.zeros((h, w), bool)
        x0, x1, y0, y1 = xs.min() - 2, xs.max() + 3, ys.min() - 2, ys.max() + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        if side == 0:
            band[y0:y1, x0 : cut + 1] = True
        elif side == 1:
            band[y0:y1, -cut:x1] = True
        elif side == 2:
            band[y0 : cut + 1, x0:x1] = True
        else:
            band[-cut:y1, x0:x1] = True
        grey = _hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.25), rng.uniform(0.2, 0.8))
        tex = _texture(rng, h, w, grey)
        img[band] = tex[band]
        covered |= band
    for o in objects:
        o["occluded_fraction"] = float((o["mask"] & covered).sum() / o["mask"].sum())
        o["occlusion_level"] = float(level)
    return img, covered


# -- writing ------------------------------------------------------------------------
def _box(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """0-based inclusive pixel bounds (c0, r0, c1, r1) of a mask."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _xml(name: str, w: int, h: int, objects, occluded: bool, classes: Sequence[str]) -> str:
    lines = [
        "<annotation>",
        "  <folder>SYNTH</folder>",
        f"  <filename>{name}.jpg</filename>",
        "  <source><database>detaug synthetic</database></source>",
        f"  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>",
        "  <segmented>1</segmented>",
    ]
    for o in objects:
        c0, r0, c1, r1 = _box(o["mask"])
        lines += [
            "  <object>",
            f"    <name>{classes[o['cls']]}</name>",
            "    <pose>Unspecified</pose>",
            "    <truncated>0</truncated>",
            f"    <difficult>{int(o['difficult'])}</difficult>",
        ]
        if occluded:
            lines += [
                "    <occluded>1</occluded>",
                f"    <occlusion_level>{o['occlusion_level']:.2f}</occlusion_level>",
                f"    <occluded_fraction>{o['occluded_fraction']:.4f}</occluded_fraction>",
            ]
        lines += [
            # devkit: 1-based inclusive pixel indices
            f"    <bndbox><xmin>{c0 + 1}</xmin><ymin>{r0 + 1}</ymin>"
            f"<xmax>{c1 + 1}</xmax><ymax>{r1 + 1}</ymax></bndbox>",
            "  </object>",
        ]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def _voc_palette() -> List[int]:
    """The VOC devkit's colour map (``VOClabelcolormap.m``): 256 RGB triples, flattened."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


_PALETTE = _voc_palette()


def _png(values: np.ndarray) -> bytes:
    """A palette PNG of a uint8 label map (values kept exactly: the full 256-entry palette)."""
    image = Image.fromarray(values.astype(np.uint8))
    image.putpalette(_PALETTE)  # mode L -> P
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _label_maps(objects, shape: Tuple[int, int], visible: List[np.ndarray]):
    """Instance map (k-th object -> k) and class map (class index + 1) of the visible masks."""
    instance = np.zeros(shape, np.uint8)
    semantic = np.zeros(shape, np.uint8)
    for k, (o, vis) in enumerate(zip(objects, visible), start=1):
        instance[vis] = k  # visible masks are disjoint: later objects already cut earlier ones
        semantic[vis] = o["cls"] + 1
    return instance, semantic


def _rle(mask: np.ndarray) -> Dict[str, Any]:
    """COCO compressed RLE of a boolean mask, JSON-ready."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _settings(seed, num_train, num_test, occlusion_levels, *, max_objects, min_size, max_size,
              max_overlap, jpeg_quality, classes=SYNTHETIC_CLASSES, test_start=None, num_val=0,
              num_train_eval=0) -> Dict[str, Any]:
    # The options added in 0.4 enter the settings (and so the folder name) only when they
    # are used: a set generated with the earlier options keeps its folder and manifest.
    extra = {k: v for k, v in (("test_start", test_start), ("num_val", int(num_val) or None),
                               ("num_train_eval", int(num_train_eval) or None)) if v is not None}
    return {**extra,
        "format_version": _FORMAT_VERSION,
        "seed": int(seed),
        "num_train": int(num_train),
        "num_test": int(num_test),
        "occlusion_levels": [float(v) for v in occlusion_levels],
        "max_objects": int(max_objects),
        "min_size": float(min_size),
        "max_size": float(max_size),
        "max_overlap": float(max_overlap),
        "jpeg_quality": int(jpeg_quality),
        "classes": list(classes),
    }


def _occ_split(level: float) -> str:
    return f"test_occ{round(level * 100):02d}"


def _info(folder: Path, manifest: Dict[str, Any]) -> SyntheticDatasetInfo:
    s = manifest["settings"]
    splits = tuple(manifest["splits"])
    return SyntheticDatasetInfo(
        root=folder,
        voc_root=folder / "VOCdevkit" / "SYNTH",
        image_dir=folder / "VOCdevkit" / "SYNTH" / "JPEGImages",
        coco_annotations={sp: folder / "annotations" / f"instances_{sp}.json" for sp in splits},
        classes=tuple(s["classes"]),
        splits=splits,
        occlusion_splits={float(v): _occ_split(v) for v in s["occlusion_levels"]},
        seed=int(s["seed"]),
        settings=s,
    )


class _Writer:
    """Writes images, annotations and masks of every split into a dataset folder."""

    def __init__(self, tmp: Path, settings: Dict[str, Any]):
        self.tmp, self.settings = tmp, settings
        self.voc = tmp / "VOCdevkit" / "SYNTH"
        for sub in ("Annotations", "JPEGImages", "ImageSets/Main", "ImageSets/Segmentation",
                    "SegmentationObject", "SegmentationClass"):
            (self.voc / sub).mkdir(parents=True, exist_ok=True)
        (tmp / "annotations").mkdir()
        self.splits: Dict[str, List[str]] = {}
        self.coco: Dict[str, Dict[str, list]] = {}
        self.ann_id = 0

    def emit(self, split: str, name: str, img: np.ndarray, objects, hidden: Optional[np.ndarray] = None) -> None:
        """Write one image; ``hidden``: the occluder's pixels in an occlusion split."""
        occluded = hidden is not None
        h, w = img.shape[:2]
        buf = io.BytesIO()
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            buf, format="JPEG", quality=self.settings["jpeg_quality"]
        )
        (self.voc / "JPEGImages" / f"{name}.jpg").write_bytes(buf.getvalue())
        (self.voc / "Annotations" / f"{name}.xml").write_text(_xml(name, w, h, objects, occluded, self.settings["classes"]))
        visible = [o["visible"] & ~hidden if occluded else o["visible"] for o in objects]
        instance, semantic = _label_maps(objects, (h, w), visible)
        (self.voc / "SegmentationObject" / f"{name}.png").write_bytes(_png(instance))
        (self.voc / "SegmentationClass" / f"{name}.png").write_bytes(_png(semantic))
        self.splits.setdefault(split, []).append(name)
        c = self.coco.setdefault(split, {"images": [], "annotations": []})
        image_id = len(c["images"]) + 1
        c["images"].append({"id": image_id, "file_name": f"{name}.jpg", "width": w, "height": h})
        for o, vis in zip(objects, visible):
            c["annotations"].append(self._coco_annotation(o, vis, image_id, occluded))

    def _coco_annotation(self, o: Dict[str, Any], visible: np.ndarray, image_id: int, occluded: bool):
        c0, r0, c1, r1 = _box(o["mask"])
        self.ann_id += 1
        a = {
            "id": self.ann_id,
            "image_id": image_id,
            "category_id": o["cls"] + 1,
            # COCO: continuous xywh, x = 0-based left edge, w = pixel count
            "bbox": [c0, r0, c1 - c0 + 1, r1 - r0 + 1],
            "area": int(o["mask"].sum()),
            "segmentation": _rle(visible),
            "iscrowd": 0,
            "difficult": int(o["difficult"]),
        }
        if occluded:
            a["occlusion_level"] = o["occlusion_level"]
            a["occluded_fraction"] = round(o["occluded_fraction"], 4)
        return a

    def finish(self) -> Dict[str, Any]:
        """Write the split lists and COCO files (with the union split); return the manifest."""
        s, splits, coco = self.settings, self.splits, self.coco
        occ_names = [n for lv in s["occlusion_levels"] for n in splits.get(_occ_split(lv), [])]
        if occ_names:
            splits["test_occluded"] = occ_names
            c = {"images": [], "annotations": []}
            for lv in s["occlusion_levels"]:
                part = coco[_occ_split(lv)]
                offset = len(c["images"])
                c["images"] += [dict(im, id=im["id"] + offset) for im in part["images"]]
                c["annotations"] += [dict(a, image_id=a["image_id"] + offset) for a in part["annotations"]]
            coco["test_occluded"] = c
        for split in ("train", "test"):  # num_train or num_test may be 0: the split exists, empty
            splits.setdefault(split, [])
            coco.setdefault(split, {"images": [], "annotations": []})
        splits["trainval"] = list(splits["train"])
        coco["trainval"] = coco["train"]
        if s.get("num_train_eval"):  # the first training images again, scored without augmentation
            k = min(int(s["num_train_eval"]), len(splits["train"]))
            splits["train_eval"] = splits["train"][:k]
            keep = {im["id"] for im in coco["train"]["images"][:k]}
            coco["train_eval"] = {"images": coco["train"]["images"][:k],
                                  "annotations": [a for a in coco["train"]["annotations"] if a["image_id"] in keep]}
        categories = [{"id": i + 1, "name": c, "supercategory": "shape"} for i, c in enumerate(s["classes"])]
        for split, names in splits.items():
            for layout in ("Main", "Segmentation"):
                (self.voc / "ImageSets" / layout / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
            data = dict(coco[split], categories=categories, info={"description": f"detaug synthetic {split}"})
            (self.tmp / "annotations" / f"instances_{split}.json").write_text(json.dumps(data))
        return {
            "settings": s,
            "splits": sorted(splits),
            "counts": {k: len(v) for k, v in sorted(splits.items())},
            "occlusion_splits": {_occ_split(v): v for v in s["occlusion_levels"]},
        }


def _scene_indices(s: Dict[str, Any]) -> List[Tuple[str, int, int]]:
    """``(split, j, scene index)`` of every clean image: training scenes 0 .. num_train - 1,
    test scenes from ``test_start`` (default: right after the training scenes), validation
    scenes right after the test scenes."""
    start = s.get("test_start", s["num_train"])
    return ([("train", j, j) for j in range(s["num_train"])]
            + [("test", j, start + j) for j in range(s["num_test"])]
            + [("val", j, start + s["num_test"] + j) for j in range(s.get("num_val", 0))])


def _write_dataset(tmp: Path, s: Dict[str, Any]) -> Dict[str, Any]:
    writer = _Writer(tmp, s)
    seed = s["seed"]
    for split, j, i in _scene_indices(s):
        img, objs, _ = _make_scene(seed, i, s)
        for o in objs:
            o["difficult"] = o["visible"].sum() < 0.25 * o["mask"].sum()
        if split != "test":
            writer.emit(split, f"{split}_{j:05d}", img, objs)
            continue
        writer.emit("test", f"test_{j:05d}", img, objs)
        for k, level in enumerate(s["occlusion_levels"]):
            occ_rng = np.random.default_rng([seed, 104729, i, k])
            occ, covered = _occlude(img, objs, level, occ_rng)
            split = _occ_split(level)
            writer.emit(split, f"{split}_{j:05d}", occ, objs, covered)
    return writer.finish()


def generate_synthetic(
    root: Union[str, os.PathLike],
    seed: int = 0,
    num_train: int = 400,
    num_test: int = 100,
    *,
    occlusion_levels: Sequence[float] = (0.2, 0.4, 0.6),
    max_objects: int = 4,
    min_size: float = 28.0,
    max_size: float = 80.0,
    max_overlap: float = 0.3,
    jpeg_quality: int = 92,
    classes: Optional[Sequence[str]] = None,
    test_start: Optional[int] = None,
    num_val: int = 0,
    num_train_eval: int = 0,
) -> SyntheticDatasetInfo:
    """Generate (or reuse) the synthetic shapes dataset under ``root``.

    Deterministic for a seed and settings (every image has its own random stream, seeded
    by ``(seed, index)``), idempotent and atomic (see the module docstring). The default
    (400 train, 100 test, 3 occlusion levels: 800 images of 128-192 px) takes a few
    seconds.

    Args:
        root: Parent folder; the dataset goes to a sub-folder named by seed and settings.
        seed: Random seed. Default 0.
        num_train: Images in ``train`` (``trainval`` is the same list). Default 400.
        num_test: Images in ``test``; every occlusion split has the same scenes.
            Default 100.
        occlusion_levels: Fractions of object pixels hidden in the occlusion splits,
            each in (0, 1). Default (0.2, 0.4, 0.6). Empty for none.
        max_objects: At most this many objects per image (at least 1). Default 4.
        min_size: Smallest object diameter in pixels. Default 28.
        max_size: Largest object diameter in pixels. Default 80.
        max_overlap: Largest IoU between the approximate boxes of two objects of an
            image, in [0, 1]. Default 0.3.
        jpeg_quality: JPEG quality. Default 92.
        classes: The classes to draw, a subset of :data:`SYNTHETIC_CLASSES` in any order
            (their order is the label order). Default None: all six. Two sets with disjoint
            classes and different seeds are disjoint domains (the regime study pretrains on
            one and fine-tunes on the other).
        test_start: Scene index of the first test image. Default None: ``num_train`` (the
            scenes right after the training ones). Give it to keep one test set for
            training sets of several sizes; it must be ``>= num_train`` (disjoint scenes).
        num_val: Images in a ``val`` split (scenes after the test scenes). Default 0.
        num_train_eval: List the first ``num_train_eval`` training images again as the
            split ``train_eval`` (to score a model on images it trained on). Default 0.

    Returns:
        A :class:`SyntheticDatasetInfo` with the paths, splits and classes.

    Raises:
        ValueError: On an invalid argument (named in the message).
        RuntimeError: If the target folder exists but is not a complete dataset made
            with these settings (delete it to regenerate).

    Examples:
        >>> import tempfile
        >>> info = generate_synthetic(tempfile.mkdtemp(), seed=1, num_train=4, num_test=2,
        ...                           occlusion_levels=(0.5,))
        >>> sorted(info.splits)
        ['test', 'test_occ50', 'test_occluded', 'train', 'trainval']
        >>> info.classes[:3]
        ('circle', 'square', 'triangle')
    """
    if num_train < 0 or num_test < 0:
        raise ValueError(f"num_train and num_test must be >= 0, got {num_train}, {num_test}")
    if num_train + num_test == 0:
        raise ValueError("num_train + num_test must be > 0")
    levels = [float(v) for v in occlusion_levels]
    if any(not 0.0 < v < 1.0 for v in levels) or len({_occ_split(v) for v in levels}) != len(levels):
        raise ValueError(f"occlusion_levels must be distinct values in (0, 1), got {levels}")
    if max_objects < 1:
        raise ValueError(f"max_objects must be >= 1, got {max_objects}")
    if not 4 <= min_size <= max_size:
        raise ValueError(f"need 4 <= min_size <= max_size, got {min_size}, {max_size}")
    if min_size > min(_SIZES) - 4:
        raise ValueError(f"min_size must be <= {min(_SIZES) - 4}, got {min_size}")
    if not 0.0 <= max_overlap <= 1.0:
        raise ValueError(f"max_overlap must be in [0, 1], got {max_overlap}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in [1, 100], got {jpeg_quality}")
    classes = tuple(SYNTHETIC_CLASSES if classes is None or len(classes) == 0 else classes)
    unknown = [c for c in classes if c not in SYNTHETIC_CLASSES]
    if unknown or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct names from {list(SYNTHETIC_CLASSES)}, got {list(classes)}")
    if test_start is not None and not (isinstance(test_start, int) and test_start >= num_train):
        raise ValueError(f"test_start must be an integer >= num_train ({num_train}) so that test scenes are not "
                         f"training scenes, got {test_start!r}")
    if num_val < 0 or num_train_eval < 0:
        raise ValueError(f"num_val and num_train_eval must be >= 0, got {num_val}, {num_train_eval}")
    s = _settings(seed, num_train, num_test, levels, max_objects=max_objects, min_size=min_size, max_size=max_size,
                  max_overlap=max_overlap, jpeg_quality=jpeg_quality, classes=classes, test_start=test_start,
                  num_val=num_val, num_train_eval=num_train_eval)
    digest = hashlib.sha1(json.dumps(s, sort_keys=True).encode()).hexdigest()[:8]
    root = Path(root)
    folder = root / f"synthetic-seed{seed}-{digest}"

    def existing() -> Optional[SyntheticDatasetInfo]:
        manifest_path = folder / "manifest.json"
        if not folder.exists():
            return None
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = None
        if not manifest or manifest.get("settings") != s:
            raise RuntimeError(
                f"{folder} exists but is not a complete synthetic dataset with these "
                "settings; delete it to regenerate"
            )
        return _info(folder, manifest)

    info = existing()
    if info is not None:
        return info
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        manifest = _write_dataset(tmp, s)
        atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=1))
        try:
            os.rename(tmp, folder)
        except OSError:
            # another process finished first: use its folder if it is complete
            info = existing()
            if info is None:
                raise
            return info
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _info(folder, manifest)
