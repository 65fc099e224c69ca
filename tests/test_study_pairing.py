"""Runs of one seed are paired: same initial weights and same batch order, whatever the scheme."""

from __future__ import annotations

from pathlib import Path

import torch

from detaug.study.runs import config_differences
from detaug.study.schemes import DEFAULT_SCHEMES
from detaug.study.training import NEW, StudyRun, resolved_config, train_command

TINY = ["schedule.epochs=1", "data.synthetic_num_train=12", "data.synthetic_num_test=2", "data.batch_size=2",
        "data.workers=0", "schedule.warmup_iters=1", "evaluation.save_predictions=false",
        "runtime.tensorboard=false", "model.min_size=96", "model.max_size=160"]


def _runs(tmp_path: Path, seed: int = 3):
    schemes = {s.label: s for s in DEFAULT_SCHEMES}
    common = [*TINY, f"data.root={tmp_path / 'data'}"]
    runs = [StudyRun(schemes[label], seed, tmp_path / "runs" / f"{schemes[label].name}_s{seed}")
            for label in ("baseline", "I+ORE", "Cutout")]
    return runs, common


def test_same_seed_same_initial_weights_across_schemes(tmp_path):
    """The study's own commands, trained one step with lr 0: the checkpoint holds the
    initial weights, which must not depend on the scheme."""
    from detaug.cli.train import run as train

    runs, common = _runs(tmp_path)
    states = []
    for r in runs[:2]:
        cmd = train_command(r, NEW, [*common, "optim.lr=0"], device="cpu")
        assert cmd[1:3] == ["-m", "detaug.cli.train"]
        assert train([*cmd[3:], "--stop-after-iters", "1"]) == 0
        states.append(torch.load(r.folder / "checkpoint_last.pth", map_location="cpu", weights_only=True)["model"])
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    # random weights (not a constant init that would match anyway)
    assert any(v.is_floating_point() and v.numel() > 1 and v.std() > 0 for v in states[0].values())


def test_same_seed_same_batch_order_across_schemes(tmp_path):
    """The configs of one seed differ only in augmentation, and the training sampler built
    from each gives the same batches, epoch by epoch."""
    from detaug.engine import make_train_sampler
    from detaug.pipeline import build_datasets

    runs, common = _runs(tmp_path)
    cfgs = [resolved_config(r, common) for r in runs]
    for cfg in cfgs[1:]:
        diffs = config_differences(cfgs[0], cfg)
        assert diffs and all(d.startswith("augmentation.") for d in diffs), diffs
    orders = []
    for cfg in cfgs:
        ds = build_datasets(cfg, ["train"]).train
        _, batches = make_train_sampler(ds, cfg.data.batch_size, cfg.seed, 0, 1, cfg.data.aspect_ratio_group_factor)
        epochs = []
        for epoch in range(2):
            batches.sampler.set_epoch(epoch)
            epochs.append([list(b) for b in batches])
        orders.append(epochs)
    assert orders[0] == orders[1] == orders[2]
    assert orders[0][0] != orders[0][1]  # the order does change between epochs
