"""detaug-study and its files given what they should not be: each a clear message (exit 2)
before any work, or a right result; nothing finished is lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from detaug.engine.logging import RunLogger
from detaug.errors import UsageError
from detaug.records import append_line
from detaug.robustness.evaluation import CLEAN, Condition, ResultCache, Row
from detaug.study.schemes import DEFAULT_SCHEMES
from detaug.study.training import StudyRun, resolved_config, run_state

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _study(argv, monkeypatch, capsys):
    from detaug.cli.study import run

    monkeypatch.setattr(sys, "argv", ["detaug-study"])
    code = run(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("where", ["out", "out_under", "report", "report_under"])
def test_out_and_report_that_are_files_are_refused_before_any_work(tmp_path, monkeypatch, capsys, where):
    a_file = tmp_path / "f.txt"
    a_file.write_text("keep me")
    out, report = tmp_path / "s", tmp_path / "r"
    if where.startswith("out"):
        out = a_file if where == "out" else a_file / "s"
    else:
        report = a_file if where == "report" else a_file / "r"
    code, err = _study(["--out", str(out), "--report", str(report), "--dry-run"], monkeypatch, capsys)
    option = "--out" if where.startswith("out") else "--report"
    assert code == 2 and f"{option} " in err
    assert ("which is a file" if where.endswith("under") else ": is a file") in err
    assert a_file.read_text() == "keep me"


def _matrix(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_a_label_without_letters_or_digits_is_refused(tmp_path, monkeypatch, capsys):
    m = _matrix(tmp_path, "schemes:\n  - {label: '+++', preset: synthetic_frcnn_small_baseline, reference: '+++'}\n")
    code, err = _study(["--out", str(tmp_path / "s"), "--schemes", str(m), "--dry-run"], monkeypatch, capsys)
    assert code == 2 and "'+++' has no letter or digit" in err


def test_an_alias_bomb_in_the_matrix_is_refused_by_name(tmp_path, monkeypatch, capsys):
    m = _matrix(tmp_path, BOMB + "schemes: *i\n")
    code, err = _study(["--out", str(tmp_path / "s"), "--schemes", str(m), "--dry-run"], monkeypatch, capsys)
    assert code == 2 and f"{m}: not valid YAML" in err and "aliases (*name) expand" in err


def test_a_matrix_that_is_not_text_names_the_file(tmp_path, monkeypatch, capsys):
    m = tmp_path / "m.yaml"
    m.write_bytes(b"\xff\xfe\x00binary")
    code, err = _study(["--out", str(tmp_path / "s"), "--schemes", str(m), "--dry-run"], monkeypatch, capsys)
    assert code == 2 and f"{m}: not a YAML file (not UTF-8 text)" in err


@pytest.mark.parametrize("content", [BOMB, "- a\n- b\n", "a: !!python/object/apply:os.system ['true']\n"])
def test_a_run_config_that_is_not_a_config_is_a_usage_error_naming_it(tmp_path, content):
    run = StudyRun(DEFAULT_SCHEMES[1], 0, tmp_path / "runs" / "ire_s0")
    run.folder.mkdir(parents=True)
    (run.folder / "config.yaml").write_text(content)
    wanted = resolved_config(run, ["data.root=/tmp/unused"])
    with pytest.raises(UsageError, match=r"config.yaml is not a training config .*delete .*ire_s0"):
        run_state(run, wanted)


def _row(value=0.5) -> Row:
    return Row("baseline_s0", "baseline", 0, "runs/baseline_s0/checkpoint_last.pth", "test", CLEAN, "0", 0.0, 0.0,
               0, "voc2010", value, 0.0, float("nan"), 10, "mask", "")


def test_the_score_cache_recomputes_what_it_cannot_trust_and_appends_on_a_fresh_line(tmp_path):
    path = tmp_path / "results.jsonl"
    good = ResultCache(path)
    good.add("k1", _row())
    old = {k: v for k, v in json.loads(path.read_text())["row"].items() if k != "in_distribution_for"}
    bad = dict(json.loads(path.read_text())["row"], value="abc")
    with open(path, "a") as f:
        f.write(json.dumps({"key": "old", "row": old}) + "\n")  # a row of an older version: a field missing
        f.write(json.dumps({"key": "bad", "row": bad}) + "\n")  # a value that is not a number
        f.write(json.dumps({"key": "two", "row": dict(bad, value=2.0)}) + "\n")  # not an mAP
        f.write('[1, 2]\n{"key": "cut", "ro')  # not a record; a line cut by a kill
    cache = ResultCache(path)
    assert set(cache.rows) == {"k1"} and cache.skipped == 5
    cache.add("k2", _row(0.25))
    again = ResultCache(path)
    assert set(again.rows) == {"k1", "k2"} and again.rows["k2"]["value"] == 0.25
    assert Row(**again.rows["k1"]).value == 0.5
    assert ResultCache.key("r", path, "test", Condition(CLEAN), 8) != ResultCache.key("r", path, "test", Condition(CLEAN), 4)


def test_training_logs_append_after_a_cut_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"type": "train", "epoch": 1}\n{"type": "ev')
    log = RunLogger(tmp_path, use_tqdm=False, tensorboard=False)
    log.log_metrics({"type": "eval", "epoch": 2, "test": {"mAP": 0.5}})
    log.close()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == {"type": "eval", "epoch": 2, "test": {"mAP": 0.5}}
    append_line(tmp_path / "new.txt", "first")
    assert (tmp_path / "new.txt").read_text() == "first\n"
