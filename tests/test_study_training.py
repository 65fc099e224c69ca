"""The study's training phase without training: run states, scheme files, the job launcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from detaug.config import save_config
from detaug.errors import UsageError
from detaug.study.agenda import select_schemes
from detaug.study.schemes import DEFAULT_SCHEMES, Scheme, load_schemes
from detaug.study.training import (
    FINISHED,
    NEW,
    RESUME,
    Job,
    StudyRun,
    TrainingFailed,
    read_ledger,
    record_provenance,
    resolved_config,
    run_state,
    train_command,
    train_runs,
)

COMMON = ["data.root=/tmp/unused", "schedule.epochs=2"]


def _run(tmp_path: Path, epochs_done=None, checkpoint=True, extra=()):
    run = StudyRun(DEFAULT_SCHEMES[1], 0, tmp_path / "runs" / "ire_s0")
    run.folder.mkdir(parents=True)
    save_config(resolved_config(run, [*COMMON, *extra]), run.folder / "config.yaml")
    if checkpoint:
        (run.folder / "checkpoint_last.pth").write_bytes(b"not read")
        record_provenance(run, NEW, ["train"])  # trained by this very code
    if epochs_done is not None:
        (run.folder / "metrics.jsonl").write_text(json.dumps({"type": "eval", "epoch": epochs_done, "test": {"mAP": 0.5}}) + "\n")
    return run


@pytest.mark.parametrize("epochs_done,checkpoint,state", [
    (None, False, NEW),      # config written, crashed before the first checkpoint
    (None, True, RESUME),    # interrupted during the first epochs (no evaluation yet)
    (1, True, RESUME),       # an evaluation, but not the last one
    (2, True, FINISHED),
    (2, False, NEW),         # metrics but no checkpoint: nothing to resume from
])
def test_run_state(tmp_path, epochs_done, checkpoint, state):
    run = _run(tmp_path, epochs_done, checkpoint)
    assert run_state(run, resolved_config(run, COMMON)) == state


def test_a_folder_with_another_config_is_an_error_naming_the_difference(tmp_path):
    run = _run(tmp_path, 2, extra=["optim.lr=0.01"])
    with pytest.raises(UsageError, match=r"ire_s0 holds a run trained with another config \(optim.lr: 0.01 -> 0.04"):
        run_state(run, resolved_config(run, COMMON))
    # machine-specific keys do not count
    assert run_state(run, resolved_config(run, [*COMMON, "optim.lr=0.01", "data.workers=0", "runtime.device=cpu"])) == FINISHED


def test_commands_new_and_resume(tmp_path):
    run = StudyRun(next(s for s in DEFAULT_SCHEMES if s.label == "baseline 24ep"), 2, tmp_path / "baseline_24ep_s2")
    cmd = train_command(run, NEW, ["a=1"], "cpu")
    assert cmd[:3] == [sys.executable, "-m", "detaug.cli.train"]
    assert cmd[3:] == ["--device", "cpu", "--config", "synthetic_frcnn_small_baseline", "--output-dir",
                       str(run.folder), "--set", "a=1", "schedule.epochs=24", "seed=2"]
    assert train_command(run, RESUME, ["a=1"], "cpu")[3:] == ["--device", "cpu", "--resume", str(run.folder)]


def test_scheme_selection_and_files(tmp_path):
    assert [s.seeds for s in DEFAULT_SCHEMES if s.label in ("baseline", "IRE", "ORE", "I+ORE")] == [5] * 4
    assert all(s.seeds >= 3 for s in DEFAULT_SCHEMES)
    chosen = select_schemes(None, ["IRE", "baseline"], 2)
    assert [(s.label, s.seeds, s.reference) for s in chosen] == [("baseline", 2, "baseline"), ("IRE", 2, "baseline")]
    alone = select_schemes(None, ["ORE"], None)
    assert alone[0].reference == "ORE"  # no baseline in the selection: no paired difference
    with pytest.raises(UsageError, match=r"--only: unknown scheme\(s\) \['nope'\]"):
        select_schemes(None, ["nope"], None)
    path = tmp_path / "m.yaml"
    path.write_text("schemes:\n  - {label: base, preset: synthetic_frcnn_small_baseline, seeds: 2, reference: base}\n"
                    "  - {label: mine, preset: synthetic_frcnn_small_ore, overrides: [augmentation.erasing.object_p=1.0]}\n"
                    "    \n")
    with pytest.raises(UsageError, match="reference 'baseline' is not a scheme"):
        load_schemes(path)
    path.write_text(path.read_text().replace("overrides:", "reference: base, overrides:"))
    assert load_schemes(path)[1] == Scheme("mine", "synthetic_frcnn_small_ore", ("augmentation.erasing.object_p=1.0",), 5, "base")
    path.write_text("schemes:\n  - {label: a, preset: p, seed: 3}\n")
    with pytest.raises(UsageError, match=r"schemes\[0\]: unknown keys \['seed'\]"):
        load_schemes(path)


def _job(tmp_path: Path, name: str, code: str) -> Job:
    run = StudyRun(Scheme(name, "p"), 0, tmp_path / name)
    return Job(run, NEW, [sys.executable, "-c", code])


def test_launcher_runs_jobs_at_once_with_threads_and_records_time(tmp_path):
    # a waits for b's file: it only finishes if both run at the same time
    wait = (f"import os, pathlib, time\nfor _ in range(600):\n    if pathlib.Path(r'{tmp_path}/b.flag').exists(): break\n"
            "    time.sleep(0.05)\nelse:\n    raise SystemExit(3)\nprint('threads', os.environ['OMP_NUM_THREADS'])")
    jobs = [_job(tmp_path, "a", wait), _job(tmp_path, "b", f"open(r'{tmp_path}/b.flag', 'w').close()")]
    train_runs(jobs, jobs=2, threads=1, out=tmp_path, log=lambda m: None)
    assert "threads 1" in (tmp_path / "logs" / "a_s0.log").read_text()
    ledger = read_ledger(tmp_path / "timings.json")
    assert set(ledger) == {"a_s0", "b_s0"} and ledger["a_s0"]["sessions"][0]["returncode"] == 0


def test_launcher_stops_starting_runs_after_a_failure(tmp_path):
    jobs = [_job(tmp_path, "bad", "raise SystemExit('boom')"), _job(tmp_path, "never", "pass")]
    messages = []
    with pytest.raises(TrainingFailed, match="1 run\\(s\\) failed: bad_s0"):
        train_runs(jobs, jobs=1, threads=1, out=tmp_path, log=messages.append)
    assert any("boom" in m for m in messages)  # the log's tail is shown
    assert not (tmp_path / "logs" / "never_s0.log").exists()


@pytest.mark.parametrize("argv,message", [
    (["--only", "nope"], "--only: unknown scheme(s) ['nope']"),
    (["--jobs", "0"], "--jobs and --threads must be >= 1"),
    (["--levels", "20-40,90-70"], "--levels: a level needs 0 < lo <= hi <= 1"),
    (["--kinds", "smoke"], "--kinds: unknown occluder kind(s) ['smoke']"),
    (["--set", "schedule.epoch=3"], "schedule.epoch"),
])
def test_study_usage_errors_exit_2_before_any_work(tmp_path, capsys, monkeypatch, argv, message):
    from detaug.cli.study import run

    monkeypatch.setattr(sys, "argv", ["detaug-study"])  # argparse names the program after sys.argv[0]
    assert run(["--out", str(tmp_path / "s"), "--dry-run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("detaug-study: error:") and message in err
    assert not (tmp_path / "s").exists()


def test_commands_answer_help_without_importing_torch():
    code = ("import sys, detaug.cli.study, detaug.cli.occlusion, detaug.cli.compare as c; c.get_args_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
