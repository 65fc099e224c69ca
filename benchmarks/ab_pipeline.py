"""Two cores in one process: the same training pipeline with an old and a new detaug, interleaved.

``before_after.py`` runs each core in processes of its own; between two processes the
memory layout, the caches and the machine's load differ, and on a shared 2-vCPU machine
that moved ``pipeline_parts.py``'s totals by more than the change being measured. Here one
process imports both cores (the old one first, its modules then set aside) and builds, on
the same decoded photos, ``A.Compose([HorizontalFlip(p=0.5), step])`` with ``BboxParams``
for the steps: none (``off``), the old core's ``BoxAwareRandomErasing``, the new core's, and
``A.Erasing(fill="random")``; the pipelines run round-robin, burst by burst (CPU time of
the process), and each step's added time is its pipeline minus ``off`` in the same burst.

Usage::

    python benchmarks/ab_pipeline.py --before ../before --after . --images ../shared/realdata/VOCdevkit/REAL
    python benchmarks/ab_pipeline.py --before . --after . --quick     # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))


def checkout(path: str) -> str:
    """A folder holding a ``detaug/`` package (an argparse type: a clear error otherwise)."""
    if not os.path.isfile(os.path.join(path, "detaug", "__init__.py")):
        raise argparse.ArgumentTypeError(f"{path!r} is not a checkout of detaug (no detaug/__init__.py in it): "
                                         "give the root of a clone or a git worktree, e.g. ../before")
    return path


def fill_value(text: str) -> Any:
    """``--fill``: ``random``, ``random_color``, or a constant for the uint8 photos (0 to 255)."""
    if text in ("random", "random_color"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fill for uint8 photos: give random, random_color or a "
                                         "number from 0 to 255 (the N(0, 1) fills need float images)")
    return value


def positive(text: str) -> int:
    """A whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="An old and a new detaug in one process, in the same pipeline")
    parser.add_argument("--before", required=True, type=checkout, help="checkout whose detaug/ is the old core")
    parser.add_argument("--after", required=True, type=checkout, help="checkout whose detaug/ is the new core")
    parser.add_argument("--images", default=None,
                        help="a VOC-layout folder (JPEGImages/, Annotations/); default: 24 generated JPEGs")
    parser.add_argument("--fill", default="random", type=fill_value,
                        help="detaug's fill: random (default), random_color, or a number from 0 to 255")
    parser.add_argument("--bursts", type=positive, default=120, help="timed bursts of every pipeline (default 120)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 generated photos, 2 bursts")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser


def load_detaug(root: str) -> Any:
    """``detaug`` imported from the checkout at ``root``; the previous import's modules are set
    aside first (objects made from them keep working: they hold their own module references)."""
    for name in [n for n in sys.modules if n == "detaug" or n.startswith("detaug.")]:
        del sys.modules[name]
    sys.path.insert(0, os.path.abspath(root))
    try:
        module = importlib.import_module("detaug")
        if not os.path.abspath(module.__file__).startswith(os.path.abspath(root) + os.sep):
            raise SystemExit(f"ab_pipeline: detaug was imported from {module.__file__}, not from {root}")
        return module
    finally:
        sys.path.pop(0)


def main(args: argparse.Namespace) -> Dict[str, Any]:
    import albumentations as A
    from bench_transforms import detaug_source, spread, write_json
    from pipeline_parts import decoded_photos, time_bursts

    if args.quick:
        if args.images:
            raise SystemExit("ab_pipeline: --quick runs on 6 generated photos; leave out --images (or --quick)")
        args.bursts = min(args.bursts, 2)
    fill = args.fill
    images = decoded_photos(args.images, args.quick)
    bbox = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    steps: Dict[str, list] = {"off": []}
    sources = {}
    for side, root in (("before", args.before), ("after", args.after)):
        detaug = load_detaug(root)
        steps[side] = [detaug.BoxAwareRandomErasing(mode="i+ore", fill=fill)]
        sources[side] = detaug_source()
    steps["A.Erasing"] = [A.Erasing(fill="random")]
    pipelines = {name: A.Compose([A.HorizontalFlip(p=0.5), *step], bbox_params=bbox, seed=0) for name, step in steps.items()}
    names = list(pipelines)
    load_before = os.getloadavg()
    times = time_bursts(pipelines, images, args.bursts)
    added = {name: spread([t - o for t, o in zip(times[name], times["off"])]) for name in names[1:]}
    result = {
        "before": sources["before"], "after": sources["after"], "images": len(images),
        "photos": args.images or "generated", "bursts": args.bursts,
        "fill": fill, "times_us": times, "added_us": added,
        "after_minus_before_us": spread([a - b for a, b in zip(times["after"], times["before"])]),
        "load": [load_before[0], os.getloadavg()[0]],
    }
    print(f"before: {result['before']}; after: {result['after']}; {len(images)} photos, {args.bursts} bursts, "
          f"fill {fill!r}; CPU us per sample, medians of paired differences")
    for name in names[1:]:
        print(f"  {name + ' adds':28s} {added[name]['median']:8.1f}")
    print(f"  {'after minus before':28s} {result['after_minus_before_us']['median']:8.1f}")
    print(f"  {'after / A.Erasing':28s} {added['after']['median'] / added['A.Erasing']['median']:8.2f} "
          "(ratio of the medians; A.Erasing fills randomly)")
    if args.quick:
        print("  (a smoke run: two bursts say nothing about speed)")
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
