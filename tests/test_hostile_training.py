"""Hostile and careless inputs to the training tool: each is one clear error or a correct result.

Issue 11, "Training and checkpoints": a kill signal to the whole process group, corrupt or
wrong checkpoints, a full disk, temporary files left by a kill; and their siblings.
"""

import errno
import json
import os
import pickle
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _training_helpers import TINY, TOOL, tiny_checkpoint, tool_env, torchrun

from detaug.cli import train as train_det
from detaug.engine import check_training_state, load_checkpoint


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture
def prog(monkeypatch):
    """argparse names the program after sys.argv[0]; make it the script's name."""
    monkeypatch.setattr(sys, "argv", ["train_det.py"])
    return "train_det.py"


def _fails_with(capsys, argv, *fragments, code=2):
    """Run the tool in-process; assert the exit code and one error line holding ``fragments``."""
    assert train_det.run(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("train_det.py: error: ")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- a kill signal to the whole process group (scancel, Kubernetes, timeout) --------------------

def _killpg_when_training(cmd, out):
    """Start ``cmd`` in its own process group, SIGTERM the whole group once training has
    started, and return (returncode, stdout, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tool_env(),
                            start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("epoch 1 ["):
                os.killpg(proc.pid, signal.SIGTERM)
                break
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, "".join(lines) + stdout, stderr


def _resumable(out):
    path = out / "checkpoint_last.pth"
    state = check_training_state(load_checkpoint(path), path)
    assert state["global_step"] >= 1 and state["epoch"] < 50
    return state


def test_sigterm_to_the_process_group_with_workers_saves_and_exits(data_root, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(TOOL), "--output-dir", str(out), "--set", f"data.root={data_root}", *TINY,
           "schedule.epochs=50", "data.workers=2", "data.batch_size=2"]
    code, stdout, stderr = _killpg_when_training(cmd, out)
    assert code == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "DataLoader worker" not in stderr
    assert "stopped (SIGTERM)" in stdout and "--resume" in stdout
    _resumable(out)


def test_sigterm_to_the_process_group_under_torchrun_saves(data_root, tmp_path):
    out = tmp_path / "ddp"
    cmd = torchrun(2) + ["--output-dir", str(out), "--device", "cpu", "--set", f"data.root={data_root}", *TINY,
                         "schedule.epochs=50", "data.workers=1", "data.batch_size=2"]
    _, stdout, stderr = _killpg_when_training(cmd, out)
    # torchrun itself reports its own SIGTERM with a traceback (SignalException) and status 1;
    # the training processes stop together, save, and fail in no DataLoader worker
    assert "stopped (SIGTERM)" in stdout, stderr[-3000:]
    assert "DataLoader worker" not in stderr and "NonFinite" not in stderr
    assert len(_resumable(out)["rng"]) == 2  # one generator state per process


# -- corrupt or wrong checkpoints ---------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {Path(os.environ.get('TMPDIR', '/tmp')) / 'detaug_pwned'}",))


def _write_bad(kind, path, good):
    state = torch.load(good, weights_only=True)
    raw = good.read_bytes()
    writers = {
        "truncated": lambda: path.write_bytes(raw[: len(raw) // 2]),
        "empty": lambda: path.write_bytes(b""),
        "random": lambda: path.write_bytes(random.Random(0).randbytes(4096)),
        "text": lambda: path.write_text("epoch: 3\nmodel: weights\n"),
        "tensor": lambda: torch.save(torch.zeros(3), path),
        "list": lambda: torch.save([1, 2], path),
        "pickle": lambda: path.write_bytes(pickle.dumps({"model": {}})),
        "malicious": lambda: torch.save({"model": _Evil()}, path),
    }
    if kind in writers:
        writers[kind]()
        return
    edits = {
        "no_optimizer": lambda s: s.pop("optimizer"),
        "no_config": lambda s: s.pop("config"),
        "config_none": lambda s: s.update(config=None),
        "config_bad_key": lambda s: s["config"]["schedule"].update(epoch=3),
        "rng_dict": lambda s: s.update(rng=s["rng"][0]),
        "rng_short": lambda s: s["rng"][0].update(torch=torch.zeros(3, dtype=torch.uint8)),
        "rng_missing": lambda s: s["rng"][0].pop("numpy"),
        "rng_empty": lambda s: s.update(rng=[]),
        "epoch_text": lambda s: s.update(epoch="3"),
        "epoch_negative": lambda s: s.update(iteration=-1),
        "weights_not_tensors": lambda s: s["model"].update({"backbone.lateral8.bias": [1.0, 2.0]}),
        "scheduler_no_step": lambda s: s["scheduler"].pop("last_epoch"),
    }
    edits[kind](state)
    torch.save(state, path)


# (how the file is broken, what the error line says)
BAD_CHECKPOINTS = [
    ("truncated", "not a readable PyTorch checkpoint: truncated or corrupt"),
    ("empty", "is empty (0 bytes)"),
    # random bytes read as a broken zip or a broken pickle, by their first bytes: either says "not a"
    ("random", "not a "),
    ("text", "not a readable PyTorch checkpoint: truncated or corrupt"),
    ("pickle", "not a plain-weights checkpoint (corrupt, or a pickle"),  # a bare pickle, not torch's zip format
    ("malicious", "not a plain-weights checkpoint; refusing to unpickle (it asks for posix.system)"),
    ("tensor", "holds a Tensor, not a training checkpoint"),
    ("list", "holds a list, not a training checkpoint"),
    ("no_optimizer", "cannot be resumed: it has no 'optimizer'"),
    ("no_config", "cannot be resumed: it has no 'config'"),
    ("config_none", "its 'config' is None"),
    ("config_bad_key", "its config: saved config: schedule.epoch"),
    ("rng_dict", "'rng' is a dict, expected a list"),
    ("rng_short", "'rng'[0]: malformed random-generator state"),
    ("rng_missing", "'rng'[0]: malformed random-generator state (KeyError: missing 'numpy')"),
    ("rng_empty", "'rng' is empty"),
    ("epoch_text", "'epoch' is a str, expected a int"),
    ("epoch_negative", "'iteration' is -1, expected >= 0"),
    ("weights_not_tensors", "model weights hold non-tensors"),
]


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory, data_root):
    return tiny_checkpoint(tmp_path_factory.mktemp("good"), data_root)


@pytest.mark.parametrize("kind, message", BAD_CHECKPOINTS, ids=[k for k, _ in BAD_CHECKPOINTS])
def test_a_bad_checkpoint_to_resume_is_one_error_line(tmp_path, capsys, prog, good_checkpoint, kind, message):
    bad = tmp_path / "checkpoint_last.pth"
    _write_bad(kind, bad, good_checkpoint)
    line = _fails_with(capsys, ["--resume", str(tmp_path)], f"{bad}: ", message)
    assert line.startswith(f"{prog}: error: ")
    assert not (Path(os.environ.get("TMPDIR", "/tmp")) / "detaug_pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_last.pth"]  # nothing else was written


@pytest.mark.parametrize("kind", ["truncated", "empty", "random", "text", "malicious", "list", "tensor"])
def test_a_bad_checkpoint_to_evaluate_is_one_error_line(tmp_path, capsys, prog, good_checkpoint, kind):
    bad = tmp_path / "weights.pth"
    _write_bad(kind, bad, good_checkpoint)
    message = dict(BAD_CHECKPOINTS)[kind].replace(", not a training checkpoint", "")
    if kind in ("tensor", "list"):
        message = "holds no config; pass --config"
    _fails_with(capsys, ["--eval-only", "--checkpoint", str(bad)], str(bad), message)


def test_a_checkpoint_without_config_is_refused_unless_given_one(tmp_path, capsys, prog, good_checkpoint):
    bad = tmp_path / "weights.pth"
    _write_bad("config_none", bad, good_checkpoint)
    _fails_with(capsys, ["--eval-only", "--checkpoint", str(bad)], f"{bad}: holds no config; pass --config")
    torch.save(torch.zeros(3), bad)  # weights of no model at all, with a config given
    _fails_with(capsys, ["--eval-only", "--checkpoint", str(bad), "--config", "synthetic_frcnn_small_iore",
                         "--output-dir", str(tmp_path / "never")], f"{bad}: holds no model weights")
    assert not (tmp_path / "never").exists()


def test_a_folder_or_a_missing_file_as_checkpoint(tmp_path, capsys, prog):
    _fails_with(capsys, ["--eval-only", "--checkpoint", str(tmp_path)], f"{tmp_path}: is a folder")
    _fails_with(capsys, ["--resume", str(tmp_path)], f"--resume: no checkpoint_last.pth in {tmp_path}")
    _fails_with(capsys, ["--eval-only", "--checkpoint", str(tmp_path / "x.pth")], "checkpoint not found")


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "eval-only"])
def test_weights_of_the_wrong_shape_name_the_file(tmp_path, capsys, prog, data_root, resume):
    path = tiny_checkpoint(tmp_path, data_root)
    state = torch.load(path, weights_only=True)
    state["model"]["backbone.lateral8.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save(state, path)
    argv = ["--resume", str(tmp_path)] if resume else ["--eval-only", "--checkpoint", str(path)]
    _fails_with(capsys, argv, f"{path}: its weights do not fit the config's model",
                "backbone.lateral8.weight", "torch.Size([3, 3, 1, 1])")


def test_optimizer_state_of_the_wrong_shape_names_the_file(tmp_path, capsys, prog, data_root):
    path = tiny_checkpoint(tmp_path, data_root)
    state = torch.load(path, weights_only=True)
    state["optimizer"]["state"][0]["momentum_buffer"] = torch.zeros(2)
    torch.save(state, path)
    _fails_with(capsys, ["--resume", str(tmp_path)], f"{path}: 'optimizer' holds a momentum_buffer of shape (2,)")


def test_a_mid_epoch_checkpoint_with_another_batch_size_is_refused(tmp_path, capsys, prog, data_root):
    tiny_checkpoint(tmp_path, data_root, iteration=2)  # 2 of an epoch's 2 iterations of 4 images
    _fails_with(capsys, ["--resume", str(tmp_path), "--set", "data.batch_size=8"],
                "stopped at iteration 2 of an epoch, but an epoch has 1 here")


# -- a full disk, and what a kill leaves behind ------------------------------------------------

def _fill_disk_after(monkeypatch, room):
    """Writes of checkpoints fail with ENOSPC after ``room`` bytes, inside torch.save
    (which reports it as "unexpected pos", the error a full disk really gives)."""
    import contextlib

    from detaug import checkpoint

    real_open = checkpoint.atomic_open

    class FullDisk:
        def __init__(self, f):
            self.f, self.room = f, room

        def write(self, data):
            self.room -= len(data)
            if self.room < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

        def flush(self):
            self.f.flush()

    @contextlib.contextmanager
    def full_open(path):
        with real_open(path) as f:
            yield FullDisk(f)

    monkeypatch.setattr(checkpoint, "atomic_open", full_open)


def test_a_full_disk_is_named_and_the_previous_checkpoint_survives(tmp_path, capsys, prog, data_root,
                                                                    monkeypatch):
    out = tmp_path / "run"
    base = ["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY]
    assert train_det.run(base) == 0
    before = (out / "checkpoint_last.pth").read_bytes()
    capsys.readouterr()
    _fill_disk_after(monkeypatch, room=100_000)
    _fails_with(capsys, ["--resume", str(out), "--set", "schedule.epochs=2"],
                f"error: no space left on {out} (writing checkpoint_last.pth; the previous file is kept)", code=1)
    assert (out / "checkpoint_last.pth").read_bytes() == before
    assert not list(out.glob(".*.tmp"))


def test_stale_temporary_checkpoints_are_removed_on_start_and_resume(tmp_path, capsys, data_root):
    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".checkpoint_last.pth.0123abcd.tmp", out / ".checkpoint_best.pth.x.tmp"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    keep = out / ".notes.tmp"
    keep.write_text("not ours")
    base = ["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY]
    assert train_det.run(base + ["--stop-after-iters", "1"]) == 0
    assert not any(p.exists() for p in stale) and keep.exists()
    stale[0].write_bytes(b"again")
    assert train_det.run(["--resume", str(out)]) == 0
    assert not stale[0].exists()
    assert "removed" in capsys.readouterr().out


# -- siblings -----------------------------------------------------------------------------------

def test_an_output_folder_that_cannot_be_made_is_a_usage_error(tmp_path, capsys, prog, data_root):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _fails_with(capsys, ["--output-dir", str(blocker / "run"), "--set", f"data.root={data_root}", *TINY],
                f"output_dir: cannot create {blocker / 'run'}: {blocker} is a file")


def test_corrupt_model_weights_in_the_config_are_a_usage_error(tmp_path, capsys, prog, data_root):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"\x00" * 100)
    _fails_with(capsys, ["--output-dir", str(tmp_path / "run"), "--set", f"data.root={data_root}", *TINY,
                         f"model.weights={weights}"], f"model: {weights}: not a plain-weights checkpoint")


def test_a_diverged_loss_exits_1(tmp_path, capsys, prog, data_root, monkeypatch):
    from detaug.engine import NonFiniteLossError, loop

    def diverge(*args, **kwargs):
        raise NonFiniteLossError("loss is nan at epoch 1, iteration 1")

    monkeypatch.setattr(loop, "train_one_epoch", diverge)
    _fails_with(capsys, ["--output-dir", str(tmp_path / "run"), "--set", f"data.root={data_root}", *TINY],
                "loss is nan", code=1)
    records = (tmp_path / "run" / "metrics.jsonl")
    assert not records.exists() or not [json.loads(x) for x in records.read_text().splitlines()]
