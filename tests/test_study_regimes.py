"""The regime study's pieces: generator class subsets and one fixed test set, the regime
matrix file, pretraining before the runs that need it, provenance, the lock and the ledger."""

from __future__ import annotations

import filecmp
import json
import sys
from pathlib import Path

import pytest

from detaug.data import generate_synthetic
from detaug.errors import UsageError
from detaug.study.harness import exclusive, record_invocation
from detaug.study.schemes import Scheme, load_schemes
from detaug.study.training import (
    FINISHED,
    NEW,
    PROVENANCE,
    Job,
    StudyRun,
    read_ledger,
    read_provenance,
    record_provenance,
    resolved_config,
    run_state,
    train_runs,
)

ROOT = Path(__file__).resolve().parents[1]


def test_default_settings_keep_their_folder_name(tmp_path):
    # the name 0.3 gave this set (a golden value recorded from 0.3's code): the options
    # added in 0.4 at their defaults must not move existing data
    info = generate_synthetic(tmp_path, seed=0, num_train=3, num_test=2, occlusion_levels=())
    assert info.root.name == "synthetic-seed0-" + info.root.name.split("-")[-1]
    again = generate_synthetic(tmp_path, seed=0, num_train=3, num_test=2, occlusion_levels=(), classes=None,
                               test_start=None, num_val=0, num_train_eval=0)
    assert again.root == info.root and sorted(p.name for p in tmp_path.iterdir()) == [info.root.name]


def test_class_subset_draws_only_those_classes_and_labels_them_in_order(tmp_path):
    info = generate_synthetic(tmp_path, seed=1, num_train=12, num_test=0, occlusion_levels=(),
                              classes=["ring", "star"])
    assert info.classes == ("ring", "star")
    names = set()
    for i in range(12):
        text = (info.voc_root / "Annotations" / f"train_{i:05d}.xml").read_text()
        names |= {line.strip()[6:-7] for line in text.splitlines() if line.strip().startswith("<name>")}
    assert names == {"ring", "star"}
    coco = json.loads(info.coco_annotations["train"].read_text())
    assert [c["name"] for c in coco["categories"]] == ["ring", "star"]
    with pytest.raises(ValueError, match="classes must be distinct names"):
        generate_synthetic(tmp_path, classes=["ring", "hexagon"])


def test_one_test_set_for_every_training_size_and_train_eval(tmp_path):
    small = generate_synthetic(tmp_path / "a", seed=0, num_train=4, num_test=3, occlusion_levels=(0.4,),
                               test_start=50, num_train_eval=2, num_val=2)
    large = generate_synthetic(tmp_path / "b", seed=0, num_train=9, num_test=3, occlusion_levels=(0.4,),
                               test_start=50)
    for split in ("test", "test_occ40"):
        for j in range(3):
            name = f"{split}_{j:05d}.jpg"
            assert filecmp.cmp(small.image_dir / name, large.image_dir / name, shallow=False), name
    for j in range(4):  # training scenes are nested: the first 4 of 9 are the 4
        name = f"train_{j:05d}.jpg"
        assert filecmp.cmp(small.image_dir / name, large.image_dir / name, shallow=False), name
    lists = small.voc_root / "ImageSets" / "Main"
    assert (lists / "train_eval.txt").read_text().split() == ["train_00000", "train_00001"]
    assert (lists / "val.txt").read_text().split() == ["val_00000", "val_00001"]
    # without test_start the test scenes follow the training ones: 4 training images move them
    moved = generate_synthetic(tmp_path / "c", seed=0, num_train=4, num_test=3, occlusion_levels=())
    assert not filecmp.cmp(moved.image_dir / "test_00000.jpg", small.image_dir / "test_00000.jpg", shallow=False)
    with pytest.raises(ValueError, match="test_start must be an integer >= num_train"):
        generate_synthetic(tmp_path, num_train=10, test_start=5)


def test_the_committed_regime_matrix(tmp_path):
    schemes = load_schemes(ROOT / "docs" / "study" / "regimes" / "matrix.yaml", tmp_path)
    assert schemes[0].label == "source" and not schemes[0].scored and schemes[0].seeds == 1
    regimes = {s.regime for s in schemes[1:]}
    assert regimes == {"N100 short scratch", "N100 long scratch", "N100 short pretrained", "N100 long pretrained"}
    for s in schemes[1:]:
        assert s.reference == f"baseline | {s.regime}" and s.seeds >= 3 and s.scored
        assert (s.after == "source") == ("pretrained" in s.regime)
        if s.after:
            assert s.overrides[-1] == f"model.weights_backbone={tmp_path}/runs/source_s0/checkpoint_last.pth"
    # every cell's config: 100 training images, one test set of 300 scenes from 10000, 3 classes
    for s in schemes[1:]:
        cfg = resolved_config(StudyRun(s, 0, tmp_path / s.name))
        d = cfg.data
        assert (d.synthetic_num_train, d.synthetic_num_test, d.synthetic_test_start) == (100, 300, 10000)
        assert list(d.synthetic_classes) == ["star", "cross", "ring"] and d.synthetic_num_train_eval == 100
    source = resolved_config(StudyRun(schemes[0], 0, tmp_path / "source"))
    assert list(source.data.synthetic_classes) == ["circle", "square", "triangle"] and source.data.synthetic_seed == 1


