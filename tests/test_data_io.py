"""Atomic writes: file mode, an interrupted or full-disk write leaves the previous file intact;
JSON values."""

import errno
import json
import os
import stat

import numpy as np
import pytest
import torch

from detaug.io import DiskFullError, atomic_open, atomic_write_bytes, atomic_write_text, to_jsonable


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_gets_the_mode_open_would_give(tmp_path, umask_022):
    p = atomic_write_text(tmp_path / "a.txt", "x")
    assert _mode(p) == 0o644  # not mkstemp's 0600
    with open(tmp_path / "ref.txt", "w") as f:
        f.write("x")
    assert _mode(p) == _mode(tmp_path / "ref.txt")


def test_replaced_file_keeps_its_mode(tmp_path, umask_022):
    p = tmp_path / "a.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new" and _mode(p) == 0o640


# where the interruption happens: (what to patch, attribute)
INTERRUPTIONS = [
    (os, "replace"),  # content written, the final rename fails
    (os, "fsync"),  # failure while flushing the temporary file to disk
]


@pytest.mark.parametrize("module,name", INTERRUPTIONS, ids=[n for _, n in INTERRUPTIONS])
def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch, module, name):
    p = tmp_path / "results.txt"
    atomic_write_text(p, "previous content\n")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(module, name, boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(p, b"new content that must never be seen half-written\n")
    monkeypatch.undo()
    assert p.read_text() == "previous content\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["results.txt"]  # no temp file left


def test_the_umask_is_left_alone(tmp_path, umask_022):
    atomic_write_text(tmp_path / "a.txt", "x")
    assert os.umask(0o022) == 0o022


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes are written."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def write(self, data):
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


@pytest.mark.parametrize("room", [0, 100])
def test_full_disk_is_named_and_keeps_the_previous_file(tmp_path, room):
    p = tmp_path / "results.txt"
    atomic_write_text(p, "previous content\n")
    with pytest.raises(DiskFullError, match=f"no space left on {tmp_path}"):
        with atomic_open(p) as f:
            _FullDisk(f, room).write(b"x" * 1000)
    assert p.read_text() == "previous content\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["results.txt"]


def test_to_jsonable_makes_numpy_and_torch_values_plain(tmp_path):
    value = {1: (np.float32(0.25), np.arange(2)), "t": torch.tensor([1.5]), "s": torch.tensor(3), "p": tmp_path}
    assert to_jsonable(value) == {"1": [0.25, [0, 1]], "t": [1.5], "s": 3, "p": str(tmp_path)}
    json.dumps(to_jsonable(value))
