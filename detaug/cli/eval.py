"""Evaluate saved detections without a model: VOC devkit result files or COCO results.

Examples::

    # VOC2007 test, devkit result files comp4_det_test_<class>.txt in results/
    detaug-eval voc --root data/VOCdevkit/VOC2007 --split test --results results/

    # a VOC-format custom dataset, all-point metric
    detaug-eval voc --root data/mine --split val --results out/ --classes circle,square --metric 2010

    # COCO
    detaug-eval coco --annotations instances_val2017.json --results dets.json

``python tools/eval_det.py ...`` is the same command in a checkout. Which classes ``voc``
evaluates when ``--classes`` is not given: see :mod:`detaug.data.class_lists`. Conventions:
docs/datasets_and_evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from detaug.cli._common import add_version, run_command
from detaug.errors import UsageError


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Build the command-line parser (subcommands ``voc`` and ``coco``)."""
    parser = argparse.ArgumentParser(
        description="Evaluate saved detections (VOC devkit result files or a COCO results JSON).",
        add_help=add_help,
    )
    add_version(parser)
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
        "--classes", nargs="+", default=None, metavar="NAME",
        help="class names, 'a,b,c' or 'a b c'; objects of other classes are not evaluated. Default: the "
        "run's config.yaml above --results, else the dataset's manifest.json, else the 20 VOC classes",
    )
    voc.add_argument(
        "--metric", choices=["07", "2010"], default=None,
        help="07: VOC2007 11-point; 2010: all-point area. Default: by the folder's year (VOC2007 -> 07, else 2010)",
    )
    voc.add_argument(
        "--match-rule", choices=["devkit", "py-faster-rcnn"], default="devkit",
        help="devkit: IoU >= 0.5 is a match, as the MATLAB devkit (VOCevaldet.m) and mmdetection (the "
        "default); py-faster-rcnn: IoU > 0.5, as py-faster-rcnn's and detectron2's voc_eval.py",
    )
    voc.add_argument("--prefix", default="comp4_det_", help="result file prefix, comp4_det_ unless given")
    voc.add_argument(
        "--no-strict", dest="strict", action="store_false",
        help="warn about annotation problems and leave those objects or images out, instead of stopping",
    )
    voc.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    coco = sub.add_parser(
        "coco",
        help="COCOeval on a results JSON (faster-coco-eval if installed, else pycocotools)",
        description="COCOeval (bbox) of a COCO results JSON against an instances JSON, by "
        "faster-coco-eval when it is installed (pip install \"detaug[fast]\"), pycocotools otherwise: "
        "the same numbers.",
    )
    coco.add_argument("--annotations", required=True, help="instances JSON (ground truth)")
    coco.add_argument(
        "--results", required=True,
        help="results JSON [{image_id, category_id, bbox, score}], or a folder holding exactly one .json file",
    )
    coco.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    return parser


