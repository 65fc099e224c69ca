"""Config loading: every shipped config, inheritance, overrides and errors that name the key."""

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from detaug.config import ConfigError, load_config, save_config
from detaug.pipeline import build_transforms

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SHIPPED = sorted(p for p in CONFIGS.glob("*.yaml"))
FAMILIES = ["synthetic_frcnn_small", "voc07_frcnn_r50", "voc0712_frcnn_r50", "coco_frcnn_r50"]
MODES = {"baseline": "none", "ire": "ire", "ore": "ore", "iore": "i+ore"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert cfg.output_dir.endswith(path.stem)


@pytest.mark.parametrize("family", FAMILIES)
def test_variants_differ_only_in_erasing_and_name(family):
    cfgs = {v: OmegaConf.to_container(load_config(CONFIGS / f"{family}_{v}.yaml")) for v in MODES}
    for variant, cfg in cfgs.items():
        assert cfg["augmentation"]["erasing"]["mode"] == MODES[variant]
        assert cfg["augmentation"]["erasing"]["scale"] == [0.02, 0.2]  # the paper's s_l, s_h
        assert cfg["augmentation"]["erasing"]["image_p"] == cfg["augmentation"]["erasing"]["object_p"] == 0.5
        for key in ("name", "output_dir"):
            cfg.pop(key)
        cfg["augmentation"].pop("erasing")
    base = cfgs["baseline"]
    assert all(c == base for c in cfgs.values())
    # the variant files themselves hold nothing but _base_ and the erasing block
    for variant in ("ire", "ore", "iore"):
        raw = yaml.safe_load((CONFIGS / f"{family}_{variant}.yaml").read_text())
        assert set(raw) == {"_base_", "augmentation"} and set(raw["augmentation"]) == {"erasing"}


def test_default_config_is_iore_on_synthetic():
    cfg = load_config(CONFIGS / "synthetic_frcnn_small_iore.yaml")
    assert (cfg.data.kind, cfg.model.name, cfg.augmentation.erasing.mode) == ("synthetic", "fasterrcnn_small", "i+ore")


def test_voc07_uses_the_07_metric_and_trainval_to_test():
    cfg = load_config(CONFIGS / "voc07_frcnn_r50_iore.yaml")
    assert cfg.evaluation.metric == "voc07"
    assert [s.split for s in cfg.data.train] == ["trainval"] and [s.split for s in cfg.data.test] == ["test"]
    cfg = load_config(CONFIGS / "voc0712_frcnn_r50_baseline.yaml")
    assert [Path(s.root).name for s in cfg.data.train] == ["VOC2007", "VOC2012"]


def test_overrides_apply_and_parse_types():
    cfg = load_config(CONFIGS / "synthetic_frcnn_small_iore.yaml",
                      ["schedule.epochs=3", "optim.lr=0.5", "model.min_size=[96,128]", "name=x"])
    assert cfg.schedule.epochs == 3 and cfg.optim.lr == 0.5 and list(cfg.model.min_size) == [96, 128]
    assert cfg.output_dir == "runs/x"  # interpolation resolved after overrides


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (["optim.lrr=1"], "optim.lrr"),
        (["schedule.epochs=many"], "schedule.epochs"),
        (["model.name=yolo"], "fasterrcnn_resnet50_fpn"),  # lists the valid names
        (["augmentation.erasing.mode=xyz"], "'i+ore'"),
        (["data.kind=imagenet"], "'voc'"),
        (["augmentation.erasing.scale=[0.3,0.1]"], "augmentation.erasing"),
        (["augmentation.erasing.device=true", "augmentation.erasing.min_visibility=0.5"], "cannot drop boxes"),
        (["augmentation.erasing.device=true", "augmentation.erasing.fill_mask=0"], "(fill_mask=0); unset fill_mask"),
        (["augmentation.erasing.device=true", "augmentation.erasing.occlude_keypoints=true"],
         "(occlude_keypoints=True); unset"),
        (["schedule.milestones=[5,2]"], "schedule.milestones"),
        (["epochs"], "key=value"),
        (["evaluation.metric=coco"], "does not fit data.kind 'synthetic'"),
        # torchvision's GeneralizedRCNNTransform would swallow an unknown key silently
        (["model.kwargs.rpn_batch_size_per_imag=64"], "model.kwargs.rpn_batch_size_per_imag: not an argument of "
                                                      "fasterrcnn_small; valid: anchor_sizes"),
        (["model.name=fasterrcnn_resnet50_fpn", "model.kwargs.widths=[8]"], "model.kwargs.widths"),
        (["augmentation.hflip_p=2"], "augmentation.hflip_p: must be in [0, 1], got 2"),
        (["augmentation.hflip_p=-0.1"], "augmentation.hflip_p"),
        (["runtime.dist_backend=foo"], "runtime.dist_backend: unknown value 'foo'; valid: 'auto', 'nccl', 'gloo'"),
        (["runtime.device=gpu0"], "runtime.device: invalid device 'gpu0'"),
        (["schedule.gamma=0"], "schedule.gamma: must be > 0"),
        (["schedule.gamma=-0.1"], "schedule.gamma"),
        (["optim.momentum=-0.5"], "optim.momentum: must be >= 0"),
    ],
)
def test_bad_values_name_the_key(overrides, fragment):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(CONFIGS / "synthetic_frcnn_small_iore.yaml", overrides)
    assert fragment in str(info.value)


