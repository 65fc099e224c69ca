"""See what box-aware Random Erasing does: a grid of augmented images with boxes and erased regions.

With a training config, the images go through the config's real training pipeline (the
same transforms ``detaug-train`` builds), so what you see is what the model gets::

    detaug-vis --config synthetic_frcnn_small_iore --num 16
    detaug-vis --config synthetic_frcnn_small_iore --compare --num 3

On your own images, without a config (a folder of VOC XML files or a COCO JSON)::

    detaug-vis --images path/to/JPEGImages --annotations path/to/Annotations \\
        --mode ore --object-p 1 --scale 0.1 0.3 --out mine.jpg

Each cell shows ground-truth box k (solid) with its class name and the regions erased
inside it (dashed) in colour k, image-level regions dashed in magenta and, when the
dataset has instance masks, each mask's outline with its erased part tinted; a legend
says so. ``--compare`` draws each image under baseline, IRE, ORE and I+ORE with the same
seed, and its caption says whether I+ORE's regions are exactly IRE's plus ORE's.
``python tools/visualize.py`` in a checkout is the same command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from detaug.cli._common import add_version, check_output_file, check_seeds, run_command
from detaug.errors import UsageError

DEFAULT_OUT = Path("runs", "vis", "erased.png")
DEFAULT_COMPARE_OUT = Path("runs", "vis", "compare.png")
#: What --compare draws: column title -> erasing settings (over the config's).
COMPARISONS = {
    "modes": {"baseline": {"mode": "none"}, "IRE": {"mode": "ire"}, "ORE": {"mode": "ore"}, "I+ORE": {"mode": "i+ore"}},
    "masks": {"baseline": {"mode": "none"}, "ORE on the box": {"mode": "ore", "object_area": "box", "erase_within": "region"},
              "ORE on the mask": {"mode": "ore", "object_area": "mask", "erase_within": "mask"}},
}
#: The docstring's examples for --help: reStructuredText's "::" and ``literals`` as plain text.
_EPILOG = __doc__.split("\n\n", 1)[1].split("Each cell", 1)[0].replace("::", ":").replace("``", "").rstrip()
MASKS_CAPTION = ("same seed per image. ORE on the mask: its area a fraction of the object's mask, at least half of it "
                 "on the object, only the object's pixels erased")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Draw augmented images with their boxes and the erased regions into a grid image (PNG, JPEG, ...).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    src = p.add_argument_group("source (a training config, or images + annotations)")
    src.add_argument("--config", metavar="NAME_OR_YAML", help="training config: a preset name (e.g. synthetic_frcnn_small_iore) or a YAML "
                                      "file; the images go through its training pipeline")
    src.add_argument("--set", dest="overrides", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                     help="override config keys, as for detaug-train (e.g. --set data.root=data/synthetic)")
    src.add_argument("--split", default="train", metavar="NAME", help="'train' (default) or the name of one of the config's test splits")
    src.add_argument("--images", metavar="DIR", help="folder of images (with --annotations, instead of --config)")
    src.add_argument("--annotations", metavar="DIR_OR_JSON", help="folder of VOC XML files, or a COCO instances JSON (with --images)")
    src.add_argument("--classes", nargs="+", metavar="NAME", help="class names of VOC XML annotations (default: the names found)")
    er = p.add_argument_group("erasing (without --config; with --config they override the config)")
    er.add_argument("--mode", metavar="MODE", help="erasing mode: none, ire, ore or i+ore (default: the config's; without --config, i+ore)")
    er.add_argument("--image-p", type=float, metavar="P", help="probability of image-level erasing (paper: 0.5)")
    er.add_argument("--object-p", type=float, metavar="P", help="probability of erasing inside each box (paper: 0.5)")
    er.add_argument("--scale", type=float, nargs=2, metavar=("S_L", "S_H"), help="area fraction range (paper: 0.02 0.2)")
    er.add_argument("--ratio", type=float, nargs=2, metavar=("R_1", "R_2"), help="aspect ratio range (paper: 0.3 3.33)")
    er.add_argument("--fill", help="random | random_normal | random_color | random_color_normal | a number")
    er.add_argument("--count", type=int, nargs="+", metavar="N", help="image-level regions per image: N, or MIN MAX")
    er.add_argument("--hflip-p", type=float, metavar="P", help="horizontal flip probability (default: the config's, 0.5 without)")
    out = p.add_argument_group("output")
    out.add_argument("--num", type=int, default=16, metavar="N", help="number of images (default: 16)")
    out.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the image choice and of each image's augmentation "
                                                         "(default: 0)")
    out.add_argument("--compare", nargs="?", const="modes", choices=tuple(COMPARISONS), metavar="WHAT",
                     help="one row per image, one column per variant, the same seed per image: 'modes' "
                          "(the default) baseline, IRE, ORE and I+ORE; 'masks' baseline, ORE on the box, ORE on "
                          "the object's instance mask (object_area and erase_within 'mask'; needs data with instance masks)")
    out.add_argument("--ncols", type=int, default=4, metavar="N", help="columns of the grid (default: 4; --compare: one per mode)")
    out.add_argument("--zoom", type=float, default=2.0, metavar="Z", help="drawing scale: 2 enlarges small images, 0.5 halves "
                                                             "photos (default: 2)")
    out.add_argument("--out", metavar="FILE", help=f"output image, in the format its suffix names (.png, .jpg, ...), "
                     f"in an existing folder (default: {DEFAULT_OUT}; with --compare, {DEFAULT_COMPARE_OUT})")
    return add_version(p)


# ----------------------------------------------------------------------------- checking and loading


def _check_args(args: argparse.Namespace, modes: Sequence[str]) -> None:
    """Reject incompatible or invalid options before any work (UsageError)."""
    if not args.config and not (args.images or args.annotations):
        raise UsageError("give --config (a training config or preset name) or --images and --annotations")
    if bool(args.images) != bool(args.annotations):
        raise UsageError("--images and --annotations go together: give both")
    if args.config and args.images:
        raise UsageError("give either --config or --images/--annotations, not both")
    if args.classes and args.config:
        raise UsageError("--classes is for --annotations; a config names its classes (data.classes)")
    if args.mode is not None and args.mode.lower() not in modes:
        raise UsageError(f"--mode {args.mode!r} is not an erasing mode; choose one of {', '.join(modes)}")
    if args.compare and args.mode is not None:
        raise UsageError("--compare sets the erasing mode of every column; leave out --mode")
    for name, value, least in (("--num", args.num, 1), ("--ncols", args.ncols, 1)):
        if value < least:
            raise UsageError(f"{name} must be at least {least}, got {value}")
    if args.zoom <= 0:
        raise UsageError(f"--zoom must be positive, got {args.zoom}")
    check_seeds("--seed", [args.seed])
    for option, path in (("--images", args.images), ("--annotations", args.annotations)):
        if path and not Path(path).exists():
            raise UsageError(f"{option} {path}: not found")
    if args.images and not Path(args.images).is_dir():
        raise UsageError(f"--images {args.images}: is a file; give the folder of images")
    if args.out is not None:
        check_output_file("--out", args.out)
    image_format(_out_path(args))


def _out_path(args: argparse.Namespace) -> Path:
    return Path(args.out) if args.out is not None else (DEFAULT_COMPARE_OUT if args.compare else DEFAULT_OUT)


def image_format(path: Path) -> str:
    """The PIL format the output file's suffix names (``.png`` -> PNG, ``.jpg`` -> JPEG, ...).

    Raises:
        UsageError: a suffix that is not an image format PIL writes.
    """
    from PIL import Image

    formats = {ext: fmt for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE}
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        common = [s for s in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".bmp") if s in formats]
        raise UsageError(f"--out {path}: {path.suffix or 'no suffix'} is not an image format; end the name "
                         f"with {', '.join(common)}")
    return fmt


def _erasing_overrides(args: argparse.Namespace) -> List[str]:
    e = "augmentation.erasing."
    given = [
        ("mode", args.mode and args.mode.lower()),
        ("image_p", args.image_p),
        ("object_p", args.object_p),
        ("scale", args.scale and f"[{args.scale[0]},{args.scale[1]}]"),
        ("ratio", args.ratio and f"[{args.ratio[0]},{args.ratio[1]}]"),
        ("fill", args.fill),
        ("count", args.count and (args.count[0] if len(args.count) == 1 else f"[{args.count[0]},{args.count[1]}]")),
    ]
    pairs = [f"{e}{key}={value}" for key, value in given if value is not None]
    if args.hflip_p is not None:
        pairs.append(f"augmentation.hflip_p={args.hflip_p}")
    return pairs


def _load_config(args: argparse.Namespace):
    """The config: the given one, or (for --images) the defaults with I+ORE, plus the options."""
    from detaug.config import load_config

    overrides = [x for group in args.overrides for x in group] + _erasing_overrides(args)
    if args.config:
        return load_config(args.config, overrides=overrides)
    return load_config(overrides=["augmentation.erasing.mode=i+ore", *overrides])


def _pipelines(base, variants: Dict[str, Dict[str, Any]]) -> List[Tuple[str, Any, Any]]:
    """``(title, transforms, device_erasing)`` of the config under each variant's erasing settings."""
    from omegaconf import OmegaConf

    from detaug.config.loading import erasing_params
    from detaug.pipeline import build_device_erasing, build_transforms

    out = []
    for title, erasing in variants.items():
        cfg = OmegaConf.merge(base, {"augmentation": {"erasing": erasing}})
        params = erasing_params(cfg)  # once per variant, passed on as itself
        out.append((title, build_transforms(cfg, train=True, save_applied_params=True, erasing=params),
                    build_device_erasing(cfg, erasing=params)))
    return out


