"""The README is executable: its Python blocks run, its command lines parse.

Every ```python block of README.md runs, in order, in one namespace (as a reader pastes
them), on a generated photo-like image with boxes; the names a block may take as given
are the inputs it describes: ``image``, ``boxes``, ``labels`` (albumentations and the
core: numpy HWC uint8, pascal_voc boxes, int labels), ``img``, ``h``, ``w`` (torchvision:
a PIL image and its size) and ``images``, ``targets`` (the batched module: CHW float
tensors and their target dicts). Every command line of a ```bash / ```console block (of
the README, the documentation pages and the commands' own ``--help`` examples) that runs
a detaug command (``detaug-*``, ``python tools/*.py``, ``python -m detaug.cli.*``,
``torchrun ... -m detaug.cli.*``) is parsed by that command's own parser, without
running it, so a renamed option or choice cannot drift from the docs again.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import re
import shlex
import sys
import traceback
from pathlib import Path
from typing import Iterator, List, Tuple

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(path: Path, languages: Tuple[str, ...]) -> List[Tuple[int, str]]:
    """``(first line number, code)`` of the fenced blocks of ``path`` in ``languages``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(2)) for m in FENCE.finditer(text) if m.group(1) in languages]


def _inputs() -> dict:
    """The inputs the README's blocks describe: a 480x640 photo-like image and three boxes."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640]
    image = np.stack([(xx * 255 // 639), (yy * 255 // 479), np.full_like(xx, 96)], -1).astype(np.uint8)
    image = np.clip(image.astype(int) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    boxes = [[40.0, 60.0, 240.0, 300.0], [300.0, 100.0, 600.0, 420.0], [100.0, 350.0, 200.0, 470.0]]
    labels = [1, 2, 3]
    images = [torch.rand(3, 120, 160), torch.rand(3, 96, 128)]
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 80.0, 90.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[5.0, 20.0, 60.0, 70.0], [70.0, 10.0, 120.0, 90.0]]),
                "labels": torch.tensor([2, 1])}]
    return {"image": image, "boxes": boxes, "labels": labels, "img": Image.fromarray(image), "h": 480, "w": 640,
            "images": images, "targets": targets}


IMAGE_FILE = re.compile(r"""["']([\w./-]+\.(?:jpg|jpeg|png))["']""", re.I)


def run_blocks(path: Path, folder: Path, monkeypatch) -> List[str]:
    """Run the Python blocks of ``path`` in order in one namespace, in ``folder``, where an
    image file a block names (``Image.open("photo.jpg")``) is the generated image; return
    one message per block that raised."""
    monkeypatch.chdir(folder)
    namespace = _inputs()
    failures = []
    for line, code in blocks(path, ("python",)):
        for name in IMAGE_FILE.findall(code):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            namespace["img"].save(folder / name)
        try:
            exec(compile(code, f"{path.name}, block at line {line}", "exec"), namespace)
        except Exception:
            failures.append(f"{path.name} line {line}:\n{traceback.format_exc(limit=-2)}")
    return failures


def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch):
    assert len(blocks(README, ("python",))) >= 6
    failures = run_blocks(README, tmp_path, monkeypatch)
    assert not failures, "\n".join(failures)


# -- command lines ------------------------------------------------------------------------------------

def _console_scripts() -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    entries = cfg["options.entry_points"]["console_scripts"]
    return {name.strip(): target.split(":")[0].strip()
            for name, _, target in (line.partition("=") for line in entries.strip().splitlines())}


SCRIPTS = _console_scripts()


def _commands(text: str) -> Iterator[List[str]]:
    """Each shell command of a block as argv (continuation lines joined, comments dropped)."""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line.split(" ", 1)[0] in (*SCRIPTS, "python", "python3", "torchrun"):  # prose and other tools aside
            yield shlex.split(line, comments=True)


def _target(argv: List[str]):
    """``(module name or tools/ script, its arguments)`` of a detaug command line; None for
    other commands (pip, pytest, benchmarks)."""
    if argv[0] in SCRIPTS:
        return SCRIPTS[argv[0]], argv[1:]
    if argv[0] == "torchrun":
        rest = argv[1:]
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest = rest[1:]
        argv = ["python", *rest]
    if argv[0] not in ("python", "python3") or len(argv) < 2:
        return None
    if argv[1] == "-m" and len(argv) > 2 and argv[2].startswith("detaug.cli."):
        return argv[2], argv[3:]
    if re.fullmatch(r"tools/\w+\.py", argv[1]):
        cli = re.search(r"^from (detaug\.cli\.\w+) import run$", (REPO / argv[1]).read_text(), re.M)
        return (cli.group(1) if cli else argv[1]), argv[2:]
    return None


def _parser(target: str, monkeypatch):
    """The argparse parser of a ``detaug.cli`` module or a ``tools/`` script (loaded as a
    module, with ``tools/`` on the path as when it runs)."""
    if not target.startswith("tools/"):
        return importlib.import_module(target).get_args_parser()
    monkeypatch.syspath_prepend(str(REPO / "tools"))
    name = f"_readme_{Path(target).stem}"
    spec = importlib.util.spec_from_file_location(name, REPO / target)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.get_args_parser()


def _command_lines() -> List[Tuple[str, List[str]]]:
    sources = [(README, blocks(README, ("bash", "console", "sh", "shell")))]
    sources += [(p, blocks(p, ("bash", "console", "sh", "shell"))) for p in sorted((REPO / "docs").glob("*.md"))]
    out = []
    for path, found in sources:
        for line, code in found:
            for argv in _commands(code):
                if _target(argv) is not None:
                    out.append((f"{path.relative_to(REPO)}:{line}", argv))
    return out


COMMAND_LINES = _command_lines()


def _help_examples() -> List[Tuple[str, List[str]]]:
    """The example lines of every command's ``--help`` (its epilog; the cli modules import
    nothing heavy at module level)."""
    out = []
    for name, module in sorted(SCRIPTS.items()):
        epilog = importlib.import_module(module).get_args_parser().epilog or ""
        for argv in _commands(epilog):
            if argv and _target(argv) is not None:
                out.append((f"{name} --help", argv))
    return out


def test_the_readme_shows_every_command():
    shown = {argv[0] for where, argv in COMMAND_LINES if where.startswith("README")}
    assert set(SCRIPTS) <= shown, set(SCRIPTS) - shown


@pytest.mark.parametrize("where, argv", COMMAND_LINES + _help_examples(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v)[:60])
def test_every_command_line_shown_parses(where, argv, capsys, monkeypatch):
    target, args = _target(argv)
    parser = _parser(target, monkeypatch)
    try:
        parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"{where}: {' '.join(argv)}\n{capsys.readouterr().err}")
