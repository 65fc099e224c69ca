"""detaug-occlusion and the scoring behind it, with an untrained tiny model."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from detaug.errors import UsageError
from detaug.robustness import LEVELS
from detaug.robustness.evaluation import CheckpointToScore, Condition, OccludedTestSet, conditions, evaluate_checkpoints

SMALL = ["data.synthetic_num_train=4", "data.synthetic_num_test=6", "model.min_size=128", "model.max_size=192",
         "data.test_batch_size=3"]


def _save(cfg, path):
    from detaug.engine import make_state, save_checkpoint
    from detaug.models import build_model_from_config

    torch.manual_seed(0)
    model = build_model_from_config(cfg, num_classes=7, log=lambda m: None)
    state = make_state(model, None, None, None, epoch=0, iteration=0, global_step=0,
                       config=OmegaConf.to_container(cfg, resolve=True))
    return save_checkpoint(state, path)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from detaug.config import load_config

    tmp = tmp_path_factory.mktemp("occ")
    cfg = load_config(overrides=SMALL + [f"data.root={tmp / 'data'}", "seed=4"])
    return _save(cfg, tmp / "run_a" / "checkpoint_last.pth")


def test_tool_writes_csv_plot_and_tables_scoring_clean_once(checkpoint, tmp_path):
    from detaug.cli.occlusion import run

    out = tmp_path / "occ"
    argv = [str(checkpoint.parent), str(checkpoint), "--names", "a", "b", "--kinds", "grey", "noise",
            "--levels", "20-40,60-80", "--device", "cpu", "--out", str(out)]
    assert run(argv) == 0
    with open(out / "occlusion.csv") as f:
        rows = list(csv.DictReader(f))
    # per checkpoint: clean once, then 2 kinds x 2 levels x 1 occlusion seed
    assert [(r["run"], r["kind"], r["level"]) for r in rows[:5]] == [  # runs named by --names
        ("a", "clean", "0"), ("a", "grey", "20-40 %"), ("a", "grey", "60-80 %"), ("a", "noise", "20-40 %"),
        ("a", "noise", "60-80 %")]
    assert len(rows) == 10 and {r["seed"] for r in rows} == {"4"}  # the training seed, from the checkpoint
    a, b = rows[:5], rows[5:]
    assert [r["value"] for r in a] == [r["value"] for r in b]  # same weights, same images
    assert {r["in_distribution_for"] for r in rows if r["kind"] == "noise"} == {"Random Erasing (IRE, ORE, I+ORE)"}
    assert {r["in_distribution_for"] for r in rows if r["kind"] == "grey"} == {"Cutout"}
    grey = [r for r in rows if r["kind"] == "grey" and r["level"] == "60-80 %"]
    assert all(0.6 <= float(r["covered"]) <= 0.8 for r in grey)
    table = (out / "occlusion.md").read_text()
    assert "### noise (in-distribution for Random Erasing" in table and "| a | " in table
    assert np.asarray(Image.open(out / "occlusion.png")).shape[1] > 400


def test_clean_score_is_the_training_tools_evaluation(checkpoint):
    """Same checkpoint, split and batch size: the same mAP as the engine's plain evaluation."""
    from detaug.engine import build_evaluator, make_test_loader, predict
    from detaug.models import build_model_from_config
    from detaug.pipeline import build_datasets
    from detaug.robustness.evaluation import load_trained

    rows = evaluate_checkpoints([CheckpointToScore("a", "a", 0, checkpoint)], [Condition("clean")], log=lambda m: None)
    _, cfg, state = load_trained(checkpoint)
    bundle = build_datasets(cfg, ["test"])
    model = build_model_from_config(cfg, bundle.num_classes, log=lambda m: None)
    model.load_state_dict(state["model"])
    ds = bundle.test["test"]
    loader = make_test_loader(ds, None, cfg.data.test_batch_size, 0, seed=0, rank=0, world_size=1)
    evaluator = build_evaluator(ds, bundle.classes, bundle.metrics["test"])
    evaluator.update(predict(model, loader, torch.device("cpu")))
    assert rows[0].value == pytest.approx(evaluator.compute()["mAP"], abs=1e-12)


def test_pasted_cutouts_are_difficult_ground_truth(checkpoint):
    from detaug.pipeline import build_datasets
    from detaug.robustness.evaluation import load_trained
    from detaug.robustness.masks import DatasetObjects

    _, cfg, _ = load_trained(checkpoint)
    bundle = build_datasets(cfg, ["test"])
    data = OccludedTestSet(DatasetObjects(bundle.test["test"]), Condition("pasted", LEVELS[1]))
    truth = data.ground_truth(bundle.classes)
    for idx, (ann, plan) in enumerate(zip(truth, data.plans)):
        original = bundle.test["test"].get_annotation(idx)["objects"]
        added = ann["objects"][len(original):]
        assert ann["objects"][:len(original)] == original
        assert len(added) == sum(o.label > 0 for o in plan.occluders) and all(o["difficult"] for o in added)
        h, w = plan.image_shape
        assert all(1 <= o["bbox"][0] <= o["bbox"][2] <= w and 1 <= o["bbox"][1] <= o["bbox"][3] <= h for o in added)
    assert sum(len(a["objects"]) for a in truth) > sum(len(bundle.test["test"].get_annotation(i)["objects"])
                                                       for i in range(len(truth)))


def test_pasted_with_the_coco_metric_is_refused_before_any_work(tmp_path):
    from detaug.config import load_config
    from detaug.data import generate_synthetic

    info = generate_synthetic(tmp_path / "data", num_train=2, num_test=3)
    from detaug.config.schema import SplitConfig

    cfg = load_config(overrides=SMALL)
    cfg.data.kind = "coco"
    cfg.data.test = [SplitConfig(name="test", image_dir=str(info.image_dir), ann_file=str(info.coco_annotations["test"]))]
    path = _save(cfg, tmp_path / "coco" / "checkpoint_last.pth")
    with pytest.raises(UsageError, match="pasted occluders need a VOC metric"):
        evaluate_checkpoints([CheckpointToScore("c", "c", 0, path)], conditions(["pasted"], LEVELS[:1]), log=lambda m: None)


@pytest.mark.parametrize("argv,message", [
    (["{ckpt}", "--levels", "0,2"], "--levels: a level is a band"),
    (["{ckpt}", "--kinds", "smoke"], "invalid choice"),
    (["{missing}"], "checkpoint or run folder not found"),
    (["{ckpt}", "--names", "a", "b"], "--names has 2 names for 1 checkpoints"),
    (["{ckpt}", "--reference", "zzz"], "--reference 'zzz' is none of the names"),
])
def test_usage_errors_exit_2_with_one_line(checkpoint, tmp_path, capsys, monkeypatch, argv, message):
    from detaug.cli.occlusion import run

    monkeypatch.setattr(sys, "argv", ["detaug-occlusion"])  # argparse names the program after sys.argv[0]
    argv = [a.format(ckpt=checkpoint, missing=tmp_path / "nope") for a in argv]
    try:
        code = run([*argv, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "detaug-occlusion: error:" in err
    assert not (tmp_path / "o").exists()  # nothing written
