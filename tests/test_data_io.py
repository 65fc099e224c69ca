"""Atomic writes: file mode, and an interrupted write leaves the previous file intact."""

import os
import stat

import pytest

from detaug import io as _io
from detaug.io import atomic_write_bytes, atomic_write_text


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


def test_umask_is_read_without_being_changed(umask_022):
    assert _io._umask() == 0o022 and os.umask(0o022) == 0o022
