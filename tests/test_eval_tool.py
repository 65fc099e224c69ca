"""tools/eval_det.py from the command line and through main(args)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _data_helpers import make_voc, perfect_predictions, small_synthetic

from detaug.data import COCODetection, VOCDetection
from detaug.evaluation import write_coco_results, write_voc_results

TOOL = Path(__file__).resolve().parents[1] / "tools" / "eval_det.py"


def _load_tool():
    mod = importlib.import_module("detaug.cli.eval")
    return mod


eval_det = _load_tool()


def _run(*argv):
    return subprocess.run([sys.executable, str(TOOL), *argv], capture_output=True, text=True, timeout=120)


def test_help_from_the_command_line():
    out = _run("--help")
    assert out.returncode == 0 and "voc" in out.stdout and "coco" in out.stdout
    out = _run("voc", "--help")
    assert out.returncode == 0 and "--metric" in out.stdout and "--classes" in out.stdout
    out = _run("coco", "--help")
    assert out.returncode == 0 and "--annotations" in out.stdout
    assert _run().returncode == 2  # a subcommand is required


def test_voc_subcommand_command_line(tmp_path):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test", ds.classes, perfect_predictions(ds), ds.image_names)
    out = _run("voc", "--root", str(info.voc_root), "--split", "test", "--results", str(tmp_path),
               "--classes", *info.classes, "--json", str(tmp_path / "m.json"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "VOC2010+ all-point" in lines[0]
    assert any(ln.startswith("circle") for ln in lines) and lines[-1].split() == ["mAP", "100.00"]
    assert json.loads((tmp_path / "m.json").read_text())["mAP"] == 1.0


def test_voc_subcommand_metric_and_errors(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    preds = perfect_predictions(ds)
    preds[0]["labels"][:] = 1  # some mistakes so that the metrics differ
    preds[1]["labels"][:] = 2
    write_voc_results(tmp_path, "test", ds.classes, preds, ds.image_names)
    base = ["voc", "--root", str(info.voc_root), "--split", "test", "--results", str(tmp_path), "--classes",
            *info.classes]
    maps = {}
    for metric in ("07", "2010"):
        assert eval_det.main(eval_det.get_args_parser().parse_args(base + ["--metric", metric])) == 0
        maps[metric] = float(capsys.readouterr().out.splitlines()[-1].split()[1])
    assert maps["07"] != maps["2010"] and 0 < maps["2010"] < 100
    # default classes (the 20 VOC classes) do not fit the synthetic data: clear error
    assert eval_det.main(eval_det.get_args_parser().parse_args(base[:7])) == 2
    assert "not in the class list" in capsys.readouterr().err
    args = eval_det.get_args_parser().parse_args(base)
    args.root = str(tmp_path / "missing")
    assert eval_det.main(args) == 2 and "folder not found" in capsys.readouterr().err
    (tmp_path / "comp4_det_test_star.txt").unlink()
    assert eval_det.main(eval_det.get_args_parser().parse_args(base)) == 2
    assert "comp4_det_test_star.txt" in capsys.readouterr().err


def test_coco_subcommand(tmp_path, capsys):
    info = small_synthetic()
    ann = info.coco_annotations["test"]
    ds = COCODetection(info.image_dir, ann, train=False)
    res = write_coco_results(tmp_path / "r.json", perfect_predictions(ds), ds.image_ids, ds.label_to_category_id)
    out = _run("coco", "--annotations", str(ann), "--results", str(res))
    assert out.returncode == 0, out.stderr
    assert "Average Precision" in out.stdout and "AP 1.0000  AP50 1.0000" in out.stdout
    args = eval_det.get_args_parser().parse_args(["coco", "--annotations", str(ann), "--results", str(tmp_path / "x.json")])
    assert eval_det.main(args) == 2 and "x.json: file not found" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1, 2]")
    args.results = str(tmp_path / "bad.json")
    assert eval_det.main(args) == 2 and "bad.json" in capsys.readouterr().err


def test_voc_subset_of_classes_is_evaluated_strictly(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test", ds.classes, perfect_predictions(ds), ds.image_names)
    base = ["voc", "--root", str(info.voc_root), "--split", "test", "--results", str(tmp_path),
            "--json", str(tmp_path / "m.json")]
    # a subset of the classes: objects of the others are ignored, not an error
    assert eval_det.main(eval_det.get_args_parser().parse_args(base + ["--classes", "circle", "square"])) == 0
    out = capsys.readouterr()
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert sorted(metrics["AP"]) == ["circle", "square"] and metrics["mAP"] == 1.0
    assert "are not evaluated" in out.err and "warn" not in out.err.lower()
    # every other check stays strict: an empty box still stops the run
    voc = make_voc(tmp_path / "v", [("a", (9, 9), [("cat", 1, 1, 3, 3, 0), ("dog", 5, 1, 4, 4, 0)])])
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "comp4_det_test_dog.txt").write_text("a 0.9 1 1 3 3\n")
    args = ["voc", "--root", str(voc), "--split", "test", "--results", str(tmp_path / "r"), "--classes", "dog"]
    assert eval_det.main(eval_det.get_args_parser().parse_args(args)) == 2
    assert "empty box" in capsys.readouterr().err


def test_json_output_writes_null_for_nan_ap(tmp_path, capsys):
    # "cat" has no ground truth in the split: its AP is nan, which JSON cannot hold
    voc = make_voc(tmp_path / "v", [("a", (20, 20), [("dog", 1, 1, 10, 10, 0)])], year_dir="VOC2012")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "comp4_det_test_dog.txt").write_text("a 0.9 1 1 10 10\n")
    (tmp_path / "r" / "comp4_det_test_cat.txt").write_text("")
    args = ["voc", "--root", str(voc), "--split", "test", "--results", str(tmp_path / "r"),
            "--classes", "dog", "cat", "--json", str(tmp_path / "m.json")]
    assert eval_det.main(eval_det.get_args_parser().parse_args(args)) == 0
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text
    metrics = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert metrics["AP"] == {"dog": 1.0, "cat": None} and metrics["mAP"] == 1.0
    assert metrics["num_gt"] == {"dog": 1, "cat": 0} and metrics["use_07_metric"] is False
