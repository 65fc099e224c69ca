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
    pipeline = result["pipeline"]  # the training tool's default train pipeline, no extra resize
    assert (pipeline["config"], pipeline["mode"], pipeline["resize"]) == ("synthetic_frcnn_small_iore", "i+ore", None)
    for row in rows:
        assert row["images_per_s"] > 0 and row["images_per_run"] == 24 and row["workers"] == 0
        assert "cost_vs_off" in row
    per_sample = result["per_sample"]
    assert per_sample["off_ms"] > 0 and per_sample["on_ms"] > 0 and "cost_fraction" in per_sample


def _load_tool(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_transforms_target_below_noise_is_inconclusive():
    bench = _load_tool("bench_transforms")
    # added cost / peer's added cost: a negative or zero ratio means ours is below the noise
    for value in (-0.2, 0.0):
        t = bench.judge_target("albu ratio", value, None, 1 / 3, "ratio", "medians ...")
        assert t["met"] is None and t["detail"].startswith("n/a: below noise")
        line = bench.format_targets([t])
        assert line.startswith("[ n/a ]") and "MET" not in line
    assert bench.judge_target("albu ratio", 0.2, None, 1 / 3, "ratio", "")["met"] is True
    missed = bench.judge_target("albu ratio", 0.5, None, 1 / 3, "ratio", "")
    assert missed["met"] is False and abs(missed["missed_by"] - 0.5) < 1e-9
    assert bench.judge_target("x copy", 1.2, -0.1, 1.5, "x copy", "")["met_by_min"] is None
    assert bench.judge_target("x copy", None, None, 1.5, "x copy", "")["met"] is None


def test_bench_pipeline_measures_the_training_pipeline():
    from detaug.pipeline import build_transforms as training_transforms

    bench = _load_tool("bench_pipeline")
    args = bench.get_args_parser().parse_args([])
    cfg = bench.load_bench_config(args)
    assert cfg.name == "synthetic_frcnn_small_iore"  # the training tool's default config
    names = lambda c: [type(t).__name__ for t in c.transforms]  # noqa: E731
    assert names(bench.build_transforms(cfg, erasing=True)) == names(training_transforms(cfg, train=True))
    assert names(bench.build_transforms(cfg, erasing=True)) == ["HorizontalFlip", "BoxAwareRandomErasing"]
    assert names(bench.build_transforms(cfg, erasing=False)) == ["HorizontalFlip"]
    # the resize is an explicit extra step, after the flip
    assert names(bench.build_transforms(cfg, erasing=True, resize=500)) == ["HorizontalFlip", "LongestMaxSize",
                                                                            "BoxAwareRandomErasing"]
    args = bench.get_args_parser().parse_args(["--config", "synthetic_frcnn_small_ore", "--set",
                                               "augmentation.backend=torchvision"])
    cfg = bench.load_bench_config(args)
    assert names(bench.build_transforms(cfg, erasing=True, resize=64)) == ["RandomHorizontalFlip", "Resize",
                                                                           "BoxAwareRandomErasing"]
