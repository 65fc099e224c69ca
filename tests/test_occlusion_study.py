"""The occlusion study: rows, CSV, plot and table from checkpoints (an untrained tiny model here)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from detaug.robustness.study import TestTimeOcclusion, markdown_table, read_csv, summarize

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["data.synthetic_num_train=4", "data.synthetic_num_test=6", "model.min_size=128", "model.max_size=192"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from detaug.config import load_config
    from detaug.engine import make_state, save_checkpoint
    from detaug.models import build_model_from_config

    tmp = tmp_path_factory.mktemp("occ")
    cfg = load_config(overrides=SMALL + [f"data.root={tmp / 'data'}"])
    torch.manual_seed(0)
    model = build_model_from_config(cfg, num_classes=7, log=lambda m: None)
    state = make_state(model, None, None, None, 0, 0, 0, OmegaConf.to_container(cfg, resolve=True))
    return save_checkpoint(state, tmp / "run_a" / "checkpoint_last.pth")


def test_occluders_depend_only_on_seed_and_image(checkpoint):
    from torchvision import tv_tensors

    occ = TestTimeOcclusion(0.3, "object", seed=4)
    image = tv_tensors.Image(torch.zeros(3, 60, 80, dtype=torch.uint8))
    target = {"boxes": torch.tensor([[5.0, 5, 40, 50]]), "image_id": 3}
    a, _ = occ(image, dict(target))
    b, _ = occ(image, dict(target))
    c, _ = occ(image, dict(target, image_id=4))
    assert torch.equal(a, b) and not torch.equal(a, c) and not image.any()
    erased = (a != 0).any(0)
    assert erased[:, :].sum() > 0 and not erased[51:].any() and not erased[:, 41:].any()


def test_occlusion_tool_writes_csv_plot_and_table(checkpoint, tmp_path):
    tool = importlib.import_module("detaug.cli.occlusion")
    out = tmp_path / "study"
    args = tool.get_args_parser().parse_args(
        [str(checkpoint.parent), str(checkpoint), "--names", "a", "b", "--levels", "0,0.3", "--seeds", "0", "1",
         "--device", "cpu", "--out", str(out)]
    )
    rows = tool.main(args)
    # 2 checkpoints x 2 kinds x 2 levels x 2 seeds.
    assert len(rows) == 16
    with open(out / "occlusion.csv") as f:
        written = list(csv.DictReader(f))
    assert len(written) == 16 and set(written[0]) == {"run", "checkpoint", "split", "kind", "level", "seed", "metric", "value", "covered"}
    assert {(r["run"], r["kind"], float(r["level"])) for r in written} == {
        (n, k, lv) for n in "ab" for k in ("object", "image") for lv in (0.0, 0.3)
    }
    back = read_csv(out / "occlusion.csv")
    assert all(r.metric == "voc2010" and 0.0 <= r.value <= 1.0 for r in back)
    # The same weights give the same metric: the two names are the same checkpoint.
    s = summarize(back)
    assert s[("a", "object", 0.3)]["mean"] == pytest.approx(s[("b", "object", 0.3)]["mean"])
    covered = [r.covered for r in back if r.kind == "object" and r.level == 0.3]
    assert all(0.25 < c < 0.35 for c in covered)
    png = np.asarray(Image.open(out / "occlusion.png"))
    assert png.shape[0] > 200 and png.shape[1] > 400
    assert "| a |" in (out / "occlusion.md").read_text()


def test_markdown_table_has_one_column_per_level():
    from detaug.robustness.study import StudyRow

    rows = [StudyRow("r", "c", "test", "object", lv, s, "voc2010", v, 0.0) for lv, s, v in
            [(0.0, 0, 0.5), (0.0, 1, 0.5), (0.2, 0, 0.4), (0.2, 1, 0.2)]]
    table = markdown_table(rows)
    assert table.splitlines()[0] == "| run | 0 | 0.2 |"
    assert table.splitlines()[2] == "| r | 50.0 ± 0.0 | 30.0 ± 10.0 |"
    assert table.splitlines()[3] == "| *covered (measured)* | 0 % | 0 % |"


def test_bad_levels_and_missing_checkpoint_are_clear_errors(tmp_path):
    tool = importlib.import_module("detaug.cli.occlusion")
    with pytest.raises(SystemExit, match="levels"):
        tool.main(tool.get_args_parser().parse_args([str(tmp_path), "--levels", "0,2"]))
    with pytest.raises(SystemExit, match="not found"):
        tool.main(tool.get_args_parser().parse_args([str(tmp_path / "nope")]))


def test_level_zero_reproduces_the_training_tools_evaluation(checkpoint):
    """Same checkpoint, same split, the config's batch size: the same mAP as a plain evaluation."""
    from detaug.engine import build_evaluator, make_test_loader, predict
    from detaug.models import build_model_from_config
    from detaug.pipeline import build_datasets
    from detaug.robustness.study import evaluate_checkpoint, load_trained

    rows = evaluate_checkpoint(checkpoint, [0.0], kinds=["object"], seeds=[0], log=lambda m: None)
    _, cfg, state = load_trained(checkpoint, torch.device("cpu"))
    bundle = build_datasets(cfg, train=False, test=True)
    model = build_model_from_config(cfg, bundle.num_classes, log=lambda m: None)
    model.load_state_dict(state["model"])
    ds = bundle.test["test"]
    loader = make_test_loader(ds, None, cfg.data.test_batch_size, 0, seed=0, rank=0, world_size=1)
    evaluator = build_evaluator(ds, bundle.classes, bundle.metrics["test"])
    evaluator.update(predict(model, loader, torch.device("cpu")))
    expected = evaluator.compute()["mAP"]
    assert expected > 0 and rows[0].value == pytest.approx(expected, abs=1e-12)
