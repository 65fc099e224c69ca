"""Evaluate saved detections without a model: VOC devkit result files or COCO results.

Examples::

    # VOC2007 test, devkit result files comp4_det_test_<class>.txt in results/
    python tools/eval_det.py voc --root data/VOCdevkit/VOC2007 --split test --results results/

    # a VOC-format custom dataset, all-point metric
    python tools/eval_det.py voc --root data/mine --split val --results out/ \
        --classes circle square --metric 2010

    # COCO
    python tools/eval_det.py coco --annotations instances_val2017.json --results dets.json

See docs/datasets_and_evaluation.md for the conventions.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import List, Optional


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Build the command-line parser (subcommands ``voc`` and ``coco``)."""
    parser = argparse.ArgumentParser(
        description="Evaluate saved detections (VOC devkit result files or COCO results JSON).",
        add_help=add_help,
    )
    sub = parser.add_subparsers(dest="format", required=True, metavar="{voc,coco}")

    voc = sub.add_parser(
        "voc",
        help="VOC devkit rules on comp4_det_<split>_<class>.txt files",
        description="Per-class AP and mAP by the VOC devkit rules. Result files hold lines "
        "'image_id score xmin ymin xmax ymax' in devkit 1-based pixel coordinates.",
    )
    voc.add_argument("--root", required=True, help="VOCdevkit/VOC20xx folder (Annotations, ImageSets/Main)")
    voc.add_argument("--split", required=True, help="image set name, e.g. test (ImageSets/Main/<split>.txt)")
    voc.add_argument("--results", required=True, help="folder with comp4_det_<split>_<class>.txt files")
    voc.add_argument(
        "--metric",
        choices=["07", "2010"],
        default=None,
        help="07: VOC2007 11-point; 2010: all-point area. Default: by the folder's year "
        "(VOC2007 -> 07, otherwise 2010)",
    )
    voc.add_argument(
        "--classes",
        nargs="+",
        default=None,
        help="class names to evaluate; objects of other classes are ignored (default: the 20 "
        "VOC classes, and an object of another class is an error)",
    )
    voc.add_argument("--prefix", default="comp4_det_", help="result file prefix (default: comp4_det_)")
    voc.add_argument(
        "--no-strict",
        dest="strict",
        action="store_false",
        help="warn about annotation problems instead of stopping",
    )
    voc.add_argument("--json", default=None, help="also write the metrics to this JSON file")

    coco = sub.add_parser(
        "coco",
        help="pycocotools COCOeval on a results JSON",
        description="COCOeval (bbox) of a COCO results JSON against an instances JSON.",
    )
    coco.add_argument("--annotations", required=True, help="instances JSON (ground truth)")
    coco.add_argument("--results", required=True, help="results JSON: [{image_id, category_id, bbox, score}]")
    coco.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    return parser


def _fail(message: str) -> int:
    print(f"eval_det: error: {message}", file=sys.stderr)
    return 2


def _jsonable(value):
    """Plain JSON values: numpy scalars become numbers, NaN and infinities null."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar -> Python scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(path: Optional[str], result: dict) -> None:
    if path:
        from detaug.io import atomic_write_text

        # AP is nan for a class without ground truth: NaN is not JSON, write null
        clean = _jsonable({k: v for k, v in result.items() if k != "summary"})
        atomic_write_text(path, json.dumps(clean, indent=1, allow_nan=False))


def main(args: argparse.Namespace) -> int:
    """Run the evaluation described by ``args``; return the exit code (0 on success)."""
    from detaug.data import VOCAnnotationError

    try:
        if args.format == "voc":
            from detaug.data import VOCDetection
            from detaug.evaluation import evaluate_voc_results, format_ap_table

            root = Path(args.root)
            if not root.is_dir():
                return _fail(f"--root {root}: folder not found")
            if not Path(args.results).is_dir():
                return _fail(f"--results {args.results}: folder not found")
            # objects of classes outside --classes are not evaluated (a subset of the
            # classes is a normal request); every other annotation check stays strict
            ds = VOCDetection(
                root, args.split, classes=args.classes, keep_difficult=True,
                strict=args.strict, check_images=False,
                ignore_other_classes=args.classes is not None,
            )
            if ds.ignored_objects:
                counts = ", ".join(f"{c}: {n}" for c, n in sorted(ds.ignored_objects.items()))
                print(
                    f"eval_det: note: {sum(ds.ignored_objects.values())} objects of classes not "
                    f"in --classes are not evaluated ({counts})",
                    file=sys.stderr,
                )
            use_07 = None if args.metric is None else args.metric == "07"
            result = evaluate_voc_results(args.results, ds, split=args.split, use_07_metric=use_07, prefix=args.prefix)
            print(f"{root} {args.split}: {len(ds)} images, metric {result['metric']}, IoU > 0.5")
            print(format_ap_table(result))
        else:
            from detaug.evaluation import evaluate_coco_results

            for flag, path in (("--annotations", args.annotations), ("--results", args.results)):
                if not Path(path).is_file():
                    return _fail(f"{flag} {path}: file not found")
            result = evaluate_coco_results(args.annotations, args.results)
            print(result["summary"])
            print("AP {AP:.4f}  AP50 {AP50:.4f}  AP75 {AP75:.4f}  APs {APs:.4f}  APm {APm:.4f}  APl {APl:.4f}".format(**result))
        _write_json(args.json, result)
    except (FileNotFoundError, VOCAnnotationError, ValueError) as e:
        return _fail(str(e))
    return 0


def cli(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` and run :func:`main`."""
    return main(get_args_parser().parse_args(argv))


def run(argv: Optional[List[str]] = None) -> int:
    """Console entry point (``detaug-eval``)."""
    return cli(argv)


if __name__ == "__main__":
    sys.exit(run())
