"""tools/compare_runs.py: final metrics of run folders side by side."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    module = importlib.import_module("detaug.cli.compare")
    return module


def _run(folder: Path, mode: str, seed: int, test: float, occluded: float) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(f"name: {folder.name}\nseed: {seed}\naugmentation:\n  erasing:\n    mode: '{mode}'\n")
    records = [
        {"type": "train", "epoch": 1, "loss": 1.0},
        {"type": "eval", "epoch": 1, "test": {"mAP": 0.01}, "occluded": {"mAP": 0.01}},
        {"type": "eval", "epoch": 2, "test": {"mAP": test, "AP": {"a": test}}, "occluded": {"mAP": occluded}},
    ]
    (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return folder


def test_table_groups_schemes_and_uses_the_last_evaluation(tmp_path):
    runs = [
        _run(tmp_path / "iore_s0", "i+ore", 0, 0.60, 0.40),
        _run(tmp_path / "base_s0", "none", 0, 0.50, 0.20),
        _run(tmp_path / "iore_s1", "i+ore", 1, 0.70, 0.50),
    ]
    out = tmp_path / "table.md"
    table = _tool().main(_tool().get_args_parser().parse_args([*map(str, runs), "--out", str(out)]))
    lines = table.splitlines()
    assert lines[0] == "| erasing | runs | test mAP | occluded mAP |"
    assert lines[2] == "| baseline | 1 | 50.0 | 20.0 |"  # baseline first, whatever the argument order
    assert lines[3] == "| I+ORE | 2 | 65.0 ± 5.0 | 45.0 ± 5.0 |"
    assert table in out.read_text()


def test_missing_files_and_unevaluated_runs_are_clear_errors(tmp_path):
    tool = _tool()
    with pytest.raises(SystemExit, match="config.yaml not found"):
        tool.main(tool.get_args_parser().parse_args([str(tmp_path)]))
    run = _run(tmp_path / "r", "ire", 0, 0.1, 0.1)
    (run / "metrics.jsonl").write_text(json.dumps({"type": "train"}) + "\n")
    with pytest.raises(SystemExit, match="no evaluation"):
        tool.main(tool.get_args_parser().parse_args([str(run)]))
