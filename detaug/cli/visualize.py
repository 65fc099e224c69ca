"""See what box-aware Random Erasing does: a grid of augmented images with boxes and erased regions.

With a training config, the images go through the config's real training pipeline (the
same transforms ``tools/train_det.py`` builds), so what you see is what the model gets::

    python tools/visualize.py --config configs/synthetic_frcnn_small_iore.yaml --num 16 --out erased.png
    python tools/visualize.py --config configs/synthetic_frcnn_small_iore.yaml --compare --num 4 --out compare.png

On your own images, without a config (VOC XML folder or COCO JSON)::

    python tools/visualize.py --images path/to/JPEGImages --annotations path/to/Annotations \\
        --mode ore --object-p 1 --scale 0.1 0.3 --out mine.png

Each cell shows ground-truth box k (solid) with its class name and the regions erased
inside it (dashed) in colour k, and image-level regions dashed in magenta; a legend
says so, and cells are titled with the image id.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

MODES = ("none", "ire", "ore", "i+ore")
COMPARE_MODES = ("none", "ire", "ore", "i+ore")
MODE_TITLES = {"none": "baseline", "ire": "IRE", "ore": "ORE", "i+ore": "I+ORE"}


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Draw augmented images with their boxes and the erased regions into a grid PNG.",
        add_help=add_help,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    src = p.add_argument_group("source (a training config, or images + annotations)")
    src.add_argument("--config", help="training config YAML; its training pipeline is used")
    src.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, as in train_det.py")
    src.add_argument("--split", default="train", help="'train', or the name of one of the config's test splits")
    src.add_argument("--images", help="folder of images (without --config)")
    src.add_argument("--annotations", help="VOC XML folder or COCO instances JSON (without --config)")
    src.add_argument("--classes", nargs="*", help="class names for --annotations (default: the names found)")
    er = p.add_argument_group("erasing (without --config; with --config they override the config)")
    er.add_argument("--mode", choices=MODES, help="erasing mode (default: the config's, else i+ore)")
    er.add_argument("--image-p", type=float, help="probability of image-level erasing (paper: 0.5)")
    er.add_argument("--object-p", type=float, help="probability of erasing inside each box (paper: 0.5)")
    er.add_argument("--scale", type=float, nargs=2, metavar=("S_L", "S_H"), help="area fraction range (paper: 0.02 0.2)")
    er.add_argument("--ratio", type=float, nargs=2, metavar=("R_1", "R_2"), help="aspect ratio range (paper: 0.3 3.33)")
    er.add_argument("--fill", help="random | random_normal | random_color | random_color_normal | a number")
    er.add_argument("--count", type=int, nargs="+", help="image-level regions: N or MIN MAX")
    er.add_argument("--hflip-p", type=float, help="horizontal flip probability (without --config default 0.5)")
    out = p.add_argument_group("output")
    out.add_argument("--num", type=int, default=16, help="number of images")
    out.add_argument("--seed", type=int, default=0, help="seed of the image choice and of the augmentation")
    out.add_argument("--compare", action="store_true", help="each image under baseline, IRE, ORE and I+ORE, same seed")
    out.add_argument("--ncols", type=int, default=4, help="columns of the grid (with --compare: 4, one per mode)")
    out.add_argument("--zoom", type=float, default=2.0, help="cell magnification")
    out.add_argument("--out", default="erased.png", help="output PNG")
    return p


# ----------------------------------------------------------------------------- building the sources


def _erasing_overrides(args) -> List[str]:
    pairs = []
    e = "augmentation.erasing."
    if args.mode:
        pairs.append(f"{e}mode={args.mode}")
    if args.image_p is not None:
        pairs.append(f"{e}image_p={args.image_p}")
    if args.object_p is not None:
        pairs.append(f"{e}object_p={args.object_p}")
    if args.scale:
        pairs.append(f"{e}scale=[{args.scale[0]},{args.scale[1]}]")
    if args.ratio:
        pairs.append(f"{e}ratio=[{args.ratio[0]},{args.ratio[1]}]")
    if args.fill:
        pairs.append(f"{e}fill={args.fill}")
    if args.count:
        pairs.append(f"{e}count={args.count[0] if len(args.count) == 1 else list(args.count[:2])}")
    if args.hflip_p is not None:
        pairs.append(f"augmentation.hflip_p={args.hflip_p}")
    return pairs


def _config_dataset(cfg, split: str, transforms):
    """The config's dataset for ``split`` with ``transforms`` (the training pipeline)."""
    from detaug.data import COCODetection, build_voc
    from detaug.pipeline import build_datasets

    if split == "train":
        bundle = build_datasets(cfg, train=True, test=False, save_applied_params=True)
        bundle.train.transforms = transforms
        return bundle.train, bundle.classes
    bundle = build_datasets(cfg, train=False, test=True)
    if split not in bundle.splits:
        raise SystemExit(f"error: --split {split!r} is not a split of this config; valid: ['train', {', '.join(map(repr, bundle.splits))}]")
    s = bundle.splits[split]
    if cfg.data.kind == "coco":
        return COCODetection(s.image_dir, s.ann_file, transforms=transforms, train=True), bundle.classes
    return build_voc([(s.root, s.split)], classes=bundle.classes, transforms=transforms, keep_difficult=True), bundle.classes