def _config_dataset(cfg, split: str):
    """The config's dataset for ``split`` (``train`` or a test split) and its class names."""
    from detaug.pipeline import build_datasets
    from detaug.pipeline.datasets import erasing_needs_masks, make_dataset

    if split == "train":
        bundle = build_datasets(cfg, ["train"], save_applied_params=True)
        return bundle.train, bundle.classes
    bundle = build_datasets(cfg, ["test"])  # the split names and the classes
    if split not in bundle.splits:
        raise UsageError(f"--split {split!r} is not a split of this config; choose one of "
                         f"{', '.join(['train', *bundle.splits])}")
    # a test split drawn as if trained on
    dataset = make_dataset(cfg, [bundle.splits[split]], classes=bundle.classes, train=True,
                           masks=erasing_needs_masks(cfg))
    return dataset, bundle.classes


def _dataset(args: argparse.Namespace, cfg):
    """The dataset to draw from and its class names; data problems become one-line errors."""
    from detaug.data.folder import folder_dataset
    from detaug.pipeline.datasets import erasing_needs_masks

    try:
        if args.config:
            dataset, classes = _config_dataset(cfg, args.split)
        else:
            dataset = folder_dataset(args.images, args.annotations, args.classes, masks=erasing_needs_masks(cfg))
            classes = dataset.classes
    except UsageError:  # bad data files and configs already say which file and what
        raise
    except (FileNotFoundError, ValueError) as exc:
        source = "--config's data" if args.config else "--images/--annotations"
        raise UsageError(f"{source}: {exc}") from exc
    if len(dataset) == 0:
        raise UsageError("the dataset has no images to draw")
    return dataset, classes


