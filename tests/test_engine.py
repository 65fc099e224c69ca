"""Engine pieces: schedule, checkpoints (atomic, RNG), per-sample seeding, stop on NaN, signals."""

import os
import random
import signal

import numpy as np
import pytest
import torch

from detaug.engine import (
    GracefulStop,
    NonFiniteLossError,
    SeededDataset,
    SkipBatches,
    WarmupSchedule,
    build_optimizer,
    build_scheduler,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
    train_one_epoch,
)
from detaug.engine.data import make_train_loader, make_train_sampler


# -- schedule ---------------------------------------------------------------------------------
def test_warmup_multistep_factors():
    s = WarmupSchedule(iters_per_epoch=10, epochs=4, policy="multistep", milestones=[2, 3], gamma=0.1,
                       warmup_iters=4, warmup_factor=0.2)
    assert s(0) == pytest.approx(0.2)
    assert s(2) == pytest.approx(0.6)  # linear: 0.2 + (1 - 0.2) * 2 / 4
    assert [s(i) for i in (4, 19)] == [1.0, 1.0]
    assert s(20) == pytest.approx(0.1) and s(30) == pytest.approx(0.01)


def test_cosine_reaches_min_and_scheduler_state_is_plain():
    s = WarmupSchedule(5, 2, policy="cosine", min_lr_factor=0.1)
    assert s(0) == pytest.approx(1.0) and s(5) == pytest.approx(0.55) and s(10) == pytest.approx(0.1)
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, lr=0.1)
    sched = build_scheduler(opt, 5, 2, policy="multistep", milestones=[1], warmup_iters=0)
    for _ in range(6):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    state = sched.state_dict()
    assert isinstance(state["lr_lambdas"][0], dict)  # numbers only: loads with weights_only=True


# -- checkpoints ------------------------------------------------------------------------------
def test_checkpoint_round_trip_with_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = build_optimizer(model, lr=0.1)
    sched = build_scheduler(opt, 4, 2, policy="cosine", warmup_iters=2)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sched.step()
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "rng": capture_rng_state(), "config": {"a": [1, 2]}, "epoch": 1}
    save_checkpoint(state, tmp_path / "c.pth")
    back = load_checkpoint(tmp_path / "c.pth")  # weights_only=True inside
    assert torch.equal(back["model"]["weight"], model.weight.detach())
    assert back["optimizer"]["state"][0]["momentum_buffer"].shape == (2, 3)
    assert back["config"] == {"a": [1, 2]}


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint_last.pth"
    save_checkpoint({"epoch": 1, "w": torch.arange(3)}, path)
    before = path.read_bytes()
    real_save = torch.save

    def broken_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.write(b"garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"epoch": 2, "w": torch.arange(1000)}, path)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint_last.pth"]  # no temporary left


def test_checkpoint_gets_the_mode_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        path = save_checkpoint({"epoch": 1}, tmp_path / "a.pth")
        assert path.stat().st_mode & 0o777 == 0o640  # 0o666 & ~umask, not mkstemp's 0o600
        os.umask(0o002)
        assert save_checkpoint({"epoch": 1}, tmp_path / "b.pth").stat().st_mode & 0o777 == 0o664
        path.chmod(0o604)  # an existing checkpoint keeps its mode when overwritten
        save_checkpoint({"epoch": 2}, path)
        assert path.stat().st_mode & 0o777 == 0o604 and load_checkpoint(path)["epoch"] == 2
    finally:
        os.umask(old)


