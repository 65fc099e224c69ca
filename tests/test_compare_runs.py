"""detaug-compare: final metrics of run folders, grouped by the whole config except the seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from detaug.cli.compare import run


def _run(folder: Path, mode: str, seed: int, test: float, occluded: float, epochs: int = 8, extra: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        f"name: {folder.name}\nseed: {seed}\noutput_dir: {folder}\nschedule:\n  epochs: {epochs}\n"
        f"augmentation:\n  erasing:\n    mode: '{mode}'\n{extra}")
    records = [
        {"type": "train", "epoch": 1, "loss": 1.0},
        {"type": "eval", "epoch": 1, "test": {"mAP": 0.01}, "occluded": {"mAP": 0.01}},
        {"type": "eval", "epoch": epochs, "test": {"mAP": test, "AP": {"a": test}}, "occluded": {"mAP": occluded}},
    ]
    (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return folder


def test_runs_of_one_config_are_averaged_with_sample_sd_and_others_are_not(tmp_path, capsys):
    runs = [
        _run(tmp_path / "iore_s0", "i+ore", 0, 0.60, 0.40),
        _run(tmp_path / "base_s0", "none", 0, 0.50, 0.20),
        _run(tmp_path / "iore_s1", "i+ore", 1, 0.70, 0.50),
        _run(tmp_path / "iore_long", "i+ore", 0, 0.10, 0.10, epochs=1),
        _run(tmp_path / "cutout_s0", "none", 0, 0.55, 0.25,
             extra="  extra:\n  - {__class_fullname__: CoarseDropout, p: 1.0}\n"),
    ]
    out = tmp_path / "table.md"
    assert run([*map(str, runs), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "| scheme | runs | test mAP | occluded mAP |"
    # sample sd (ddof=1) of 60 and 70 is 7.1; the 1-epoch run is its own row, never averaged in
    assert lines[2] == "| I+ORE [schedule.epochs=8] | 2 | 65.0 ± 7.1 | 45.0 ± 7.1 |"
    assert lines[3] == "| baseline | 1 | 50.0 | 20.0 |"
    assert lines[4] == "| I+ORE [schedule.epochs=1] | 1 | 10.0 | 10.0 |"
    assert lines[5] == "| baseline + CoarseDropout | 1 | 55.0 | 25.0 |"
    differ = next(x for x in lines if x.startswith("The groups differ in:"))
    assert "schedule.epochs (8 / 8 / 1 / 8)" in differ and "augmentation.erasing.mode" in differ
    assert "seed" not in differ.split(":", 1)[1] and "output_dir" not in differ
    assert "| I+ORE [schedule.epochs=8] | 2 |" in capsys.readouterr().out


def test_missing_files_and_unevaluated_runs_exit_2_naming_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["detaug-compare"])  # argparse names the program after sys.argv[0]
    assert run([str(tmp_path)]) == 2
    assert "config.yaml not found" in capsys.readouterr().err
    folder = _run(tmp_path / "r", "ire", 0, 0.1, 0.1)
    (folder / "metrics.jsonl").write_text(json.dumps({"type": "train"}) + "\n")
    assert run([str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("detaug-compare: error:") and "holds no evaluation yet" in err