class _FolderVOC:
    """VOC XML files in a folder + an image folder, without ImageSets (for --images/--annotations)."""

    def __init__(self, images: Path, annotations: Path, classes: Optional[Sequence[str]]):
        from detaug.data import parse_voc_xml

        files = sorted(annotations.glob("*.xml"))
        if not files:
            raise SystemExit(f"error: no .xml files in {annotations}")
        self.anns = [parse_voc_xml(f) for f in files]
        names = sorted({o["name"] for a in self.anns for o in a["objects"]})
        self.classes = tuple(classes) if classes else tuple(names)
        unknown = sorted(set(names) - set(self.classes))
        if unknown:
            raise SystemExit(f"error: classes {unknown} found in the annotations are not in --classes")
        self.images = images
        self.transforms = None

    def __len__(self) -> int:
        return len(self.anns)

    def __getitem__(self, idx: int):
        import torch
        from PIL import Image

        from detaug.data import apply_transforms

        ann = self.anns[idx]
        name = ann["filename"] or Path(ann["xml_path"]).stem + ".jpg"
        path = self.images / name
        if not path.is_file():
            raise SystemExit(f"error: image {path} of annotation {ann['xml_path']} not found")
        image = np.asarray(Image.open(path).convert("RGB"))
        objs = ann["objects"]
        boxes = torch.tensor([[o["bbox"][0] - 1, o["bbox"][1] - 1, o["bbox"][2], o["bbox"][3]] for o in objs], dtype=torch.float32).reshape(-1, 4)
        target = {
            "boxes": boxes,
            "labels": torch.tensor([self.classes.index(o["name"]) + 1 for o in objs], dtype=torch.int64),
            "image_id": idx,
            "area": (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]),
            "iscrowd": torch.zeros(len(objs), dtype=torch.int64),
            "difficult": torch.tensor([o["difficult"] for o in objs], dtype=torch.bool),
            "image_name": Path(name).stem,
        }
        return apply_transforms(self.transforms, image, target)


def _folder_dataset(args):
    images, annotations = Path(args.images), Path(args.annotations)
    if not images.is_dir():
        raise SystemExit(f"error: --images {images} is not a folder")
    if annotations.is_dir():
        return _FolderVOC(images, annotations, args.classes)
    if annotations.suffix.lower() == ".json" and annotations.is_file():
        from detaug.data import COCODetection

        ds = COCODetection(images, annotations, train=True)
        return ds
    raise SystemExit(f"error: --annotations {annotations} is neither a folder of VOC XML files nor a COCO JSON file")


def _default_config(args):
    """A config for --images/--annotations: only the augmentation block matters."""
    from detaug.config import load_config

    overrides = ["augmentation.erasing.mode=i+ore"] + _erasing_overrides(args)
    return load_config(overrides=overrides)


# ----------------------------------------------------------------------------- drawing


def find_plan(target: dict):
    """The erasing plan recorded in a target (albumentations applied params or ``erasing_plan``).

    With albumentations, regions inside boxes that ``min_visibility`` dropped are
    re-indexed (source -2) so that colours still match the surviving boxes.
    """
    from detaug.erasing import ErasePlan
    from detaug.vis import remap_dropped

    plan = target.get("erasing_plan")
    if isinstance(plan, ErasePlan):
        return plan
    for _name, params in target.get("applied_transforms", []) or []:
        if isinstance(params, dict) and isinstance(params.get("plan"), ErasePlan):
            return remap_dropped(params["plan"], params.get("keep"))
    return None


