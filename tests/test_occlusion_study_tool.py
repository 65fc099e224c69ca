"""tools/occlusion_study.py end to end on a tiny budget: train, compare, occlusion-evaluate, report."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_study_writes_every_output_and_reuses_finished_runs(tmp_path):
    out = tmp_path / "study"
    cmd = [
        sys.executable, str(ROOT / "tools" / "occlusion_study.py"), "--out", str(out), "--schemes", "baseline",
        "--levels", "0,0.3", "--occlusion-seeds", "0", "--kinds", "object", "--device", "cpu",
        "--set", "schedule.epochs=1", "data.synthetic_num_train=8", "data.synthetic_num_test=4",
        f"data.root={tmp_path / 'data'}", "data.workers=0", "schedule.warmup_iters=1",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    for name in ("runs.md", "occlusion.csv", "occlusion.png", "occlusion.md", "STUDY.md"):
        assert (out / name).is_file(), name
    with open(out / "occlusion.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["kind"], float(r["level"])) for r in rows] == [("baseline", "object", 0.0), ("baseline", "object", 0.3)]
    study = (out / "STUDY.md").read_text()
    assert "| baseline | 1 |" in study and "occlusion.png" in study
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "finished run reused" in again.stdout