def test_rng_state_restores_all_generators(tmp_path):
    state = capture_rng_state()
    save_checkpoint({"rng": state}, tmp_path / "r.pth")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(load_checkpoint(tmp_path / "r.pth")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


# -- data ---------------------------------------------------------------------------------------
class RandomDataset(torch.utils.data.Dataset):
    """Returns draws of the global torch generator, standing in for a random transform."""

    def __init__(self, n=6):
        self.n = n
        self.classes = ["a"]

    def __len__(self):
        return self.n

    def get_image_size(self, idx):
        return 10, 10

    def __getitem__(self, idx):
        return torch.rand(2), {"idx": idx}


def test_seeded_dataset_is_independent_of_workers_and_order():
    ds = SeededDataset(RandomDataset(), seed=3)
    ds.set_epoch(1)
    direct = {i: ds[i][0] for i in range(6)}
    _, batches = make_train_sampler(ds, batch_size=2, seed=3, rank=0, world_size=1)
    for workers in (0, 2):
        seen = {}
        for images, targets in make_train_loader(ds, batches, workers=workers, epoch=1):
            for img, t in zip(images, targets):
                seen[t["idx"]] = img
        assert seen.keys() == direct.keys()
        assert all(torch.equal(seen[i], direct[i]) for i in seen)
    ds.set_epoch(2)
    assert not torch.equal(ds[0][0], direct[0])  # a new epoch draws new augmentations
    state = torch.get_rng_state()
    ds[0]
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is left alone


def test_skip_batches_resumes_the_same_order():
    ds = RandomDataset(8)
    _, batches = make_train_sampler(ds, batch_size=2, seed=0, rank=0, world_size=1)
    batches.sampler.set_epoch(5)
    full = list(batches)
    assert list(SkipBatches(batches, 3)) == full[3:] and len(SkipBatches(batches, 3)) == 1


def test_loaders_use_the_package_collate():
    from detaug.data import collate_fn

    ds = SeededDataset(RandomDataset(), seed=0)
    _, batches = make_train_sampler(ds, batch_size=2, seed=0, rank=0, world_size=1)
    assert make_train_loader(ds, batches, workers=0, epoch=0).collate_fn is collate_fn


# -- training loop --------------------------------------------------------------------------
class ToyDetector(torch.nn.Module):
    """Returns a loss dict like torchvision detectors; the loss is NaN when told to."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.nan_at = None
        self.calls = 0

    def forward(self, images, targets):
        self.calls += 1
        loss = (self.w * torch.stack([i.mean() for i in images]).mean()).sum() ** 2
        if self.calls == self.nan_at:
            loss = loss * float("nan")
        return {"loss_a": loss, "loss_b": loss * 0.5}


def _loader(n=4):
    return [([torch.rand(3, 4, 4)], [{"boxes": torch.zeros(0, 4)}]) for _ in range(n)]


def test_train_one_epoch_steps_and_reports_losses():
    model = ToyDetector()
    opt = build_optimizer(model, lr=0.1, weight_decay=0)
    sched = build_scheduler(opt, 4, 1, policy="multistep", milestones=[], warmup_iters=0)
    before = model.w.item()
    result = train_one_epoch(model, opt, _loader(), torch.device("cpu"), 0, scheduler=sched, clip_grad_norm=1.0)
    assert result.iteration == 4 and not result.stopped
    assert set(result.losses) == {"loss_a", "loss_b", "loss"} and model.w.item() < before
    assert sched.last_epoch == 4


def test_batch_transform_sees_device_batches():
    model = ToyDetector()
    opt = build_optimizer(model, lr=0.1)
    seen = []

    def zero_images(images, targets):
        seen.append(len(images))
        return [torch.zeros_like(i) for i in images], targets

    train_one_epoch(model, opt, _loader(2), torch.device("cpu"), 0, batch_transform=zero_images)
    assert seen == [1, 1] and model.w.grad is not None and float(model.w.grad.abs().sum()) == 0.0


def test_non_finite_loss_stops_with_a_clear_message():
    model = ToyDetector()
    model.nan_at = 3
    opt = build_optimizer(model, lr=0.1)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, iteration 3 \(loss_a=nan"):
        train_one_epoch(model, opt, _loader(), torch.device("cpu"), 0)


def test_stop_request_finishes_the_iteration():
    model = ToyDetector()
    opt = build_optimizer(model, lr=0.1)
    calls = iter([False, True, False, False])
    result = train_one_epoch(model, opt, _loader(), torch.device("cpu"), 0, start_iter=10, iters_per_epoch=14,
                             should_stop=lambda: next(calls))
    assert result.stopped and result.iteration == 12 and model.calls == 2


def test_graceful_stop_catches_sigterm_and_restores_handler():
    previous = signal.getsignal(signal.SIGTERM)
    with GracefulStop() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and stop.reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is previous


class SignalDispositions(torch.utils.data.Dataset):
    """Returns, from inside a DataLoader worker, how SIGINT and SIGTERM are handled there."""

    def __len__(self):
        return 2

    def __getitem__(self, idx):
        return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_loader_workers_leave_stop_signals_to_the_main_process():
    from detaug.engine import StopSafeLoader

    loader = StopSafeLoader(SignalDispositions(), batch_size=1, num_workers=2)  # collate: per-field tuples
    seen = [(sigint[0], sigterm[0]) for sigint, sigterm in loader]
    assert seen == [(signal.SIG_IGN, signal.SIG_IGN)] * 2
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN  # the main process is untouched
    assert not signal.pthread_sigmask(signal.SIG_BLOCK, []) & {signal.SIGINT, signal.SIGTERM}


def test_resumed_schedule_takes_the_step_from_the_checkpoint_and_the_shape_from_the_config(tmp_path):
    from detaug.engine.state import load_scheduler_state

    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, lr=0.1)
    sched = build_scheduler(opt, 10, 2, policy="multistep", milestones=[1], warmup_iters=0)
    for _ in range(12):
        opt.step()
        sched.step()
    saved = sched.state_dict()  # step 12: past the milestone, lr 0.01
    longer = build_scheduler(build_optimizer(model, lr=0.2), 10, 4, policy="multistep", milestones=[3],
                             warmup_iters=0)
    load_scheduler_state(longer, saved, tmp_path / "c.pth")
    assert longer.last_epoch == 12 and longer.optimizer.param_groups[0]["lr"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"c.pth: 'scheduler' has no valid step count"):
        load_scheduler_state(longer, {"last_epoch": "12"}, tmp_path / "c.pth")


def test_stale_temporaries_are_ours_only(tmp_path):
    from detaug.engine import remove_stale_temporaries

    ours = [tmp_path / ".checkpoint_last.pth.1a2b.tmp", tmp_path / ".checkpoint_best.pth.ff.tmp"]
    others = [tmp_path / ".config.yaml.1a2b.tmp", tmp_path / "checkpoint_last.pth", tmp_path / "x.tmp"]
    for p in ours + others:
        p.write_bytes(b"x")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(ours)
    assert all(p.exists() for p in others) and not any(p.exists() for p in ours)
