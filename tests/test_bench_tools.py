"""Smoke tests of the benchmark tools: their ``--quick`` runs finish, print and save the
expected structure, and never show an infinite or undefined figure.

No timing assertions: speed is what the benchmarks report (docs/benchmarks.md), not
something a test on a shared machine can check.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNDEFINED = re.compile(r"\b(inf|infinity|nan)\b", re.IGNORECASE)


def _run_quick(tool: str, tmp_path: Path) -> tuple[str, dict]:
    out = tmp_path / f"{tool}.json"
    proc = subprocess.run([sys.executable, f"tools/{tool}.py", "--quick", "--json", str(out)], cwd=ROOT,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raw = out.read_text()

    def refuse(constant):
        raise AssertionError(f"{constant} in {tool}'s JSON")

    return proc.stdout, json.loads(raw, parse_constant=refuse)


@pytest.fixture
def tools(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # bench_pipeline imports bench_transforms, as a script does
    import bench_pipeline
    import bench_transforms

    return bench_transforms, bench_pipeline


def test_bench_transforms_quick(tmp_path):
    text, result = _run_quick("bench_transforms", tmp_path)
    assert not UNDEFINED.search(text), text
    assert "+-" not in text and "[" not in text.split("\n", 1)[1]  # no ranges over 3 repeats
    for title in ("(a) inside A.Compose", "(b) the core alone", "(c) batched on CPU", "(d) torchvision v2"):
        assert title in text
    names = {(c["group"], c["name"]) for c in result["cases"]}
    assert {("a", "A.Compose+NoOp (floor)"), ("a", "detaug I+ORE, image and every box"), ("a", "A.Erasing p=1, one region"),
            ("b", "copy"), ("b", "apply_plan I+ORE, fill 0"), ("b", "apply_plan I+ORE, fill random"),
            ("c-cpu", "erase_batch IRE, fill 0.0"), ("d", "detaug.tv I+ORE, fill random")} <= names
    for case in result["cases"]:
        assert len(case["times_us"]) == case["n"] == 3 and case["median"] > 0 and "q1" not in case
    albu = next(r for r in result["ratios"] if r["group"] == "a")
    assert albu["limit"] == 0.45 and albu["verdict"] == f"not judged on {albu['repeats_used']} repeats"
    judged = {r["label"] for r in result["ratios"] if r["verdict"] is not None}
    assert judged == {albu["label"], "detaug.tv IRE / v2.RandomErasing(p=1), like for like"}  # the rest: informational
    assert ("(c) on CUDA: not run (no GPU)" in text) == (result["machine"]["cuda"] is None)


def test_bench_pipeline_quick(tmp_path):
    text, result = _run_quick("bench_pipeline", tmp_path)
    assert not UNDEFINED.search(text), text
    assert "6 generated JPEGs" in text and "not judged on 3 bursts" in text
    data = result["data"]
    assert data["images"] == 6 and data["mean_boxes"] == 8
    assert set(result["times_ms"]) == {"off", "detaug", "albumentations", "noop", "floor"}
    assert all(len(times) == 3 and min(times) > 0 for times in result["times_ms"].values())
    shares = result["shares"]
    for name in ("detaug", "albumentations"):
        assert {"ms", "added_ms", "share"} <= set(shares[name]) and "q1" not in shares[name]["share"]
    assert "BoxAwareRandomErasing" in result["pipelines"]["detaug"] and "Erasing" in result["pipelines"]["albumentations"]
    # the floor is a copy and the random bytes of the erased pixels: less than the detaug pipeline's added time
    assert 0 < shares["floor"]["ms"]["median"] and shares["floor_ratio"]["target"] == 3.0
    assert shares["added_ratio"]["target"] == 0.6 and "floor (copy + random bytes" in text
    # one more transform's own cost (A.NoOp), and detaug's time without it against the floor, burst by burst
    noop, times = shares["noop"]["added_ms"], result["times_ms"]
    assert noop["median"] == statistics.median(n - o for n, o in zip(times["noop"], times["off"]))
    own = [(d - n) / f for d, n, f in zip(times["detaug"], times["noop"], times["floor"])]
    assert shares["own_floor_ratio"]["median"] == pytest.approx(statistics.median(own))
    assert "one more transform (A.NoOp) adds" in text


def test_ratio_never_divides_by_noise(tools):
    bench, _ = tools
    ratio = bench.Ratio("a", "ours / theirs", "ours", "theirs", floor="floor", limit=0.6)
    times = {("a", "ours"): [3.0, 2.0, 5.0, 2.5, 2.0, 2.2], ("a", "theirs"): [4.0, 1.0, 6.0, 3.0, 3.0, 3.0],
             ("a", "floor"): [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}
    out = bench.paired_ratio(ratio, times)
    # repeat 2 ("theirs" at its floor) is left out; the others give 2/3, 4/5, 1.5/2, 1/2, 1.2/2
    assert out["repeats_used"] == 5 and out["median"] == pytest.approx(2 / 3)
    assert out["verdict"] == "missed by 11%" and "q1" in out
    times[("a", "theirs")] = [1.0] * 6
    assert bench.paired_ratio(ratio, times)["median"] is None
    assert bench.paired_ratio(bench.Ratio("z", "x", "missing", "theirs"), times) is None


def test_verdicts(tools):
    bench, _ = tools
    assert bench.verdict(0.5, 0.6, 9) == "met"
    assert bench.verdict(0.9, 0.6, 9) == "missed by 50%"
    assert bench.verdict(-0.1, 0.6, 9) == bench.verdict(None, 0.6, 9) == "n/a: below noise"
    assert bench.verdict(0.9, 0.6, 2) == "not judged on 2 repeats"
    assert bench.verdict(0.9, None, 9) is None


def test_pipeline_reads_a_voc_folder(tools, tmp_path):
    _, pipeline = tools
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>40</width><height>30</height></size>"
        "<object><name>cup</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>40</xmax><ymax>31</ymax></bndbox></object>"
        "</annotation>")
    # VOC's 1-based inclusive box -> pixel edges; ymax 31 sticks out of a 30 px image and is clipped
    assert pipeline.read_voc_folder(str(tmp_path)) == [(str(tmp_path / "JPEGImages" / "a.jpg"), [[0, 1, 40, 30]])]


def test_the_gpu_benchmark_writes_its_table_between_the_markers_only(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_batched", ROOT / "benchmarks" / "gpu_batched.py")
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    rows = [{"device": "cuda", "batch": 8, "size": "800x1216", "case": name, "ms_per_batch": ms, "us_per_image": ms * 125}
            for name, ms in (("detaug I+ORE paper, 5 boxes, fill random", 0.2), ("timm RandomErasing, mode pixel", 0.25))]
    table = gpu.markdown({"gpu": "NVIDIA H200", "torch": "2.14.1", "commit": "abc1234", "rows": rows,
                          "gpu_same_regions_and_constants_as_cpu": True})
    assert "| cuda | 8x800x1216 | timm RandomErasing, mode pixel | 0.25 |" in table and "= 0.80 (target" in table
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# B\n\nbefore\n{gpu.START}\nold table\n{gpu.END}\nafter\n")
    gpu.write_docs(str(docs), table)
    text = docs.read_text()
    assert "old table" not in text and text.startswith("# B\n\nbefore\n") and text.endswith(f"{gpu.END}\nafter\n")
    assert table in text
    docs.write_text("no markers")
    with pytest.raises(SystemExit, match="no <!-- gpu-batched:start -->"):
        gpu.write_docs(str(docs), table)


def test_pipeline_parts_quick(tmp_path):
    out = tmp_path / "parts.json"
    proc = subprocess.run([sys.executable, "benchmarks/pipeline_parts.py", "--quick", "--json", str(out)], cwd=ROOT,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    times, parts = result["times_us"], result["parts_us"]
    assert list(times) == ["off", "noop", "front-end", "+ plan", "+ copy", "detaug"] and result["images"] == 6
    assert all(len(t) == 2 and min(t) > 0 for t in times.values())
    # each part is the paired difference of two consecutive pipelines; together they make detaug's added time
    for earlier, later in zip(list(times), list(times)[1:]):
        assert parts[later]["median"] == pytest.approx(statistics.median(b - a for a, b in zip(times[earlier], times[later])))
    assert result["detaug_added_us"]["median"] == pytest.approx(
        statistics.median(d - o for d, o in zip(times["detaug"], times["off"])))
    assert "drawing the plan (sample_plan)" in proc.stdout and "one more transform (A.NoOp)" in proc.stdout


def test_ab_pipeline_quick(tmp_path):
    # both sides this checkout: the tool must load a core per side and time both in one process
    out = tmp_path / "ab.json"
    proc = subprocess.run([sys.executable, "benchmarks/ab_pipeline.py", "--before", ".", "--after", ".", "--quick",
                           "--json", str(out)], cwd=ROOT, env=dict(os.environ, PYTHONWARNINGS="ignore"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    times = result["times_us"]
    assert list(times) == ["off", "before", "after", "A.Erasing"] and result["images"] == 6
    assert all(len(t) == 2 and min(t) > 0 for t in times.values())
    assert result["after_minus_before_us"]["median"] == pytest.approx(
        statistics.median(a - b for a, b in zip(times["after"], times["before"])))
    assert str(ROOT) in result["before"] and "after minus before" in proc.stdout


def test_ab_pipeline_refuses_a_folder_without_detaug_and_an_unknown_fill(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import ab_pipeline

    parser = ab_pipeline.get_args_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--before", str(tmp_path), "--after", str(ROOT)])
    assert "is not a checkout of detaug" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--before", str(ROOT), "--after", str(ROOT), "--fill", "banana"])
    assert "is not a fill for uint8 photos" in capsys.readouterr().err
    for bad in (["--fill", "random_normal"], ["--fill", "300"], ["--bursts", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["--before", str(ROOT), "--after", str(ROOT), *bad])
    assert parser.parse_args(["--before", str(ROOT), "--after", str(ROOT), "--fill", "0"]).fill == 0.0
