"""One rule for every command (issue 12): --version, --help without torch, usage errors exit 2 in one line."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("train", "eval", "visualize", "occlusion", "study", "compare")


def _run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS)
def test_version_and_help_answer_without_importing_torch(command):
    from detaug import __version__

    res = _run(f"detaug.cli.{command}", "--version")
    assert res.returncode == 0 and res.stdout.strip().endswith(f"(detaug {__version__})")
    code = (f"import sys; sys.argv = ['x', '--help']\nimport detaug.cli.{command} as m\n"
            "try:\n    m.run()\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip().splitlines()[-1] == "False" and "usage:" in res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_is_a_usage_error_with_exit_2(command):
    res = _run(f"detaug.cli.{command}", "--no-such-option")
    assert res.returncode == 2 and "error:" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "command, args, says",
    [
        ("train", ["--config", "no_such_preset"], "synthetic_frcnn_small_iore"),  # lists the presets
        ("train", ["--resume", "/no/such/run"], "/no/such/run"),
        ("eval", ["voc", "--root", "/no/such/voc", "--split", "test", "--results", "/no/such/results"], "/no/such"),
        ("visualize", ["--mode", "ire"], "--config"),
        ("occlusion", ["/no/such/run"], "/no/such/run"),
        ("study", ["--dry-run", "--kinds", "smoke"], "error: --kinds: unknown occluder kind(s) ['smoke']"),
        ("study", ["--dry-run", "--levels", "0,2"], "error: --levels: "),
        ("compare", ["/no/such/run"], "/no/such/run"),
    ],
)
def test_input_errors_are_one_line_naming_what_is_wrong(command, args, says):
    res = _run(f"detaug.cli.{command}", *args)
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "error:" in lines[0] and says in lines[0] and "Traceback" not in res.stderr


#: console script -> (module, script in a checkout), as in detaug/cli/__init__.py
NAMES = {
    "detaug-train": ("train", "train_det.py"),
    "detaug-eval": ("eval", "eval_det.py"),
    "detaug-vis": ("visualize", "visualize.py"),
    "detaug-occlusion": ("occlusion", "occlusion_eval.py"),
    "detaug-study": ("study", "occlusion_study.py"),
    "detaug-compare": ("compare", "compare_runs.py"),
}


@pytest.mark.parametrize("console", NAMES)
def test_usage_names_the_command_as_it_was_started(console):
    # every command is named the same way: by the name it was started with (argparse's
    # default), so a script in a checkout says its own name and the console script its own
    module, script = NAMES[console]
    res = subprocess.run([sys.executable, str(ROOT / "tools" / script), "--help"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and res.stdout.startswith(f"usage: {script} "), res.stdout[:200]
    code = f"import sys; sys.argv = ['/venv/bin/{console}', '--help']\nimport detaug.cli.{module} as m\nm.run()"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.startswith(f"usage: {console} "), res.stdout[:200]