# Fills the training pipeline cannot write (it erases uint8 RGB images in the workers, the
# float batch with augmentation.erasing.device, constants in uint8 units either way):
# rejected when the config loads, not by a traceback on the first image.
#   overrides                                                     the error names
BAD_FILLS = [
    (["augmentation.erasing.fill=random_normal"], "augmentation.erasing.fill: fill='random_normal' draws N(0, 1)"),
    (["augmentation.erasing.fill=random_color_normal"], "set augmentation.erasing.device=true"),
    (["augmentation.erasing.fill=300"], "augmentation.erasing.fill: fill 300.0 is outside the range of uint8"),
    (["augmentation.erasing.fill=-1"], "uint8 units (0-255"),
    (["augmentation.erasing.fill=[1,2]"], "augmentation.erasing.fill: fill has 2 values but the image has 3"),
    (["augmentation.erasing.fill=300", "augmentation.erasing.device=true"], "augmentation.erasing.fill: fill 300.0"),
    (["augmentation.erasing.fill_mask=300"], "augmentation.erasing.fill_mask: fill 300.0 is outside the range of uint8"),
    (["augmentation.erasing.fill_mask=-1"], "instance masks are uint8"),
]
GOOD_FILLS = [
    ["augmentation.erasing.fill=random_color"],
    ["augmentation.erasing.fill=[124,116,104]"],
    ["augmentation.erasing.fill=255", "augmentation.erasing.fill_mask=0"],
    ["augmentation.erasing.fill=random_normal", "augmentation.erasing.device=true"],
    ["augmentation.erasing.mode=none", "augmentation.erasing.fill=300"],  # the baseline never erases
]


@pytest.mark.parametrize("overrides, fragment", BAD_FILLS)
def test_fills_the_pipeline_cannot_write_are_config_errors(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "synthetic_frcnn_small_iore.yaml", overrides)
    assert fragment in str(info.value)


@pytest.mark.parametrize("overrides", GOOD_FILLS)
def test_fills_the_pipeline_can_write_load(overrides):
    load_config(CONFIGS / "synthetic_frcnn_small_iore.yaml", overrides)


def test_model_kwargs_accept_builder_and_faster_rcnn_arguments():
    cfg = load_config(overrides=["model.kwargs={widths: [8, 8, 16, 16], rpn_batch_size_per_image: 64, size_divisible: 16}"])
    assert cfg.model.kwargs.widths == [8, 8, 16, 16]
    cfg = load_config(overrides=["model.name=fasterrcnn_resnet50_fpn", "model.kwargs.box_detections_per_img=50"])
    assert cfg.model.kwargs.box_detections_per_img == 50


def test_presets_by_name():
    cfg = load_config("synthetic_frcnn_small_ire", ["schedule.epochs=2"])
    assert (cfg.name, cfg.augmentation.erasing.mode, cfg.schedule.epochs) == ("synthetic_frcnn_small_ire", "ire", 2)
    with pytest.raises(ConfigError) as info:
        load_config("voc07_frcnn_r50_iorre")
    message = str(info.value)
    assert "unknown config preset 'voc07_frcnn_r50_iorre'" in message
    assert all(p.stem in message for p in SHIPPED)  # lists the valid names
    with pytest.raises(ConfigError, match="config file not found"):  # a path is not taken for a preset
        load_config("configs/voc07_frcnn_r50_iorre.yaml")


def test_unknown_key_in_file_names_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"_base_: {CONFIGS / 'synthetic_frcnn_small_iore.yaml'}\nschedule:\n  epoch: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "bad.yaml" in str(info.value) and "schedule.epoch" in str(info.value)


def test_wrong_type_in_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  batch_size: [1, 2]\n")
    with pytest.raises(ConfigError, match="data.batch_size"):
        load_config(bad)


