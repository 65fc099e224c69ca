"""The wheel, installed into a fresh venv, trains from an empty folder with no checkout in sight.

Built with ``pip wheel`` (no editable install) and installed with ``pip install --no-deps
--no-index``: offline, and without downloading PyTorch again. The fresh venv reaches the
running environment's dependencies through a ``.pth`` line naming its site-packages; Python
does not process ``.pth`` files inside a directory added that way, so the checkout's
editable-install finder there stays out, and the test checks that ``detaug`` is the
venv's own copy.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("detaug-train", "detaug-eval", "detaug-vis", "detaug-occlusion", "detaug-study", "detaug-compare")
TINY = [  # a tiny model on a tiny synthetic set: one epoch in seconds on a CPU
    "schedule.epochs=1", "schedule.warmup_iters=1", "data.synthetic_num_train=8", "data.synthetic_num_test=4",
    "data.batch_size=4", "data.workers=0", "model.min_size=64", "model.max_size=96",
    "model.kwargs={widths: [8, 8, 16, 16], out_channels: 16, representation_size: 32}",
    "runtime.tensorboard=false", "runtime.device=cpu",
]

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("setuptools") is None,
                       reason="building the wheel without network needs setuptools installed"),
    pytest.mark.skipif(os.name == "nt", reason="venv layout (bin/) and script names of POSIX systems"),
]


def _env():
    """The environment without anything that would put the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def _run(cmd, cwd, timeout=300):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd} exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv with the wheel of this checkout installed; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # build from a copy: pip builds in the tree and would leave build/ behind
    shutil.copytree(ROOT / "detaug", src / "detaug", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.cfg", "pyproject.toml", "setup.py", "README.md", "LICENSE", "MANIFEST.in"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist"], src)
    (wheel,) = (tmp / "dist").glob("detaug-*.whl")
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], tmp)
    bin_dir = env_dir / "bin"
    python = bin_dir / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).strip())
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_detaug_test_dependencies.pth").write_text("\n".join(outer) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel], tmp)
    return bin_dir


def test_train_from_an_empty_folder_with_the_installed_package(venv, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    out = _run([venv / "detaug-train", "--config", "synthetic_frcnn_small_iore", "--set", *TINY], work)
    run_dir = work / "runs" / "synthetic_frcnn_small_iore"
    assert {"config.yaml", "checkpoint_last.pth", "metrics.jsonl"} <= {p.name for p in run_dir.iterdir()}
    assert "mode: i+ore" in (run_dir / "config.yaml").read_text() and "VOC all-point mAP@0.5" in out
    assert sorted(p.name for p in work.iterdir()) == ["data", "runs"]  # the synthetic set and the run, nothing loose
    code = ("import detaug, detaug.cli.train, detaug.config.loading as c; "
            "print(detaug.__file__); print(detaug.cli.train.__file__); print(c.PRESETS_DIR)")
    for line in _run([venv / "python", "-c", code], work).split():
        assert Path(line).resolve().is_relative_to(venv.parent.resolve()), line  # the venv's copy, not the checkout's


def test_every_console_script_is_installed_and_answers(venv, tmp_path):
    code = "from importlib.metadata import distribution as d; print(*sorted(e.name for e in d('detaug').entry_points))"
    assert _run([venv / "python", "-c", code], tmp_path).split() == sorted(SCRIPTS)
    for script in SCRIPTS:
        assert "usage:" in _run([venv / script, "--help"], tmp_path, timeout=120)
        assert _run([venv / script, "--version"], tmp_path).strip() == f"{script} (detaug {_version()})"


def _version():
    namespace = {}
    exec((ROOT / "detaug" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


def test_pip_show_names_the_home_page_and_the_author(venv, tmp_path):
    fields = dict(line.split(": ", 1) for line in _run([venv / "python", "-m", "pip", "show", "detaug"], tmp_path).splitlines()
                  if ": " in line)
    assert fields["Home-page"].startswith("https://") and fields["Author"].strip()
    assert Path(fields["Location"]).resolve().is_relative_to(venv.parent.resolve())