def _json_target(value: Optional[str]) -> Optional[Path]:
    """Check before any work that ``--json`` can be written."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"--json {path}: is a folder; give a file name, e.g. {path / 'metrics.json'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--json {path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--json {path}: no permission to write in {parent}")
    return path


def _write_json(path: Path, result: dict) -> None:
    from detaug.io import atomic_write_text, to_jsonable

    # AP is nan for a class without ground truth: NaN is not JSON, write null
    clean = to_jsonable({k: v for k, v in result.items() if k != "summary"})
    try:
        atomic_write_text(path, json.dumps(clean, indent=1, allow_nan=False))
    except OSError as e:
        raise UsageError(f"--json {path}: cannot write it ({e.strerror or e})") from None


def _folder(flag: str, value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise UsageError(f"{flag} {path}: {'is a file, expected a folder' if path.exists() else 'folder not found'}")
    return path


def _class_names(values: Optional[List[str]]) -> Optional[List[str]]:
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise UsageError(f"--classes: duplicate names in {','.join(names)}")
    return names


def _check_coverage(ds, class_list) -> None:
    """A class list found by default must cover every object of the split."""
    if not ds.ignored_objects:
        return
    if class_list.subset:
        counts = ", ".join(f"{c}: {n}" for c, n in sorted(ds.ignored_objects.items()))
        print(f"note: {sum(ds.ignored_objects.values())} objects of classes not in {class_list.source} "
              f"are not evaluated ({counts})", file=sys.stderr)
        return
    present = {o["name"] for i in range(len(ds)) for o in ds.get_annotation(i)["objects"]}
    names = [c for c in class_list.names if c in present] + sorted(ds.ignored_objects)
    raise UsageError(
        f"{ds.root} split {ds.split!r} has objects of classes not in {class_list.source}: "
        f"{', '.join(sorted(ds.ignored_objects))}; pass --classes {','.join(names)}"
    )


def _missing_hint(results: Path, split: str, classes: List[str], prefix: str) -> str:
    from detaug.evaluation import result_files_in

    found = result_files_in(results, prefix, classes)
    if split in found:
        return f"; to evaluate only those classes, pass --classes {','.join(found[split])}"
    if len(found) == 1:
        return f"; pass --split {next(iter(found))} for those files"
    return ""


def _evaluate_voc(args: argparse.Namespace) -> dict:
    from detaug.data import VOCDetection
    from detaug.data.class_lists import find_class_list
    from detaug.evaluation import MATCH_RULES, evaluate_voc_results, format_ap_table

    root, results = _folder("--root", args.root), _folder("--results", args.results)
    class_list = find_class_list(root, results, _class_names(args.classes))
    ds = VOCDetection(root, args.split, classes=class_list.names, keep_difficult=True, strict=args.strict,
                      check_images=False, ignore_other_classes=True)
    _check_coverage(ds, class_list)
    use_07 = None if args.metric is None else args.metric == "07"
    try:
        result = evaluate_voc_results(results, ds, split=args.split, use_07_metric=use_07, prefix=args.prefix,
                                      match_rule=args.match_rule)
    except FileNotFoundError as e:
        raise UsageError(f"{e}{_missing_hint(results, args.split, class_list.names, args.prefix)}") from None
    print(f"{root} {args.split}: {len(ds)} images, metric {result['metric']}, match "
          f"{MATCH_RULES[args.match_rule].replace('threshold', '0.5')}, classes from {class_list.source}")
    print(format_ap_table(result))
    return result


def _results_file(value: str) -> Path:
    path = Path(value)
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        if len(found) == 1:
            print(f"note: --results {path} is a folder; reading its only JSON file, {found[0].name}", file=sys.stderr)
            return found[0]
        listed = ", ".join(p.name for p in found[:5]) + (", ..." if len(found) > 5 else "")
        holds = f"it holds {len(found)} JSON files ({listed}); pass one of them" if found else "it holds no .json file"
        raise UsageError(f"--results {path}: is a folder, expected a COCO results JSON file; {holds}")
    return path


def _evaluate_coco(args: argparse.Namespace) -> dict:
    from detaug.evaluation import evaluate_coco_results

    result = evaluate_coco_results(args.annotations, _results_file(args.results))
    print(result["summary"])
    print(f"(COCOeval by {result['backend']})")
    print("AP {AP:.4f}  AP50 {AP50:.4f}  AP75 {AP75:.4f}  APs {APs:.4f}  APm {APm:.4f}  APl {APl:.4f}".format(**result))
    return result


def main(args: argparse.Namespace) -> int:
    """Run the evaluation described by ``args``; input problems raise :class:`UsageError`."""
    json_path = _json_target(args.json)
    try:
        result = _evaluate_voc(args) if args.format == "voc" else _evaluate_coco(args)
    except OSError as e:  # a missing or unreadable input file (the message names it)
        raise UsageError(str(e)) from None
    if json_path is not None:
        _write_json(json_path, result)
    return 0


def run(argv: Optional[List[str]] = None) -> int:
    """Console entry point (``detaug-eval``): parse, run, exit 2 with one line on bad input."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
