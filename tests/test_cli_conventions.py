"""One rule for every command (issue 12): --version, --help without torch, usage errors exit 2 in one line."""

import subprocess
import sys

import pytest

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
        ("study", ["--dry-run", "--kinds", "smoke"], "detaug-study: error: --kinds: unknown occluder kind(s) ['smoke']"),
        ("study", ["--dry-run", "--levels", "0,2"], "detaug-study: error: --levels: "),
        ("compare", ["/no/such/run"], "/no/such/run"),
    ],
)
def test_input_errors_are_one_line_naming_what_is_wrong(command, args, says):
    res = _run(f"detaug.cli.{command}", *args)
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "error:" in lines[0] and says in lines[0] and "Traceback" not in res.stderr