def test_the_committed_extension_matrix_adds_seeds_to_one_regime_only(tmp_path):
    schemes = load_schemes(ROOT / "docs" / "study" / "regimes" / "matrix_extension.yaml", tmp_path)
    seeds = {s.label: s.seeds for s in schemes}
    assert seeds == {"source": 1, "baseline | N100 short scratch": 5, "I+ORE | N100 short scratch": 5,
                     "baseline | N400 long pretrained": 3, "I+ORE | N400 long pretrained": 3}
    n400 = resolved_config(StudyRun(schemes[-1], 0, tmp_path / schemes[-1].name))
    assert (n400.data.synthetic_num_train, n400.data.synthetic_num_test, n400.data.synthetic_test_start) == (
        400, 300, 10000)
    assert n400.schedule.epochs == 10 and n400.model.weights_backbone.endswith("source_s0/checkpoint_last.pth")


def test_a_regime_with_a_bad_seed_count_is_refused(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("schemes: [{label: b, preset: p}]\nregimes: [{label: r, seeds: -1}]\n")
    with pytest.raises(UsageError, match=r"regimes\[0\]: seeds must be"):
        load_schemes(bad, tmp_path)


def test_a_session_records_the_machine_and_library_versions(tmp_path):
    run = StudyRun(Scheme("b", "p", seeds=1), 0, tmp_path / "run")
    record_provenance(run, NEW, ["detaug-train"])
    session = read_provenance(run.folder)[0]
    env = session["environment"]
    assert env["cpus"] >= 1 and env["cpu"] and env["python"].count(".") == 2
    assert env["torch"] and env["numpy"] == __import__("numpy").__version__


def test_a_run_waits_for_its_pretraining(tmp_path):
    def job(label: str, after: str = "") -> Job:
        code = f"import pathlib; p = pathlib.Path(r'{tmp_path}/order'); p.write_text(p.read_text() + '{label} ' " \
               "if p.exists() else '{label} ')".replace("{label}", label)
        return Job(StudyRun(Scheme(label, "p", after=after, reference=label), 0, tmp_path / label), NEW,
                   [sys.executable, "-c", code])

    # listed first, but needs "src": with two slots, "other" and "src" start first
    jobs = [job("fine", after="src"), job("src"), job("other")]
    train_runs(jobs, jobs=2, threads=1, out=tmp_path, log=lambda m: None)
    order = (tmp_path / "order").read_text().split()
    assert order.index("src") < order.index("fine") and len(order) == 3
    assert all(read_provenance(tmp_path / name)[0]["state"] == NEW for name in ("src", "fine", "other"))


def test_a_run_trained_by_other_code_is_not_reused_unless_allowed(tmp_path):
    run = StudyRun(Scheme("baseline", "synthetic_frcnn_small_baseline"), 0, tmp_path / "baseline_s0")
    cfg = resolved_config(run, ["data.root=/tmp/unused", "schedule.epochs=2"])
    from detaug.config import save_config

    run.folder.mkdir()
    save_config(cfg, run.folder / "config.yaml")
    (run.folder / "checkpoint_last.pth").write_bytes(b"not read")
    (run.folder / "metrics.jsonl").write_text(json.dumps({"type": "eval", "epoch": 2, "test": {"mAP": 0.5}}) + "\n")
    with pytest.raises(UsageError, match="code that recorded no provenance"):
        run_state(run, cfg)
    record_provenance(run, NEW, ["x"])
    assert run_state(run, cfg) == FINISHED
    record = json.loads((run.folder / PROVENANCE).read_text())
    assert record["sessions"][0]["code_hash"] and "commit" in record["sessions"][0]
    record["sessions"][0]["code_hash"] = "0123456789abcdef"
    (run.folder / PROVENANCE).write_text(json.dumps(record))
    with pytest.raises(UsageError, match="other detaug code 0123456789abcdef .*--allow-other-code"):
        run_state(run, cfg)
    assert run_state(run, cfg, allow_other_code=True) == FINISHED


def test_one_study_per_folder_at_a_time(tmp_path):
    with exclusive(tmp_path):
        with pytest.raises(UsageError, match=r"in use by another detaug-study \(pid \d+\)"):
            with exclusive(tmp_path):
                pass
    with exclusive(tmp_path):  # released
        pass


def test_an_invocation_is_in_the_ledger_from_its_start(tmp_path):
    index = record_invocation(tmp_path, {"command": "detaug-study", "status": "running"})
    ledger = read_ledger(tmp_path / "timings.json")
    assert ledger["_invocations"][index]["status"] == "running" and "code_hash" in ledger["_invocations"][0]["code"]
    record_invocation(tmp_path, {"status": "interrupted"}, index)
    item = read_ledger(tmp_path / "timings.json")["_invocations"][index]
    assert item["status"] == "interrupted" and item["command"] == "detaug-study" and "ended" in item
