"""Smoke tests of the benchmark tools: they run, and their JSON has the expected rows and fields.

No timing assertions: speed targets belong to the benchmarks (docs/benchmarks.md), not to tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args, tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_bench_transforms_quick_json(tmp_path):
    out = tmp_path / "transforms.json"
    proc = _run(["tools/bench_transforms.py", "--quick", "--json", str(out)], tmp_path)
    assert "median us" in proc.stdout
    result = json.loads(out.read_text())
    assert result["threads"]["threads"] == 1 and result["machine"]["torch"]
    rows = result["rows"]
    names = {(r["group"], r["name"]) for r in rows}
    for expected in [("floor", "copy"), ("albu", "A.Compose+NoOp"), ("albu", "detaug I+ORE"), ("albu", "A.Erasing"),
                     ("albu", "A.CoarseDropout p=1"), ("albu", "A.ConstrainedCoarseDropout p=1"), ("core", "sample_plan I+ORE"),
                     ("core", "erase_array I+ORE"), ("core", "erase_array I+ORE p=1"), ("tensor", "detaug.tv I+ORE"), ("tensor", "v2.RandomErasing"),
                     ("batch-cpu", "erase_batch I+ORE"), ("batch-cpu", "timm RandomErasing (loop)"), ("batch-cpu", "kornia RandomErasing")]:
        assert expected in names, expected
    for row in rows:
        for field in ("group", "name", "image", "boxes", "fill", "status"):
            assert field in row
        if row["status"] == "ok":
            assert row["median_us"] > 0 and row["min_us"] > 0 and row["repeats"] >= 1
        else:  # an optional peer that is not installed is reported, not fatal
            assert row["median_us"] is None
    albu = next(r for r in rows if r["name"] == "detaug I+ORE" and r["fill"] == "const")
    assert "added_us" in albu and albu["peer"] == "A.Erasing"
    targets = result["targets"]
    assert any("copy" in t["target"] for t in targets)
    assert all({"target", "value", "limit", "met"} <= set(t) for t in targets)


def test_bench_pipeline_quick_json(tmp_path):
    out = tmp_path / "pipeline.json"
    _run(["tools/bench_pipeline.py", "--quick", "--data-root", str(tmp_path / "data"), "--json", str(out)], tmp_path)
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [r["erasing"] for r in rows] == ["off", "on", "device"]
    for row in rows:
        assert row["images_per_s"] > 0 and row["images_per_run"] == 24 and row["workers"] == 0
        assert "cost_vs_off" in row
    per_sample = result["per_sample"]
    assert per_sample["off_ms"] > 0 and per_sample["on_ms"] > 0 and "cost_fraction" in per_sample
