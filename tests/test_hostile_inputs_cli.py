"""Hostile and careless inputs to configs and commands: each is one clear error or a right result.

Issue 19, items 10, 11, 13, 16, 17 and 19: config loading (``_base_`` diamonds and cycles,
alias bombs in files and ``--set``, wrong types, extra transforms that need targets, too
long names, seeds out of range, large legitimate configs, presets as ``_base_``, the key
to set for a VOC preset's data), detaug-compare's run files, detaug-occlusion's and
detaug-vis's arguments (checked before any work), the commands named in messages, and the
whole run's ETA.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from _data_helpers import make_coco, make_voc
from PIL import Image

from detaug._urls import docs_page
from detaug.cli import compare, occlusion, visualize
from detaug.cli import train as train_det
from detaug.config import ConfigError, check_data_paths, load_config
from detaug.safe_yaml import MAX_NODES, YAMLInputError, parse_yaml

REPO = Path(__file__).resolve().parent.parent

#: 10 levels of 9 aliases each: 9**10 (3.5 billion) nodes from a few hundred bytes.
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
BOMB_FLOW = "{" + BOMB.strip().replace("\n", ", ") + "}"


def _fails(tool, capsys, argv, *fragments, prog="prog"):
    """Run ``tool`` in-process: exit 2 and one ``error:`` line holding every fragment."""
    assert tool.run(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(autouse=True)
def _prog(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog"])


# -- config loading -------------------------------------------------------------------------------

def test_a_base_diamond_reads_and_merges_each_file_once(tmp_path, monkeypatch):
    import detaug.config.loading as loading

    for i in range(20):  # each file lists the next twice: 2**20 paths, 21 files
        (tmp_path / f"c{i}.yaml").write_text(f"_base_: [c{i + 1}.yaml, c{i + 1}.yaml]\n")
    (tmp_path / "c20.yaml").write_text("seed: 3\nschedule: {epochs: 4}\n")
    (tmp_path / "c1.yaml").write_text("_base_: [c2.yaml, c2.yaml]\nschedule: {epochs: 5}\n")
    reads = []
    real = loading.read_yaml
    monkeypatch.setattr(loading, "read_yaml", lambda p: reads.append(Path(p).name) or real(p))
    cfg = load_config(tmp_path / "c0.yaml")
    assert sorted(reads) == sorted(f"c{i}.yaml" for i in range(21))  # each file once
    # c1 extends c2 ... c20; c20 is not merged again over c1's epochs
    assert (cfg.seed, cfg.schedule.epochs) == (3, 5)


def test_a_base_cycle_is_refused_naming_the_chain(tmp_path):
    (tmp_path / "a.yaml").write_text("_base_: b.yaml\n")
    (tmp_path / "b.yaml").write_text("_base_: [c.yaml]\n")
    (tmp_path / "c.yaml").write_text("_base_: b.yaml\n")
    with pytest.raises(ConfigError, match=r"_base_ cycle: .*b\.yaml -> .*c\.yaml -> .*b\.yaml"):
        load_config(tmp_path / "a.yaml")


@pytest.mark.parametrize("base", ["12345", "[a.yaml, 3]", "{x: 1}", "''"])
def test_a_base_of_the_wrong_type_names_base_and_what_it_takes(tmp_path, base):
    (tmp_path / "a.yaml").write_text(f"_base_: {base}\n")
    with pytest.raises(ConfigError, match=r"a\.yaml: _base_: takes a config file name or a list of them"):
        load_config(tmp_path / "a.yaml")


def test_a_packaged_preset_is_a_base_by_name_and_a_file_next_to_it_wins(tmp_path):
    (tmp_path / "mine.yaml").write_text("_base_: voc07_frcnn_r50_iore\nschedule: {epochs: 3}\n")
    cfg = load_config(tmp_path / "mine.yaml")
    assert (cfg.name, cfg.data.kind, cfg.augmentation.erasing.mode, cfg.schedule.epochs) == ("mine", "voc", "i+ore", 3)
    (tmp_path / "voc07_frcnn_r50_iore.yaml").write_text("seed: 7\n")  # a file of that name next to it comes first
    (tmp_path / "mine.yaml").write_text("_base_: voc07_frcnn_r50_iore.yaml\n")
    assert (load_config(tmp_path / "mine.yaml").data.kind, load_config(tmp_path / "mine.yaml").seed) == ("synthetic", 7)
    (tmp_path / "other.yaml").write_text("_base_: no_such_preset\n")
    with pytest.raises(ConfigError, match=r"'no_such_preset' is neither a file next to it .* nor a packaged preset "
                                          r"\(coco_frcnn_r50_baseline"):
        load_config(tmp_path / "other.yaml")


@pytest.mark.parametrize("value", [
    BOMB_FLOW,
    "[&a [x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a, *a, *a, *a, *a], &c [*b, *b, *b, *b, *b, *b, *b, *b], "
    "&d [*c, *c, *c, *c, *c, *c, *c, *c], [*d, *d, *d, *d, *d, *d, *d, *d]]",
])
def test_an_alias_bomb_in_set_is_refused_as_in_a_file(tmp_path, value):
    with pytest.raises(ConfigError, match=r"--set data.classes=.*: not valid YAML .*aliases \(\*name\) expand"):
        load_config(overrides=[f"data.classes={value}"])
    (tmp_path / "bomb.yaml").write_text(BOMB)
    with pytest.raises(ConfigError, match=r"bomb\.yaml: not valid YAML \(line 1, column 1: aliases"):
        load_config(tmp_path / "bomb.yaml")


@pytest.mark.parametrize("value", ["!!python/object/apply:os.system [echo hi]", "&a [*a]", "[1, 2"])
def test_set_values_are_read_by_the_safe_loader(value):
    with pytest.raises(ConfigError, match=r"--set data.classes=.*: not valid YAML \(line [12], column"):
        load_config(overrides=[f"data.classes={value}"])


def test_a_legitimate_config_over_ten_thousand_nodes_is_read():
    # OmegaConf.load refuses more than 10,000 nodes with an alias-expansion message;
    # detaug's loader limits alias expansion by ratio and takes up to MAX_NODES values
    names = [f"c{i}" for i in range(10_500)]
    assert parse_yaml("classes: [" + ", ".join(names) + "]", "x") == {"classes": names}
    with pytest.raises(YAMLInputError, match="more than 1,000,000 values"):
        parse_yaml("[" + "1," * (MAX_NODES + 1) + "]", "x")


def test_a_legitimate_config_over_ten_thousand_nodes_loads(tmp_path):
    names = [f"c{i}" for i in range(10_100)]
    (tmp_path / "many.yaml").write_text("data:\n  classes: [" + ", ".join(names) + "]\n")
    assert list(load_config(tmp_path / "many.yaml").data.classes) == names


@pytest.mark.parametrize("name, needs", [
    ("MaskDropout", "needs mask"), ("FDA", "needs fda_metadata"), ("HistogramMatching", "needs hm_metadata"),
    ("PixelDistributionAdaptation", "needs pda_metadata"), ("ConstrainedCoarseDropout", "needs bboxes or mask"),
])
def test_extra_transforms_needing_targets_are_refused_at_load(name, needs):
    entry = f"augmentation.extra=[{{__class_fullname__: CoarseDropout, p: 1.0}}, {{__class_fullname__: {name}, p: 1.0}}]"
    with pytest.raises(ConfigError, match=rf"augmentation\.extra\[1\] \({name}\): {needs} besides the image"):
        load_config(overrides=[entry])


@pytest.mark.parametrize("override, message", [
    ("name=" + "n" * 300, r"name: 300 bytes long; at most 255"),
    ("output_dir=" + "/d" * 2500, r"output_dir: 5000 bytes long as an absolute path; at most"),
    ("output_dir=runs/" + "x" * 300, r"output_dir: a folder name of 300 bytes"),
    ("seed=1180591620717411303424", r"seed: must be an integer from 0 to 4294967295"),
    ("seed=-1", r"seed: must be an integer from 0 to 4294967295 \(2\*\*32 - 1\), got -1"),
    ("data.synthetic_seed=4294967296", r"data.synthetic_seed: must be an integer from 0"),
])
def test_names_paths_and_seeds_the_run_cannot_use_are_refused_naming_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[override])
    load_config(overrides=["seed=4294967295", "name=" + "n" * 255])  # the limits themselves are fine


def test_a_voc_preset_pointed_at_data_root_names_the_keys_to_set(tmp_path):
    cfg = load_config("voc07_frcnn_r50_iore", [f"data.root={tmp_path}"])
    with pytest.raises(ConfigError) as info:
        check_data_paths(cfg)
    msg = str(info.value)
    assert "data.train.0.root: not found: data/VOCdevkit/VOC2007" in msg
    assert "--set data.train.0.root=PATH data.test.0.root=PATH" in msg
    assert f"data.root={tmp_path} is only where the synthetic set is generated" in msg
    assert docs_page("training") in msg and "docs/training.md" not in msg


def test_a_file_that_is_not_a_config_is_refused_without_echoing_it(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon: [oops\n")
    (tmp_path / "a.yaml").write_text(f"_base_: {secret}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "a.yaml")
    assert "not valid YAML (line 2" in str(info.value) and "root:x" not in str(info.value)
    (tmp_path / "bin.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(ConfigError, match=r"bin\.yaml: not a YAML file \(not UTF-8 text\)"):
        load_config(tmp_path / "bin.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: a config must be a mapping of keys .*, got a list"):
        load_config(tmp_path / "list.yaml")


@pytest.mark.parametrize("argv, fragments", [
    (["--set", f"data.classes={BOMB_FLOW}"], ["aliases (*name) expand"]),
    (["--set", "seed=1180591620717411303424"], ["seed: must be an integer from 0 to 4294967295"]),
    (["--set", "name=" + "n" * 300], ["name: 300 bytes long"]),
    (["--set", "augmentation.extra=[{__class_fullname__: FDA, p: 1.0}]"], ["augmentation.extra[0] (FDA): needs"]),
    (["--config", "voc07_frcnn_r50_iore", "--set", "data.root=/tmp"], ["--set data.train.0.root=PATH"]),
])
def test_the_training_tool_exits_2_with_one_line(capsys, argv, fragments):
    _fails(train_det, capsys, argv, *fragments)


def test_the_training_tool_refuses_a_config_with_a_bad_base(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("_base_: 12345\n")
    _fails(train_det, capsys, ["--config", str(tmp_path / "a.yaml")], "_base_: takes a config file name")


# -- messages name the installed commands and the docs site ---------------------------------------

def test_messages_and_help_name_the_installed_commands():
    sources = {p: p.read_text() for p in (REPO / "detaug").rglob("*.py")}
    for path, text in sources.items():
        assert "python tools/train_det.py --resume" not in text, path
        assert "detaug train_det" not in text, path
    epilog = train_det.get_args_parser().epilog
    examples = [line.strip() for line in epilog.splitlines() if line.startswith("    ")]
    assert examples and all(line.startswith(("detaug-train", "torchrun --nproc_per_node=8 -m detaug.cli.train"))
                            for line in examples), examples
    assert "detaug-train --resume" in epilog and docs_page("training") in epilog and "docs/" not in epilog
    assert docs_page("occlusion") in occlusion.get_args_parser().epilog


# -- the whole run's ETA ----------------------------------------------------------------------------

def test_progress_lines_give_the_epochs_and_the_whole_runs_eta(monkeypatch):
    from detaug.engine import logging as run_logging

    clock = iter([0.0] + [10.0] * 10)
    monkeypatch.setattr(run_logging.time, "time", lambda: next(clock))
    lines = []
    progress = run_logging.Progress(20, "epoch 1", mode="plain", print_freq=10, write=lines.append, after=100)
    for _ in range(10):
        progress.update(loss=1.0)
    # 10 steps in 10 s: 10 steps left in the epoch, 110 in the run
    assert lines == ["epoch 1 [10/20] loss 1.0000 1.00 it/s eta 0:00:10 (run 0:01:50)"]


# -- detaug-compare ---------------------------------------------------------------------------------

def _run_folder(folder: Path, config: Optional[str] = None, metrics: Optional[bytes] = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(config if config is not None else
                                        "name: r\nseed: 0\naugmentation:\n  erasing:\n    mode: ire\n")
    records = [{"type": "eval", "epoch": 1, "test": {"mAP": 0.5}, "occluded": {"mAP": 0.25}}]
    (folder / "metrics.jsonl").write_bytes(metrics if metrics is not None else
                                           "".join(json.dumps(r) + "\n" for r in records).encode())
    return folder


@pytest.mark.parametrize("config, fragments", [
    ("name: [unclosed\n", ["config.yaml: not valid YAML (line 2"]),
    ("name: !!python/object/apply:os.system [ls]\n", ["config.yaml: not valid YAML", "Python tags"]),
    (BOMB, ["config.yaml: not valid YAML", "aliases (*name) expand"]),
    ("- 1\n- 2\n", ["config.yaml: a run's config must be a mapping", "got list"]),
    ("augmentation: [1, 2]\n", ["config.yaml: augmentation: must be a mapping, got list"]),
    ("augmentation: {erasing: 3}\n", ["config.yaml: augmentation.erasing: must be a mapping"]),
    ("augmentation: {extra: [{transform: x}]}\n", ["config.yaml: augmentation.extra[0]: must be a transform"]),
    ("seed: abc\n", ["config.yaml: seed: must be an integer, got 'abc'"]),
])
def test_compare_refuses_a_bad_run_config_naming_file_and_field(tmp_path, capsys, config, fragments):
    run = _run_folder(tmp_path / "r", config=config)
    _fails(compare, capsys, [str(run)], str(run / "config.yaml"), *fragments)


@pytest.mark.parametrize("metrics, fragments", [
    (b'{"type": "eval", "epoch": 1, "test": {"mAP": 0.5}}\n[1, 2]\n{"type": "train"}\n',
     ["metrics.jsonl: line 2: a record must be a JSON object, got list"]),
    (b'"text"\n', ["metrics.jsonl: line 1: a record must be a JSON object, got str"]),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00", ["metrics.jsonl: not a metrics file (not UTF-8 text)"]),
    (b'{"type": "eval"\n{"type": "eval", "epoch": 1}\n', ["metrics.jsonl: line 1: not JSON"]),
    (b'{"type": "eval", "epoch": "abc", "test": {"mAP": 0.5}}\n', ["metrics.jsonl: line 1: epoch: must be an integer"]),
])
def test_compare_refuses_a_bad_metrics_file_naming_file_and_record(tmp_path, capsys, metrics, fragments):
    run = _run_folder(tmp_path / "r", metrics=metrics)
    _fails(compare, capsys, [str(run)], *fragments)


def test_compare_reads_a_metrics_file_whose_last_line_was_cut(tmp_path, capsys):
    good = b'{"type": "eval", "epoch": 2, "test": {"mAP": 0.5}}\n{"type": "eval", "epo'
    run = _run_folder(tmp_path / "r", metrics=good)
    assert compare.run([str(run)]) == 0
    assert "| IRE | 1 | 50.0 |" in capsys.readouterr().out


def test_compare_refuses_a_bad_out_before_reading_runs(tmp_path, capsys):
    missing = str(tmp_path / "no_such_run")
    _fails(compare, capsys, [missing, "--out", str(tmp_path)], f"--out {tmp_path}: is a folder")
    (tmp_path / "file").write_text("x")
    _fails(compare, capsys, [missing, "--out", str(tmp_path / "file" / "t.md")], "is a file, not a folder")
    _fails(compare, capsys, [missing, "--out", str(tmp_path / "nope" / "t.md")], "does not exist; create it first")
    assert not (tmp_path / "nope").exists()


def test_compare_refuses_an_unknown_split_listing_the_available_ones(tmp_path, capsys):
    run = _run_folder(tmp_path / "r")
    _fails(compare, capsys, [str(run), "--splits", "tset"],
           "--splits: no run has a split 'tset'; the runs have: test, occluded. Did you mean 'test'?")
    assert compare.run([str(run), "--splits", "occluded"]) == 0


# -- detaug-occlusion: arguments before any checkpoint is read --------------------------------------

@pytest.mark.parametrize("extra, fragments", [
    (["--batch-size", "-1"], ["--batch-size: must be at least 1, got -1"]),
    (["--batch-size", "0"], ["--batch-size: must be at least 1, got 0"]),
    (["--workers", "-1"], ["--workers: must be at least 0, got -1"]),
    (["--seeds", "-3"], ["--seeds: seeds go from 0 to 4294967295"]),
    (["--device", "tpu"], ["--device: unknown device 'tpu'"]),
    (["--names", ""], ["--names: a name cannot be empty"]),
])
def test_occlusion_checks_cheap_arguments_before_any_work(tmp_path, capsys, extra, fragments):
    # the checkpoint does not exist: the argument's error comes first
    _fails(occlusion, capsys, [str(tmp_path / "missing.pth"), "--out", str(tmp_path / "o"), *extra], *fragments)


def test_occlusion_refuses_an_out_file_and_a_data_root_file_before_any_work(tmp_path, capsys):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    missing = str(tmp_path / "missing.pth")
    _fails(occlusion, capsys, [missing, "--out", str(afile)], f"--out {afile}: is a file; give a folder")
    _fails(occlusion, capsys, [missing, "--out", str(afile / "sub")], f"is inside {afile}, which is a file")
    _fails(occlusion, capsys, [missing, "--out", str(tmp_path / "o"), "--data-root", str(afile)],
           f"--data-root {afile}: is a file")


def test_occlusion_names_runs_by_their_names(tmp_path):
    folders = [tmp_path / n for n in ("a", "b", "c")]
    for f in folders:
        f.mkdir()
    args = occlusion.get_args_parser().parse_args([*map(str, folders), "--names", "base", "iore", "base"])
    assert [(t.run, t.scheme) for t in occlusion._trained(args)] == [
        ("base#1", "base"), ("iore", "iore"), ("base#2", "base")]
    args = occlusion.get_args_parser().parse_args([str(folders[0]), str(folders[1])])
    assert [t.run for t in occlusion._trained(args)] == ["a", "b"]


# -- detaug-vis: arguments before any work, the output's format, missing images -------------------

@pytest.fixture
def voc(tmp_path):
    root = make_voc(tmp_path / "VOCdevkit", [("000001", (64, 48), [("dog", 5, 5, 40, 40, 0)])])
    return root / "JPEGImages", root / "Annotations"


def test_vis_refuses_bad_out_paths_before_any_work(tmp_path, capsys, voc):
    base = ["--images", str(voc[0]), "--annotations", str(voc[1]), "--num", "1"]
    _fails(visualize, capsys, [*base, "--out", str(tmp_path)], f"--out {tmp_path}: is a folder")
    _fails(visualize, capsys, [*base, "--out", str(tmp_path / "nope" / "x.png")],
           f"the folder {tmp_path / 'nope'} does not exist; create it first")
    assert not (tmp_path / "nope").exists()
    _fails(visualize, capsys, [*base, "--out", str(tmp_path / "x.txt")], ".txt is not an image format; end the name "
                                                                          "with .png, .jpg")
    _fails(visualize, capsys, [*base, "--seed", "-1"], "--seed: seeds go from 0")
    _fails(visualize, capsys, ["--images", str(tmp_path / "none"), "--annotations", str(voc[1])],
           f"--images {tmp_path / 'none'}: not found")


@pytest.mark.parametrize("suffix, magic, fmt", [(".jpg", b"\xff\xd8", "JPEG"), (".png", b"\x89PNG", "PNG"),
                                                (".webp", b"RIFF", "WEBP")])
def test_vis_writes_the_format_its_suffix_names(tmp_path, capsys, voc, suffix, magic, fmt):
    out = tmp_path / f"grid{suffix}"
    assert visualize.run(["--images", str(voc[0]), "--annotations", str(voc[1]), "--num", "1", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    with Image.open(out) as im:
        assert im.format == fmt and im.size[0] > 0


def test_vis_reports_a_coco_image_file_that_is_missing(tmp_path, capsys):
    img_dir, ann = make_coco(tmp_path, [{"id": 1, "width": 32, "height": 32}],
                             [{"image_id": 1, "category_id": 1, "bbox": [2, 2, 20, 20]}],
                             [{"id": 1, "name": "dog"}], write_images=False)
    line = _fails(visualize, capsys, ["--images", str(img_dir), "--annotations", str(ann), "--num", "1",
                                      "--out", str(tmp_path / "x.png")], "000001.jpg", "image of COCO image id 1 not found")
    assert "check --images" in line
    assert not (tmp_path / "x.png").exists()
    np.testing.assert_equal(sorted(p.name for p in tmp_path.iterdir()), ["images", "instances.json"])
