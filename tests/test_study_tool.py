"""detaug-study end to end on a tiny budget: resume an interrupted run, train, evaluate, reuse."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from detaug.study.schemes import DEFAULT_SCHEMES
from detaug.study.training import NEW, StudyRun, record_provenance, train_command

ROOT = Path(__file__).resolve().parents[1]
TINY = ["schedule.epochs=1", "data.synthetic_num_train=8", "data.synthetic_num_test=2", "data.batch_size=4",
        "data.workers=0", "schedule.warmup_iters=1", "model.min_size=96", "model.max_size=160",
        "evaluation.save_predictions=false", "runtime.tensorboard=false"]


def _study(out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "tools" / "occlusion_study.py"), "--out", str(out), "--only", "baseline",
           "IRE", "--seeds", "1", "--device", "cpu", "--set", *TINY, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_tiny_study_resumes_trains_and_reuses(tmp_path):
    out = tmp_path / "study"
    # an interrupted run, as the study would have started it
    run = StudyRun(DEFAULT_SCHEMES[0], 0, out / "runs" / "baseline_s0")
    common = ["data.synthetic_num_test=300", f"data.root={out / 'data'}", *TINY]
    cmd = [*train_command(run, NEW, common, "cpu"), "--stop-after-iters", "1"]
    record_provenance(run, NEW, cmd)
    stopped = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert stopped.returncode == 0, stopped.stderr[-2000:]

    dry = _study(out, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "2 runs in" in dry.stdout and "0 finished, 1 to resume, 1 new" in dry.stdout
    assert not (out / "runs" / "ire_s0").exists()  # a dry run trains nothing

    res = _study(out, "--train-only")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "start baseline_s0 (resume" in res.stdout and "start ire_s0 (new" in res.stdout
    for name in ("baseline_s0", "ire_s0"):
        records = [json.loads(x) for x in (out / "runs" / name / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in records if r["type"] == "eval"] == [1]
    ledger = json.loads((out / "timings.json").read_text())
    assert [s["state"] for s in ledger["baseline_s0"]["sessions"]] == ["resume"]
    assert (out / "study.log").read_text().count("detaug-study") == 1

    full = _study(out, "--kinds", "grey", "pasted", "--levels", "40-60")
    assert full.returncode == 0, full.stdout[-2000:] + full.stderr[-2000:]
    assert "0 run(s) to train, 2 finished" in full.stdout
    for name in ("per_seed.csv", "summary.csv", "differences.csv", "occlusion.png", "STUDY.md"):
        assert (out / name).is_file(), name
    with open(out / "per_seed.csv") as f:
        rows = list(csv.DictReader(f))
    # per run: clean once, grey and pasted at one level, and the generator's occluded split
    assert sorted((r["run"], r["kind"]) for r in rows) == sorted(
        (run, kind) for run in ("baseline_s0", "ire_s0") for kind in ("clean", "grey", "pasted", "generator"))
    study = (out / "STUDY.md").read_text()
    assert "reused 2" in study and "Total:" not in study and "### grey (in-distribution for Cutout)" in study
    assert "IRE − baseline" in study

    again = _study(out, "--kinds", "grey", "pasted", "--levels", "40-60")
    assert again.returncode == 0
    ledger = json.loads((out / "timings.json").read_text())
    assert [i["evaluated"] for i in ledger["_invocations"]] == [0, 6, 0]  # the third read every score from the cache

    # the committed CSVs hold paths relative to the study folder, not this machine's
    assert all(not Path(r["checkpoint"]).is_absolute() and r["checkpoint"].startswith("runs/") for r in rows)
    # a run whose metrics.jsonl is lost cannot prove that it finished: it is resumed, which
    # evaluates it again (nothing left to train), and then it is scored from the cache
    (out / "runs" / "baseline_s0" / "metrics.jsonl").unlink()
    lost = _study(out, "--kinds", "grey", "pasted", "--levels", "40-60")
    assert lost.returncode == 0, lost.stdout[-2000:] + lost.stderr[-2000:]
    assert "1 run(s) to train, 1 finished" in lost.stdout and "start baseline_s0 (resume" in lost.stdout
    records = [json.loads(x) for x in (out / "runs" / "baseline_s0" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["type"] == "eval"] == [1]
    assert "not evaluated" not in lost.stdout


def test_help_lists_every_scheme_of_the_default_matrix_with_its_seeds():
    from detaug.cli.study import get_args_parser

    text = " ".join(get_args_parser().format_help().split())  # the epilog is wrapped
    for scheme in DEFAULT_SCHEMES:
        assert scheme.label in text, scheme.label
    assert "ORE (mask) with 5 seeds" in text and "I+ORE 24ep with 3 seeds" in text

