"""tools/eval_det.py (detaug.cli.eval) from the command line and through run(argv)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _data_helpers import make_voc, perfect_predictions, small_synthetic

from detaug.cli import eval as eval_det
from detaug.data import COCODetection, VOCDetection
from detaug.evaluation import write_coco_results, write_voc_results

TOOL = Path(__file__).resolve().parents[1] / "tools" / "eval_det.py"


def _run(*argv):
    return subprocess.run([sys.executable, str(TOOL), *argv], capture_output=True, text=True, timeout=120)


def _voc_args(root, results, *extra, split="test"):
    return ["voc", "--root", str(root), "--split", split, "--results", str(results), *extra]


def test_help_and_version_from_the_command_line():
    out = _run("--help")
    assert out.returncode == 0 and "voc" in out.stdout and "coco" in out.stdout
    out = _run("voc", "--help")
    assert out.returncode == 0 and "--metric" in out.stdout and "--match-rule" in out.stdout
    out = _run("coco", "--help")
    assert out.returncode == 0 and "--annotations" in out.stdout
    out = _run("--version")
    assert out.returncode == 0 and "detaug" in out.stdout
    assert _run().returncode == 2  # a subcommand is required


def test_help_does_not_import_torch():
    code = "import sys; from detaug.cli import eval as e; e.get_args_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_voc_subcommand_command_line(tmp_path):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test", ds.classes, perfect_predictions(ds), ds.image_names)
    out = _run(*_voc_args(info.voc_root, tmp_path, "--classes", ",".join(info.classes),
                          "--json", str(tmp_path / "m.json")))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "VOC2010+ all-point" in lines[0] and "IoU >= 0.5" in lines[0]
    assert any(ln.startswith("circle") for ln in lines) and lines[-1].split() == ["mAP", "100.00"]
    assert json.loads((tmp_path / "m.json").read_text())["mAP"] == 1.0


def test_voc_metric_and_errors(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    preds = perfect_predictions(ds)
    preds[0]["labels"][:] = 1  # some mistakes so that the metrics differ
    preds[1]["labels"][:] = 2
    write_voc_results(tmp_path, "test", ds.classes, preds, ds.image_names)
    base = _voc_args(info.voc_root, tmp_path, "--classes", *info.classes)
    maps = {}
    for metric in ("07", "2010"):
        assert eval_det.run(base + ["--metric", metric]) == 0
        maps[metric] = float(capsys.readouterr().out.splitlines()[-1].split()[1])
    assert maps["07"] != maps["2010"] and 0 < maps["2010"] < 100
    assert eval_det.run(_voc_args(tmp_path / "missing", tmp_path)) == 2
    assert "--root" in capsys.readouterr().err
    (tmp_path / "comp4_det_test_star.txt").unlink()
    assert eval_det.run(base) == 2
    err = capsys.readouterr().err
    assert "comp4_det_test_star.txt" in err and "--classes circle,cross,ring,square,triangle" in err


def test_voc_classes_default_to_the_synthetic_manifest(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test", ds.classes, perfect_predictions(ds), ds.image_names)
    assert eval_det.run(_voc_args(info.voc_root, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "manifest.json" in out.splitlines()[0] and out.splitlines()[-1].split() == ["mAP", "100.00"]


def test_voc_classes_from_the_run_folder(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    run = tmp_path / "run"
    results = run / "predictions" / "final" / "test"
    write_voc_results(results, "test", ["circle", "star"], {}, ds.image_names)
    (run / "config.yaml").write_text(yaml.safe_dump({"data": {"kind": "synthetic", "classes": ["circle", "star"]}}))
    assert eval_det.run(_voc_args(info.voc_root, results)) == 0
    captured = capsys.readouterr()
    assert "config.yaml (data.classes)" in captured.out and "are not evaluated" in captured.err
    assert [ln.split()[0] for ln in captured.out.splitlines()[2:4]] == ["circle", "star"]


def test_voc_default_classes_that_do_not_fit_say_what_to_pass(tmp_path, capsys):
    voc = make_voc(tmp_path / "v", [("a", (20, 20), [("widget", 1, 1, 5, 5, 0), ("dog", 2, 2, 9, 9, 0)])])
    (tmp_path / "r").mkdir()
    assert eval_det.run(_voc_args(voc, tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert "not in the 20 VOC classes (default): widget" in err and "pass --classes dog,widget" in err


def test_wrong_split_says_which_split_the_folder_holds(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test_occ40", ds.classes, perfect_predictions(ds), ds.image_names)
    assert eval_det.run(_voc_args(info.voc_root, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no result files for split 'test'" in err
    assert "split 'test_occ40' (6 classes" in err and "pass --split test_occ40" in err
    assert str(tmp_path / "comp4_det_") not in err  # not six long paths


def test_coco_subcommand(tmp_path, capsys):
    info = small_synthetic()
    ann = info.coco_annotations["test"]
    ds = COCODetection(info.image_dir, ann, train=False)
    res = write_coco_results(tmp_path / "r" / "r.json", perfect_predictions(ds), ds.image_ids, ds.label_to_category_id)
    out = _run("coco", "--annotations", str(ann), "--results", str(res))
    assert out.returncode == 0, out.stderr
    assert "Average Precision" in out.stdout and "AP 1.0000  AP50 1.0000" in out.stdout
    base = ["coco", "--annotations", str(ann), "--results"]
    assert eval_det.run(base + [str(tmp_path / "x.json")]) == 2
    assert "x.json: file not found" in capsys.readouterr().err
    # a folder holding one JSON file is read; one holding several names them
    assert eval_det.run(base + [str(tmp_path / "r")]) == 0
    assert "reading its only JSON file, r.json" in capsys.readouterr().err
    (tmp_path / "r" / "other.json").write_text("[]")
    assert eval_det.run(base + [str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "is a folder, expected a COCO results JSON file" in err and "other.json, r.json" in err
    assert "not found" not in err
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert eval_det.run(base + [str(tmp_path / "bad.json")]) == 2
    assert "bad.json: results[0]" in capsys.readouterr().err


def test_voc_subset_of_classes_is_evaluated_strictly(tmp_path, capsys):
    info = small_synthetic()
    ds = VOCDetection(info.voc_root, "test", classes=info.classes)
    write_voc_results(tmp_path, "test", ds.classes, perfect_predictions(ds), ds.image_names)
    base = _voc_args(info.voc_root, tmp_path, "--json", str(tmp_path / "m.json"))
    # a subset of the classes: objects of the others are ignored, not an error
    assert eval_det.run(base + ["--classes", "circle", "square"]) == 0
    out = capsys.readouterr()
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert sorted(metrics["AP"]) == ["circle", "square"] and metrics["mAP"] == 1.0
    assert "are not evaluated" in out.err and "warn" not in out.err.lower()
    # every other check stays strict: an empty box still stops the run
    voc = make_voc(tmp_path / "v", [("a", (9, 9), [("cat", 1, 1, 3, 3, 0), ("dog", 5, 1, 4, 4, 0)])])
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "comp4_det_test_dog.txt").write_text("a 0.9 1 1 3 3\n")
    assert eval_det.run(_voc_args(voc, tmp_path / "r", "--classes", "dog")) == 2
    assert "empty box" in capsys.readouterr().err


def test_json_output_writes_null_for_nan_ap(tmp_path):
    # "cat" has no ground truth in the split: its AP is nan, which JSON cannot hold
    voc = make_voc(tmp_path / "v", [("a", (20, 20), [("dog", 1, 1, 10, 10, 0)])], year_dir="VOC2012")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "comp4_det_test_dog.txt").write_text("a 0.9 1 1 10 10\n")
    (tmp_path / "r" / "comp4_det_test_cat.txt").write_text("")
    assert eval_det.run(_voc_args(voc, tmp_path / "r", "--classes", "dog", "cat", "--json", str(tmp_path / "m.json"))) == 0
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text
    metrics = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert metrics["AP"] == {"dog": 1.0, "cat": None} and metrics["mAP"] == 1.0
    assert metrics["num_gt"] == {"dog": 1, "cat": 0} and metrics["use_07_metric"] is False
    assert metrics["match_rule"] == "devkit"


def test_devkit_rule_counts_iou_of_exactly_one_half(tmp_path, capsys):
    # issue 10: ground truth 1..10 x 1..20, detection 1..10 x 1..10 (devkit coordinates,
    # inclusive +1 widths): 100 / 200 px, IoU exactly 0.5 -> AP 100 (MATLAB devkit >=),
    # 0 under py-faster-rcnn's strict >
    voc = make_voc(tmp_path / "v", [("a", (30, 30), [("dog", 1, 1, 10, 20, 0)])], year_dir="VOC2012")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "comp4_det_test_dog.txt").write_text("a 1 1 1 10 10\n")
    for rule, expected in (("devkit", "100.00"), ("py-faster-rcnn", "0.00")):
        out = _run(*_voc_args(voc, tmp_path / "r", "--classes", "dog", "--match-rule", rule))
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[-1].split() == ["mAP", expected], rule