def render(dataset, transforms, indices: Sequence[int], seed: int, classes: Sequence[str], title_prefix: str = "",
           zoom: float = 1.0, device_erasing=None):
    """Draw ``dataset[i]`` for each index with ``transforms`` seeded by ``seed``.

    ``device_erasing`` (a :class:`~detaug.erasing.BatchedBoxAwareRandomErasing`, for
    configs that erase on the device) is applied to each image as the training engine
    applies it to a batch. Returns ``(cells, titles, max_boxes, dropped)``.
    """
    import torch

    from detaug.erasing import regions_to_plans
    from detaug.vis import draw_sample

    if transforms is not None and hasattr(transforms, "set_random_seed"):
        transforms.set_random_seed(seed)
    torch.manual_seed(seed)
    cells, titles, max_boxes, dropped = [], [], 0, False
    for i in indices:
        image, target = dataset[i]
        plan = find_plan(target)
        if device_erasing is not None:
            (image,), _ = device_erasing([image], [target])
            plan = regions_to_plans(device_erasing.last_regions, [tuple(image.shape[-2:])],
                                    device_erasing.erasing.fill)[0]
        dropped = dropped or (plan is not None and bool((plan.source < -1).any()))
        max_boxes = max(max_boxes, len(target["boxes"]))
        cells.append(draw_sample(image, target["boxes"].numpy(), target["labels"].tolist(), plan, classes,
                                 line_width=2 if zoom >= 2 else 1, zoom=zoom))
        image_id = target.get("image_name") or _image_name(dataset, i) or target.get("image_id", i)
        n_regions = 0 if plan is None else len(plan)
        titles.append(f"{title_prefix}{image_id} ({n_regions} erased)")
    return cells, titles, max_boxes, dropped


def _image_name(dataset, idx: int) -> Optional[str]:
    for attr in ("image_names", "ids"):
        names = getattr(dataset, attr, None)
        if names is not None:
            try:
                return str(names[idx])
            except (IndexError, KeyError, TypeError):
                return None
    return None


def main(args) -> Path:
    from omegaconf import OmegaConf

    from detaug.config import ConfigError, load_config
    from detaug.pipeline import build_device_erasing, build_transforms
    from detaug.vis import default_legend, make_grid

    if args.num < 1:
        raise SystemExit("error: --num must be at least 1")
    if bool(args.images) != bool(args.annotations):
        raise SystemExit("error: --images and --annotations go together")
    if args.config and args.images:
        raise SystemExit("error: give either --config or --images/--annotations, not both")
    if not args.config and not args.images:
        raise SystemExit("error: give --config (a training config) or --images and --annotations")
    try:
        if args.config:
            base = load_config(args.config, overrides=list(args.set) + _erasing_overrides(args))
        else:
            base = _default_config(args)
        modes = COMPARE_MODES if args.compare else (base.augmentation.erasing.mode,)
        cfgs = []
        for mode in modes:
            cfg = OmegaConf.merge(base, {"augmentation": {"erasing": {"mode": mode}}})
            cfgs.append((mode, cfg, build_transforms(cfg, train=True, save_applied_params=True),
                         build_device_erasing(cfg)))
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}")

    if args.config:
        dataset, classes = _config_dataset(base, args.split, cfgs[0][2])
    else:
        dataset = _folder_dataset(args)
        classes = dataset.classes
    if len(dataset) == 0:
        raise SystemExit("error: the dataset is empty")
    rng = np.random.default_rng(args.seed)
    indices = sorted(rng.choice(len(dataset), size=min(args.num, len(dataset)), replace=False).tolist())

    per_mode = []
    for mode, cfg, tf, device_erasing in cfgs:
        dataset.transforms = tf
        prefix = f"{MODE_TITLES[mode]}: " if args.compare else ""
        per_mode.append(render(dataset, tf, indices, args.seed, classes, prefix, zoom=args.zoom,
                               device_erasing=device_erasing))
    if args.compare:  # one row per image, one column per mode
        cells = [per_mode[m][0][k] for k in range(len(indices)) for m in range(len(modes))]
        titles = [per_mode[m][1][k] for k in range(len(indices)) for m in range(len(modes))]
        ncols = len(modes)
    else:
        cells, titles = per_mode[0][:2]
        ncols = args.ncols
    max_boxes = max(m[2] for m in per_mode)
    dropped = any(m[3] for m in per_mode)
    grid = make_grid(cells, titles, ncols=ncols, legend=default_legend(max_boxes, dropped=dropped))
    import io

    from PIL import Image

    from detaug.io import atomic_write_bytes

    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    out = atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]} px, {len(cells)} cells)")
    return out


def run(argv=None) -> int:
    """Console entry point."""
    main(get_args_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run())