def test_base_chain_later_wins_and_cycles_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("schedule:\n  epochs: 5\n  gamma: 0.5\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\nschedule:\n  epochs: 7\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert (cfg.schedule.epochs, cfg.schedule.gamma, cfg.name) == (7, 0.5, "b")
    (tmp_path / "c.yaml").write_text("_base_: d.yaml\n")
    (tmp_path / "d.yaml").write_text("_base_: c.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(CONFIGS / "voc07_frcnn_r50_ore.yaml", ["optim.clip_grad_norm=5"])
    path = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert not [p for p in path.parent.iterdir() if p.name != "config.yaml"]  # no temporary left
    again = load_config(path)
    assert OmegaConf.to_container(again) == OmegaConf.to_container(cfg)


def test_build_transforms_follows_the_erasing_block():
    cfg = load_config(CONFIGS / "synthetic_frcnn_small_baseline.yaml")
    assert [type(t).__name__ for t in build_transforms(cfg, train=True).transforms] == ["HorizontalFlip"]
    cfg = load_config(CONFIGS / "synthetic_frcnn_small_ore.yaml", ["augmentation.erasing.object_p=0.7"])
    erasing = build_transforms(cfg, train=True).transforms[-1]
    assert erasing.erasing.mode == "ore" and erasing.erasing.object_p == 0.7
    cfg = load_config(CONFIGS / "synthetic_frcnn_small_ire.yaml", ["augmentation.backend=torchvision"])
    names = [type(t).__name__ for t in build_transforms(cfg, train=True).transforms]
    assert names == ["RandomHorizontalFlip", "BoxAwareRandomErasing"]
    assert build_transforms(cfg, train=False) is None


def test_a_preset_file_name_loads_the_preset_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here: the name can only mean the shipped preset
    cfg = load_config("synthetic_frcnn_small_iore.yaml")
    assert (cfg.name, cfg.augmentation.erasing.mode) == ("synthetic_frcnn_small_iore", "i+ore")


@pytest.mark.parametrize("name", ["synthetic_frcnn_small_irre.yaml", "runs/mine.yaml", "synthetic_frcnn_small_irre"])
def test_a_config_that_is_not_found_lists_the_presets(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(name)
    message = str(info.value)
    assert name in message and all(p.stem in message for p in SHIPPED)


def test_a_saved_config_loads_without_a_file():
    saved = OmegaConf.to_container(load_config("voc07_frcnn_r50_ore", ["optim.lr=0.5"]), resolve=True)
    cfg = load_config(saved, ["schedule.epochs=2"])
    assert (cfg.name, cfg.optim.lr, cfg.schedule.epochs) == ("voc07_frcnn_r50_ore", 0.5, 2)
    with pytest.raises(ConfigError, match="saved config: schedule.epoch"):
        load_config({"schedule": {"epoch": 3}})


def test_lr_is_stated_for_a_reference_batch():
    # torchvision's references: 8 GPUs x 2 images; the synthetic presets: one process of 8
    for path in SHIPPED:
        cfg = load_config(path)
        assert cfg.optim.lr_batch == (8 if path.stem.startswith("synthetic") else 16), path.stem
    assert load_config("synthetic_frcnn_small_iore").optim.lr == 0.04
    with pytest.raises(ConfigError, match="optim.lr_batch: must be >= 1"):
        load_config(overrides=["optim.lr_batch=0"])


VAL = "data.val=[{name: voc07_val, root: data/VOCdevkit/VOC2007, split: val}]"


def test_the_best_checkpoint_is_chosen_on_validation_splits_only():
    cfg = load_config("voc07_frcnn_r50_iore", ["data.train.0.split=train", VAL])
    assert [s.split for s in cfg.data.val] == ["val"] and cfg.evaluation.best_split == ""
    assert load_config("voc07_frcnn_r50_iore", [VAL, "evaluation.best_split=voc07_val"])
    with pytest.raises(ConfigError, match="'voc07_test' is a test split; the best checkpoint is chosen on a "
                                          "validation split only"):
        load_config("voc07_frcnn_r50_iore", ["evaluation.best_split=voc07_test"])
    with pytest.raises(ConfigError, match="'nope' is not a split of data.val"):
        load_config("voc07_frcnn_r50_iore", [VAL, "evaluation.best_split=nope"])
    test_as_val = "data.val=[{name: held_out, root: data/VOCdevkit/VOC2007, split: test}]"
    with pytest.raises(ConfigError, match=r"data.val\[0\]: is the test split 'voc07_test'"):
        load_config("voc07_frcnn_r50_iore", [test_as_val])
    with pytest.raises(ConfigError, match=r"data.val\[0\]: a VOC split needs 'root' and 'split'"):
        load_config("voc07_frcnn_r50_iore", ["data.val=[{name: v, split: val}]"])


def test_data_paths_are_checked_per_group(tmp_path):
    from detaug.config import check_data_paths

    cfg = load_config("voc07_frcnn_r50_iore", [f"data.train.0.root={tmp_path}", "data.test.0.root=/nope"])
    check_data_paths(cfg, ["train"])
    with pytest.raises(ConfigError, match=r"data.test.0.root: not found: /nope"):
        check_data_paths(cfg)
    check_data_paths(load_config("synthetic_frcnn_small_iore"))  # generated on first use: nothing to check


def test_an_override_of_a_list_item_the_config_lacks_says_so():
    # the synthetic default has data.train == []: OmegaConf's own error spoke of an empty dict
    with pytest.raises(ConfigError, match=r"data\.train has 0 item\(s\), so data\.train\.0 does not exist; "
                                          r"give the whole list"):
        load_config(overrides=["data.train.0.split=train"])
    cfg = load_config(overrides=["data.train=[{split: train}]", "data.train.0.split=test"])
    assert cfg.data.train[0].split == "test"
