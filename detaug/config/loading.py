"""Load, check and save training configs (YAML with ``_base_`` inheritance, via OmegaConf)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List, Mapping, Sequence, Union

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from detaug._urls import docs_page
from detaug.config.schema import (
    BACKENDS,
    DATASET_KINDS,
    DIST_BACKENDS,
    ERASING_MODES,
    LR_POLICIES,
    METRICS,
    DataConfig,
    TrainConfig,
)
from detaug.errors import ConfigError
from detaug.io import atomic_write_bytes
from detaug.safe_yaml import YAMLInputError, parse_yaml, read_yaml

PathLike = Union[str, os.PathLike]

#: Key naming the config(s) a YAML file extends: relative to the file's folder, or a preset's name.
BASE_KEY = "_base_"

#: The shipped presets (``detaug/configs/*.yaml``, package data), loadable by bare name.
PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs"


def _describe(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None)
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{key}: {msg}" if key else msg


def _read_config_file(path: Path) -> tuple:
    """``(its mapping without _base_, [base files])`` of one YAML file; the bases resolved
    next to it, else to the packaged presets they name."""
    try:
        data = read_yaml(path)
    except YAMLInputError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys (name: ..., data: ...), "
                          f"got {_kind(data)}")
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        bases = []
    elif isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise ConfigError(f"{path}: {BASE_KEY}: takes a config file name or a list of them (relative to this "
                          f"file's folder, or a packaged preset's name such as voc07_frcnn_r50_baseline), "
                          f"got {_short(bases)}")
    return data, [_base_path(path, b) for b in bases]


def _kind(value) -> str:
    return {list: "a list", str: "a single value (text)", int: "a number", float: "a number",
            bool: "true/false"}.get(type(value), type(value).__name__)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _base_path(config: Path, base: str) -> Path:
    """A ``_base_`` entry of ``config``: a file next to it, else the packaged preset it names."""
    path = (config.parent / base).resolve()
    if path.is_file():
        return path
    stem = base[: -len(Path(base).suffix)] if base.endswith((".yaml", ".yml")) else base
    if "/" not in base and os.sep not in base and (PRESETS_DIR / f"{stem}.yaml").is_file():
        return (PRESETS_DIR / f"{stem}.yaml").resolve()
    names = preset_names()
    raise ConfigError(f"{config}: {BASE_KEY}: {base!r} is neither a file next to it ({path} not found) nor a "
                      f"packaged preset ({', '.join(names) if names else 'none found'})")


def _read_yaml_chain(path: Path) -> List[tuple]:
    """Return [(file, its mapping)] from the farthest base to ``path`` itself.

    Each file is read once and merged once, at its first place in the order (bases
    before the files that list them, in the order listed): a base that several files
    extend (a diamond) is not merged again over what came after it. A cycle is an
    error naming it.
    """
    read: dict = {}
    order: List[tuple] = []

    def visit(file: Path, stack: tuple) -> None:
        if file in stack:
            chain = " -> ".join(str(p) for p in (*stack[stack.index(file):], file))
            raise ConfigError(f"{BASE_KEY} cycle: {chain}; a config cannot extend itself")
        if file in read:
            return
        read[file] = _read_config_file(file)
        for base in read[file][1]:
            visit(base, (*stack, file))
        order.append((file, read[file][0]))

    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    visit(path, ())
    return order


def preset_names() -> List[str]:
    """Names of the shipped presets (the stems of ``configs/*.yaml``), sorted."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")) if PRESETS_DIR.is_dir() else []


def resolve_config_path(path: PathLike) -> Path:
    """A config file: ``path`` itself if it exists, else the preset it names.

    A preset is named by its stem (``synthetic_frcnn_small_ire``) or its file name
    (``synthetic_frcnn_small_ire.yaml``), without a folder.

    Raises:
        ConfigError: neither a file nor a preset; the message lists the presets.
    """
    text = os.fspath(path)
    if Path(text).is_file():
        return Path(text)
    bare = "/" not in text and os.sep not in text
    stem = text[: -len(Path(text).suffix)] if text.endswith((".yaml", ".yml")) else text
    if bare and (PRESETS_DIR / f"{stem}.yaml").is_file():
        return PRESETS_DIR / f"{stem}.yaml"
    names = preset_names()
    what = f"unknown config preset {text!r}" if bare and stem == text else f"config file not found: {text}"
    raise ConfigError(f"{what}; presets: {', '.join(names) if names else '(none found)'} "
                      "(give a preset name or a path to a .yaml file)")


def _merge_source(cfg: DictConfig, source: Union[PathLike, Mapping, DictConfig]) -> DictConfig:
    """``cfg`` <- a saved config (a mapping) or a YAML file with its ``_base_`` chain."""
    if isinstance(source, (Mapping, DictConfig)):
        try:
            return OmegaConf.merge(cfg, source)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"saved config: {_describe(exc)}") from exc
    path = resolve_config_path(source)
    chain = _read_yaml_chain(path)
    for file, node in chain:
        try:
            cfg = OmegaConf.merge(cfg, node)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"{file}: {_describe(exc)}") from exc
    if "name" not in chain[-1][1]:
        # a variant that only changes (say) the erasing block is named after its file
        cfg.name = path.stem
    return cfg


def _apply_override(cfg: DictConfig, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    key, text = item.split("=", 1)
    try:  # the loader files are read with: no Python tags, aliases bounded
        value = parse_yaml(text, f"--set {item if len(item) <= 80 else item[:77] + '...'}") if text.strip() else ""
    except YAMLInputError as exc:
        raise ConfigError(str(exc)) from None
    _check_list_index(cfg, key, item)
    try:
        OmegaConf.update(cfg, key, value, merge=True)  # list items too: data.train.0.root=...
    except OmegaConfBaseException as exc:
        raise ConfigError(f"--set {item}: {_describe(exc)}") from exc
    except (TypeError, ValueError, IndexError) as exc:
        raise ConfigError(f"--set {item}: {exc}") from exc


def _check_list_index(cfg: DictConfig, key: str, item: str) -> None:
    """An override of a list item the config does not have (``data.train.0.split=...`` where
    ``data.train`` is empty) says so, instead of OmegaConf's type error about an empty dict."""
    node, path = cfg, []
    for part in key.split("."):
        if isinstance(node, ListConfig) and part.isdigit() and int(part) >= len(node):
            where = ".".join(path)
            raise ConfigError(f"--set {item}: {where} has {len(node)} item(s), so {where}.{part} does not exist; "
                              f"give the whole list instead, e.g. --set '{where}=[{{root: data/VOCdevkit/VOC2007, "
                              "split: trainval}]'")
        node = node.get(part) if isinstance(node, DictConfig) else (
            node[int(part)] if isinstance(node, ListConfig) and part.isdigit() else None)
        path.append(part)
        if node is None:
            return


def load_config(
    source: Union[PathLike, Mapping, DictConfig, None] = None,
    overrides: Iterable[str] = (),
    resolve: bool = True,
) -> DictConfig:
    """Load a training config: schema defaults <- ``source`` <- overrides.

    Args:
        source: a YAML file; a preset name such as ``"synthetic_frcnn_small_ire"`` (see
            :func:`resolve_config_path`); or a saved config, e.g. the ``config`` dict of a
            checkpoint (default None: the schema defaults alone). A file may name the
            file(s) it extends under ``_base_``: a path or a list, relative to the file,
            or the name of a packaged preset (``_base_: voc07_frcnn_r50_iore``, used when
            no such file is next to it). Later files override earlier ones key by key,
            lists are replaced; each file is merged once, at its first place (a base two
            files extend is not merged again). ``name`` defaults to the file's stem unless
            the file itself sets it. Files are read with :mod:`detaug.safe_yaml`.
        overrides: ``"key.sub=value"`` strings, applied last; values are YAML, read as
            files are.
        resolve: resolve ``${...}`` interpolations (default True).

    Returns:
        A structured ``DictConfig`` of :class:`~detaug.config.schema.TrainConfig`: assigning
        an unknown key or a wrong type to it later raises as well.

    Raises:
        ConfigError: naming the file and the key, for unknown keys, wrong types, invalid
            choices (with the valid ones), bad overrides or missing files.

    Examples:
        >>> cfg = load_config(overrides=["schedule.epochs=3"])
        >>> cfg.schedule.epochs, cfg.model.name
        (3, 'fasterrcnn_small')
        >>> load_config({"schedule": {"epochs": 5}}, ["seed=2"]).schedule.epochs
        5
        >>> load_config(overrides=["schedule.epoch=3"])
        Traceback (most recent call last):
        ...
        detaug.errors.ConfigError: --set schedule.epoch=3: schedule.epoch: Key 'epoch' not in 'ScheduleConfig'. Did you mean: 'epochs'?
    """
    cfg = OmegaConf.structured(TrainConfig)
    if source is not None:
        cfg = _merge_source(cfg, source)
    for item in overrides:
        _apply_override(cfg, item)
    if resolve:
        try:
            OmegaConf.resolve(cfg)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"cannot resolve interpolation: {_describe(exc)}") from exc
    validate_config(cfg)
    return cfg


def _choice(key: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"{key}: unknown value {value!r}; valid: {', '.join(map(repr, valid))}")


def validate_config(cfg: DictConfig) -> None:
    """Check values with a fixed set of choices and cross-field rules; raise ConfigError."""
    _check_choices(cfg)
    _check_ranges(cfg)
    _check_seeds(cfg)
    _check_output_paths(cfg)
    _check_splits(cfg)
    _check_erasing_args(cfg)


def _check_choices(cfg: DictConfig) -> None:
    from detaug.models import MODEL_NAMES

    _choice("data.kind", cfg.data.kind, DATASET_KINDS)
    _choice("model.name", cfg.model.name, MODEL_NAMES)
    _choice("augmentation.backend", cfg.augmentation.backend, BACKENDS)
    er = cfg.augmentation.erasing
    if isinstance(er.mode, str):  # mode names are case-insensitive everywhere, as in ErasingParams
        er.mode = er.mode.lower()
    _choice("augmentation.erasing.mode", er.mode, ERASING_MODES)
    _choice("schedule.policy", cfg.schedule.policy, LR_POLICIES)
    _choice("runtime.dist_backend", cfg.runtime.dist_backend, DIST_BACKENDS)
    _check_device_spec(cfg.runtime.device)
    _check_model_kwargs(cfg)
    if cfg.evaluation.metric:
        _choice("evaluation.metric", cfg.evaluation.metric, METRICS)
        if (cfg.evaluation.metric == "coco") != (cfg.data.kind == "coco"):
            raise ConfigError(
                f"evaluation.metric: {cfg.evaluation.metric!r} does not fit data.kind {cfg.data.kind!r} "
                "(coco data: 'coco'; VOC-layout and synthetic data: 'voc07' or 'voc2010'; empty: the dataset's own)"
            )


#: Numeric keys and the least value each may take.
_LOWER_BOUNDS = {
    **dict.fromkeys(("schedule.epochs", "data.batch_size", "data.test_batch_size", "optim.lr_batch",
                     "runtime.print_freq", "runtime.checkpoint_interval", "model.max_size"), 1),
    **dict.fromkeys(("optim.lr", "optim.weight_decay", "optim.momentum", "data.workers",
                     "data.aspect_ratio_group_factor", "schedule.warmup_iters", "evaluation.interval"), 0),
}


def _check_ranges(cfg: DictConfig) -> None:
    for key, least in _LOWER_BOUNDS.items():
        value = OmegaConf.select(cfg, key)
        if value < least:
            raise ConfigError(f"{key}: must be >= {least}, got {value}")
    sizes = cfg.model.min_size if OmegaConf.is_list(cfg.model.min_size) else [cfg.model.min_size]
    if not sizes or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sizes):
        raise ConfigError(f"model.min_size: must be an int >= 1 or a list of them, got {cfg.model.min_size}")
    if not 0 <= cfg.augmentation.hflip_p <= 1:
        raise ConfigError(f"augmentation.hflip_p: must be in [0, 1], got {cfg.augmentation.hflip_p}")
    if cfg.schedule.gamma <= 0:
        raise ConfigError(f"schedule.gamma: must be > 0, got {cfg.schedule.gamma}")
    if cfg.optim.clip_grad_norm is not None and cfg.optim.clip_grad_norm <= 0:
        raise ConfigError(f"optim.clip_grad_norm: must be > 0 or null, got {cfg.optim.clip_grad_norm}")
    if not 0 < cfg.schedule.warmup_factor <= 1:
        raise ConfigError(f"schedule.warmup_factor: must be in (0, 1], got {cfg.schedule.warmup_factor}")
    milestones = list(cfg.schedule.milestones)
    if milestones != sorted(milestones) or any(m < 1 for m in milestones):
        raise ConfigError(f"schedule.milestones: must be increasing epochs >= 1, got {milestones}")


#: Seeds must fit the generators they seed: NumPy's legacy seed takes 0 <= seed < 2**32.
SEED_RANGE = (0, 2**32 - 1)


def _check_seeds(cfg: DictConfig) -> None:
    lo, hi = SEED_RANGE
    for key in ("seed", "data.synthetic_seed"):
        value = OmegaConf.select(cfg, key)
        if not lo <= value <= hi:
            raise ConfigError(f"{key}: must be an integer from {lo} to {hi} (2**32 - 1), got {_short(value)}")


#: Longest file or folder name (bytes) most file systems take, and the longest path
#: ``output_dir`` may be: the system's limit less room for the files written inside it
#: (``predictions/epoch024/<split>/comp4_det_<split>_<class>.txt``, temporary names).
NAME_MAX = 255
_PATH_ROOM = 512


def _path_max() -> int:
    try:
        return os.pathconf("/", "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):
        return 4096


def _check_output_paths(cfg: DictConfig) -> None:
    """``name`` and ``output_dir`` must make a folder the system can create."""
    name = os.fsencode(str(cfg.name))
    if len(name) > NAME_MAX:
        raise ConfigError(f"name: {len(name)} bytes long; at most {NAME_MAX} (it names the run's folder; "
                          "give a shorter name with --set name=...)")
    try:
        out = os.fsencode(os.path.abspath(str(cfg.output_dir)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"output_dir: not a usable path: {exc}") from None
    longest = max((part for part in out.split(b"/")), key=len, default=b"")
    if len(longest) > NAME_MAX:
        raise ConfigError(f"output_dir: a folder name of {len(longest)} bytes ({_short(os.fsdecode(longest), 40)}); "
                          f"file systems take at most {NAME_MAX}")
    limit = _path_max() - _PATH_ROOM
    if len(out) > limit:
        raise ConfigError(f"output_dir: {len(out)} bytes long as an absolute path; at most {limit} (the "
                          f"system's {limit + _PATH_ROOM} less room for the files written inside it)")


def split_name(split) -> str:
    """The name a split goes by in tables and folders: ``name``, else ``split``, else the
    COCO annotation file's stem."""
    return split.name or split.split or Path(split.ann_file).stem


def _split_identity(kind: str, split) -> tuple:
    if kind == "coco":
        return (os.path.abspath(split.ann_file),)
    return (os.path.abspath(split.root) if split.root else "", split.split)


def _check_splits(cfg: DictConfig) -> None:
    """Every split complete for its kind, names unique, validation held out of test."""
    d = cfg.data
    if d.kind != "synthetic":
        for group, what in (("train", "training"), ("test", "test")):
            if not d[group]:
                raise ConfigError(f"data.{group}: {d.kind} needs at least one {what} split")
    for group in ("train", "val", "test"):
        for i, s in enumerate(d[group]):
            key = f"data.{group}[{i}]"
            if d.kind == "voc" and not (s.root and s.split):
                raise ConfigError(f"{key}: a VOC split needs 'root' and 'split'")
            if d.kind == "coco" and not (s.image_dir and s.ann_file):
                raise ConfigError(f"{key}: a COCO split needs 'image_dir' and 'ann_file'")
            if d.kind == "synthetic" and group == "val" and not s.split:
                raise ConfigError(f"{key}: a synthetic split needs 'split'")
        names = [split_name(s) for s in d[group]]
        if len(set(names)) != len(names):
            raise ConfigError(f"data.{group}: split names must be unique, got {names}")
    tests = {_split_identity(d.kind, s): split_name(s) for s in d.test}
    for i, s in enumerate(d.val):
        if _split_identity(d.kind, s) in tests:
            raise ConfigError(f"data.val[{i}]: is the test split {tests[_split_identity(d.kind, s)]!r}; a checkpoint "
                              "chosen on it would be chosen on the test set. Hold out a validation split (e.g. VOC2007 "
                              "'val', training on 'train'), or leave data.val empty to keep the last checkpoint")
    best = cfg.evaluation.best_split
    val_names = [split_name(s) for s in d.val]
    if best and best not in val_names:
        where = "a test split" if best in tests.values() else "not a split of data.val"
        raise ConfigError(f"evaluation.best_split: {best!r} is {where}; the best checkpoint is chosen on a "
                          f"validation split only (data.val: {val_names or 'none'})")


def check_data_paths(cfg: DictConfig, groups: Sequence[str] = ("train", "val", "test")) -> None:
    """Raise ConfigError if a split folder or file of ``groups`` does not exist (before any
    work starts; the synthetic set is generated, so it is not checked). The message names
    every missing path with the key that sets it.

    Examples:
        >>> cfg = load_config("voc07_frcnn_r50_iore", ["data.test.0.root=/nope"])
        >>> check_data_paths(cfg, ["test"])
        Traceback (most recent call last):
        ...
        detaug.errors.ConfigError: data.test.0.root: not found: /nope; point it at your data with --set data.test.0.root=PATH (how to obtain and lay out the data: https://detaug.github.io/detaug/training/)
    """
    if cfg.data.kind == "synthetic":
        return
    missing = []
    for group in groups:
        for i, s in enumerate(cfg.data[group]):
            for attr in ("root", "image_dir", "ann_file"):
                path = getattr(s, attr)
                if path and not Path(path).exists():
                    missing.append((f"data.{group}.{i}.{attr}", path))
    if not missing:
        return
    found = "; ".join(f"{key}: not found: {path}" for key, path in missing)
    sets = " ".join(f"{key}=PATH" for key, _ in missing)
    note = ""
    if cfg.data.root != DataConfig.root:
        note = (f" (data.root={cfg.data.root} is only where the synthetic set is generated; {cfg.data.kind} "
                "splits have a path each)")
    raise ConfigError(f"{found}; point {'it' if len(missing) == 1 else 'them'} at your data with --set {sets}{note} "
                      f"(how to obtain and lay out the data: {docs_page('training')})")


def _check_device_spec(spec: str) -> None:
    """``runtime.device`` must be ``auto`` or a torch device string (whether CUDA is
    present is checked by the training tool, which runs on the machine)."""
    import torch

    if spec == "auto":
        return
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ConfigError(f"runtime.device: invalid device {spec!r}; use auto, cpu, cuda or cuda:N") from exc
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"runtime.device: unsupported device {spec!r}; use auto, cpu, cuda or cuda:N")


#: Constructor arguments that the config sets itself or that cannot be written in YAML
#: (modules), so they are not valid under ``model.kwargs``.
_NOT_MODEL_KWARGS = {
    "self", "backbone", "num_classes", "weights", "weights_backbone", "trainable_backbone_layers",
    "rpn_anchor_generator", "rpn_head", "box_roi_pool", "box_head", "box_predictor",
}


def model_kwarg_names(name: str) -> List[str]:
    """The keys ``model.kwargs`` may hold for model ``name``: the named arguments of its
    builder, of torchvision's ``FasterRCNN`` (which the builders pass extra keywords to) and
    of ``GeneralizedRCNNTransform`` (which ``FasterRCNN`` passes its extra keywords to)."""
    import inspect

    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    from detaug.models.factory import model_builder

    names = set()
    for fn in (model_builder(name), FasterRCNN.__init__, GeneralizedRCNNTransform.__init__):
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
    return sorted(names - _NOT_MODEL_KWARGS)


def _check_model_kwargs(cfg: DictConfig) -> None:
    # torchvision's GeneralizedRCNNTransform accepts **kwargs and ignores what it does not
    # know, so a misspelt key would otherwise be dropped silently.
    valid = model_kwarg_names(cfg.model.name)
    for key in cfg.model.kwargs:
        if key not in valid:
            raise ConfigError(f"model.kwargs.{key}: not an argument of {cfg.model.name}; valid: {', '.join(valid)}")


def _check_erasing_args(cfg: DictConfig) -> None:
    erasing_params(cfg)
    if cfg.augmentation.extra:  # built here too, so a bad entry fails at load, not at the first sample
        from detaug.config.extra import build_extra

        build_extra(cfg)


#: Configs give constant fills in uint8 units (0-255), as the DataLoader workers erase
#: uint8 images; batched erasing on the device (``device: true``) writes into the float
#: batch in [0, 1], so :func:`erasing_params` multiplies constants by this for it.
DEVICE_FILL_SCALE = 1 / 255


def erasing_params(cfg: DictConfig):
    """The :class:`~detaug.erasing.ErasingParams` of ``cfg.augmentation.erasing`` (None for
    ``mode: none``): validated by the erasing core (one set of rules everywhere), its fills
    checked against the images they will be written into, and for ``device: true`` its
    constant fill in the float batch's units (:data:`DEVICE_FILL_SCALE`). Build it once
    and pass it on (the pipeline does).

    Raises:
        ConfigError: naming the key and the fault.

    Examples:
        >>> erasing_params(load_config(overrides=["augmentation.erasing.mode=ore"])).mode
        'ore'
        >>> cfg = load_config(overrides=["augmentation.erasing.mode=ire", "augmentation.erasing.device=true",
        ...                              "augmentation.erasing.fill=[255, 0, 51]"])
        >>> erasing_params(cfg).fill
        (1.0, 0.0, 0.2)
    """
    from detaug.erasing.params import ErasingParams, normalize_fill

    er = cfg.augmentation.erasing
    if er.mode == "none":
        return None
    kwargs = erasing_kwargs(cfg)
    try:
        kwargs["fill"] = normalize_fill(kwargs["fill"])
        _check_fills(kwargs["fill"], kwargs["fill_mask"], device=er.device)
        if er.device and not isinstance(kwargs["fill"], str):
            fill = kwargs["fill"]
            kwargs["fill"] = tuple(v * DEVICE_FILL_SCALE for v in fill) if isinstance(fill, tuple) else fill * DEVICE_FILL_SCALE
        params = ErasingParams(**kwargs)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"augmentation.erasing: {exc}") from exc
    if er.device and params.target_arguments:
        key = params.target_arguments[0]
        raise ConfigError(f"augmentation.erasing.device: batched erasing on the device never changes targets, so it "
                          f"cannot drop boxes, erase masks or mark keypoints ({key}={er[key]!r}); unset {key} or set "
                          "device to false")
    return params


def _check_fills(fill, fill_mask, device: bool) -> None:
    """Check the fills against the images they will be written into, with the fill
    module's own rules, so that a fill the pipeline cannot write fails at load time
    rather than on the first image.

    The DataLoader workers erase uint8 RGB images; ``device: true`` erases the float
    batch, where constants are still given in uint8 units (scaled by 1/255). Instance
    masks are uint8 ``[N, H, W]`` of 0/1 (their channel count varies, so only the range
    of ``fill_mask`` is checked).
    """
    import numpy as np

    from detaug.erasing.fill import resolve_fill
    from detaug.erasing.params import normalize_fill

    try:
        resolve_fill(fill, np.float32 if device and isinstance(fill, str) else np.uint8, 3)
    except TypeError as exc:  # a N(0, 1) fill on uint8 images
        raise ConfigError(f"augmentation.erasing.fill: {exc}; the training pipeline erases uint8 images: use random, "
                          "random_color, a constant in 0-255, or set augmentation.erasing.device=true (erasing on "
                          "the float batch)") from exc
    except ValueError as exc:
        raise ConfigError(f"augmentation.erasing.fill: {exc}; configs give constants in uint8 units (0-255, one "
                          "value or one per RGB channel), with or without augmentation.erasing.device") from exc
    if fill_mask is not None:
        mask_fill = normalize_fill(fill_mask, "fill_mask")
        try:
            resolve_fill(mask_fill, np.uint8, len(mask_fill) if isinstance(mask_fill, tuple) else 1)
        except ValueError as exc:
            raise ConfigError(f"augmentation.erasing.fill_mask: {exc}; instance masks are uint8: give a value "
                              "in 0-255 (0 marks the pixels background) or null") from exc


def erasing_kwargs(cfg: DictConfig) -> dict:
    """The keyword arguments of :class:`~detaug.erasing.ErasingParams` from ``cfg.augmentation.erasing``."""
    er = OmegaConf.to_container(cfg.augmentation.erasing, resolve=True)
    er.pop("device")
    for key in ("scale", "ratio", "count", "fill", "fill_mask"):
        if isinstance(er[key], list):
            er[key] = tuple(er[key])
    return er


def config_to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)


def save_config(cfg: DictConfig, path: PathLike) -> Path:
    """Write the resolved config as YAML, atomically (temporary file, then rename)."""
    path = Path(path)
    atomic_write_bytes(path, config_to_yaml(cfg).encode("utf-8"))
    return path