# ----------------------------------------------------------------------------- the command


def _grid(drawn: dict, args: argparse.Namespace):
    """The drawings laid out: one row per image and one column per mode with --compare."""
    from detaug.vis import default_legend, make_grid

    per_mode = list(drawn.values())
    if args.compare:
        samples = [mode[k] for k in range(len(per_mode[0])) for mode in per_mode]
    else:
        samples = per_mode[0]
    dropped = any(s.plan is not None and bool((s.plan.source < -1).any()) for s in samples)
    legend = default_legend(max(s.num_boxes for s in samples), dropped=dropped, masks=any(s.has_masks for s in samples))
    return make_grid([s.image for s in samples], [s.title for s in samples],
                     ncols=len(per_mode) if args.compare else args.ncols, legend=legend,
                     caption=_caption(drawn, args.compare))


def _caption(drawn: dict, compare: Optional[str]) -> Optional[str]:
    from detaug.vis import compare_caption

    if compare == "modes":
        return compare_caption({"i+ore": drawn["I+ORE"], "ire": drawn["IRE"], "ore": drawn["ORE"]})
    return MASKS_CAPTION if compare == "masks" else None


def main(args: argparse.Namespace) -> Path:
    """Draw the grid and write it (in the format its suffix names); return its path.

    Raises:
        UsageError: invalid options, config or data (ConfigError is one).
    """
    import io

    import numpy as np
    from omegaconf import OmegaConf
    from PIL import Image

    from detaug.erasing import MODES
    from detaug.io import atomic_write_bytes
    from detaug.vis import draw_items

    _check_args(args, ("none", *MODES))
    base = _load_config(args)
    variants = COMPARISONS[args.compare] if args.compare else {"": {"mode": base.augmentation.erasing.mode}}
    pipelines = _pipelines(base, variants)
    # the dataset of the last variant: with --compare masks it loads the instance masks
    dataset, classes = _dataset(args, OmegaConf.merge(base, {"augmentation": {"erasing": list(variants.values())[-1]}}))
    rng = np.random.default_rng(args.seed)
    indices = sorted(rng.choice(len(dataset), size=min(args.num, len(dataset)), replace=False).tolist())
    drawn = {}
    for title, transforms, device_erasing in pipelines:
        dataset.transforms = transforms
        try:
            drawn[title] = draw_items(dataset, indices, args.seed, classes, zoom=args.zoom,
                                      device_erasing=device_erasing, title_prefix=f"{title}: " if title else "")
        except FileNotFoundError as exc:  # an image the annotations list but the folder lacks
            what = f"{exc.filename}: image file not found" if exc.filename else str(exc)
            raise UsageError(f"{what} (the annotations list it; check --images, or the config's image "
                             "folder)") from None
    if args.compare == "masks" and not any(s.has_masks for s in drawn["ORE on the mask"]):
        raise UsageError(
            f"--compare masks: none of the {len(indices)} image(s) drawn has instance masks, so 'ORE on the mask' "
            "would be ORE on the box. Masks come from VOC SegmentationObject/<id>.png (next to Annotations), COCO "
            "annotations' segmentation, or the synthetic set (e.g. --config synthetic_frcnn_small_iore)")
    grid = _grid(drawn, args)
    buffer = io.BytesIO()
    path = _out_path(args)
    fmt = image_format(path)
    picture = Image.fromarray(grid)
    if fmt == "JPEG":  # no alpha in JPEG
        picture = picture.convert("RGB")
    picture.save(buffer, format=fmt, **({"optimize": True} if fmt in ("PNG", "JPEG") else {}))
    out = atomic_write_bytes(path, buffer.getvalue())
    print(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]} px, {len(indices)} images x {len(variants)} variants)")
    return out


def run(argv=None) -> int:
    """Console entry point (``detaug-vis``)."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
