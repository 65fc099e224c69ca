"""The training configuration schema: typed dataclasses that OmegaConf checks every file against.

Every key a config may hold is declared here, with its type and default. Loading merges YAML
files (and ``--set`` overrides) into ``OmegaConf.structured(TrainConfig)``, so an unknown key
or a value of the wrong type is an error that names the key (see :mod:`detaug.config.loading`).
Values with a fixed set of choices (dataset kind, model name, erasing mode, ...) are checked by
:func:`detaug.config.loading.validate_config`, which lists the valid choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, Dict, List, Optional, Tuple, get_args, get_origin, get_type_hints

from detaug.erasing.params import MODES, ErasingParams
from detaug.evaluation.metrics import METRIC_DESCRIPTIONS, METRICS  # noqa: F401 (the config's choices)

#: Dataset kinds the training tool can build.
DATASET_KINDS = ("synthetic", "voc", "coco")
#: Erasing modes; ``"none"`` is the baseline (no erasing).
ERASING_MODES = ("none", *MODES)
#: Learning-rate policies after the warm-up.
LR_POLICIES = ("multistep", "cosine")
#: Transform front-ends the pipeline can be built with.
BACKENDS = ("albumentations", "torchvision")
#: Distributed backends (``runtime.dist_backend``).
DIST_BACKENDS = ("auto", "nccl", "gloo")


@dataclass
class SplitConfig:
    """One split of a dataset.

    VOC (and the synthetic set): ``root`` is a ``VOCdevkit/VOC20xx`` folder and ``split`` a
    name from ``ImageSets/Main``. COCO: ``image_dir`` and ``ann_file``. The synthetic set
    fills ``root`` itself; there only ``split`` (``train``, ``test``, ``occluded``) matters.
    ``name`` labels the split in result tables and prediction folders.
    """

    name: str = ""
    root: str = ""
    split: str = ""
    image_dir: str = ""
    ann_file: str = ""


@dataclass
class DataConfig:
    kind: str = "synthetic"
    #: Synthetic: the folder the set is generated into (on first use). Otherwise unused.
    root: str = "data/synthetic"
    #: Synthetic: the generator's seed and number of training / test images.
    synthetic_seed: int = 0
    synthetic_num_train: int = 240
    synthetic_num_test: int = 80
    #: Synthetic: the shapes to draw (a subset of circle, square, triangle, star, cross,
    #: ring; empty = all six); the scene index of the first test image (null: right after
    #: the training images; set it to keep one test set across training-set sizes); images
    #: in a ``val`` split; training images listed again as ``train_eval`` (scored unaugmented).
    synthetic_classes: List[str] = field(default_factory=list)
    synthetic_test_start: Optional[int] = None
    synthetic_num_val: int = 0
    synthetic_num_train_eval: int = 0
    #: Class names; empty = the dataset's default (the 20 VOC classes, the COCO categories,
    #: the synthetic shapes).
    classes: List[str] = field(default_factory=list)
    train: List[SplitConfig] = field(default_factory=list)
    #: Validation splits, held out of the training data: the best checkpoint is chosen
    #: on them (the first, or ``evaluation.best_split``). Empty: no selection, the last
    #: checkpoint is the result.
    val: List[SplitConfig] = field(default_factory=list)
    #: Test splits: reported, never used to choose a checkpoint.
    test: List[SplitConfig] = field(default_factory=list)
    #: VOC: keep "difficult" objects as training targets (the reference code drops them).
    keep_difficult: bool = False
    #: Images per process (per GPU) and per step.
    batch_size: int = 2
    test_batch_size: int = 2
    workers: int = 2
    #: Aspect-ratio grouping of training batches (0 = off), as the torchvision references.
    aspect_ratio_group_factor: int = 3


@dataclass
class ModelConfig:
    name: str = "fasterrcnn_small"
    #: Detector weights: a torchvision weight name (e.g. "COCO_V1", "DEFAULT") or a local file.
    weights: Optional[str] = None
    #: Backbone weights: a torchvision weight name (e.g. "IMAGENET1K_V1") or a local file.
    weights_backbone: Optional[str] = None
    trainable_backbone_layers: Optional[int] = None
    #: Resizing done inside the model (GeneralizedRCNNTransform): shorter side ``min_size``
    #: (an int, or a list to draw from per training image: multi-scale training; the last
    #: one is used at test time), longer side at most ``max_size``.
    min_size: Any = 800
    max_size: int = 1333
    #: Further keyword arguments for the torchvision constructor (e.g. rpn_batch_size_per_image).
    kwargs: Dict[str, Any] = field(default_factory=dict)


def _config_type(annotation: Any) -> Any:
    """The OmegaConf type of an :class:`ErasingParams` field: a plain type as itself, a
    pair of floats as a list, anything else (unions, mappings) as ``Any`` (the erasing
    core checks it when the config is turned into :class:`ErasingParams`)."""
    if annotation in (str, int, float, bool):
        return annotation
    if get_origin(annotation) is tuple and get_args(annotation) and all(a is float for a in get_args(annotation)):
        return List[float]
    return Any


def _erasing_fields() -> List[Tuple[str, Any, Any]]:
    """The config's erasing keys: every field of :class:`ErasingParams` with its default
    (``mode`` with the config's ``"none"`` baseline), then ``device``."""
    hints = get_type_hints(ErasingParams)
    out: List[Tuple[str, Any, Any]] = []
    for f in fields(ErasingParams):
        default = "none" if f.name == "mode" else f.default
        value = field(default_factory=lambda d=default: list(d)) if isinstance(default, tuple) else field(default=default)
        out.append((f.name, _config_type(hints[f.name]), value))
    out.append(("device", bool, field(default=False)))
    return out


#: ``augmentation.erasing``: generated from :class:`~detaug.erasing.ErasingParams` (the
#: one list of the erasing arguments, their defaults and their documentation), plus
#: ``mode: none`` for the baseline and ``device``.
ErasingConfig = make_dataclass("ErasingConfig", _erasing_fields())
ErasingConfig.__module__ = __name__
ErasingConfig.__doc__ = """``augmentation.erasing``: the arguments of :class:`detaug.erasing.ErasingParams`,
    with its defaults and meanings (generated from its fields), plus:

    - ``mode``: also ``"none"``, the baseline (no erasing), which is the default here.
    - ``fill``, ``fill_mask``: constants in the image's units, 0-255 (the training pipeline
      erases uint8 images; with ``device: true`` they stay in these units and are scaled to
      the float batch, see :data:`detaug.config.loading.DEVICE_FILL_SCALE`).
    - ``device``: batched erasing on the training device
      (:class:`detaug.BatchedBoxAwareRandomErasing`) instead of in the DataLoader workers,
      for pipelines whose CPU workers are the bottleneck. Default False.
    """


@dataclass
class AugmentationConfig:
    backend: str = "albumentations"
    hflip_p: float = 0.5
    erasing: ErasingConfig = field(default_factory=ErasingConfig)
    #: Extra albumentations transforms in albumentations' serialisation format (A.to_dict /
    #: A.from_dict), run in order after the flip and before erasing, on the image only
    #: (boxes stay as they are); albumentations backend only. See detaug.config.extra.
    extra: List[Any] = field(default_factory=list)


@dataclass
class OptimConfig:
    #: Learning rate for a step of ``lr_batch`` images. The training tool scales it
    #: linearly to the global batch (processes x data.batch_size) and logs what it uses.
    lr: float = 0.02
    #: The batch ``lr`` is meant for (16: 8 GPUs x 2 images, as torchvision's references).
    lr_batch: int = 16
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    #: Clip the gradient norm to this value (null = no clipping).
    clip_grad_norm: Optional[float] = None


@dataclass
class ScheduleConfig:
    epochs: int = 26
    policy: str = "multistep"
    #: Multistep: epochs after which the lr is multiplied by ``gamma``.
    milestones: List[int] = field(default_factory=lambda: [16, 22])
    gamma: float = 0.1
    #: Cosine: the final lr as a fraction of the initial one.
    min_lr_factor: float = 0.0
    #: Linear warm-up from ``warmup_factor * lr`` over the first iterations.
    warmup_iters: int = 1000
    warmup_factor: float = 0.001


@dataclass
class EvaluationConfig:
    #: Empty = the dataset's own: voc07 for VOC2007, voc2010 (all-point) for other VOC years
    #: and the synthetic set, coco for COCO.
    metric: str = ""
    #: Evaluate every N epochs (and always after the last one); 0 = only at the end.
    #: With ``data.val`` these evaluations are on the validation splits; the test
    #: splits are evaluated once, at the end, with the chosen checkpoint.
    interval: int = 1
    #: The ``data.val`` split whose metric chooses the best checkpoint (default: the
    #: first). Test splits are never used to choose.
    best_split: str = ""
    #: Write predictions in the devkit / COCO results formats.
    save_predictions: bool = True


@dataclass
class RuntimeConfig:
    #: "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    #: Mixed precision; only used on CUDA.
    amp: bool = True
    #: Deterministic algorithms (slower on GPU); CPU runs are deterministic anyway.
    deterministic: bool = False
    #: Plain log line every N iterations when output is not a terminal.
    print_freq: int = 20
    #: Save the last checkpoint every N epochs (always at the end and on interruption).
    checkpoint_interval: int = 1
    tensorboard: bool = True
    #: Distributed backend: "auto" = NCCL on GPUs, Gloo on CPU; or "nccl" / "gloo".
    dist_backend: str = "auto"


@dataclass
class TrainConfig:
    name: str = "detaug"
    seed: int = 0
    output_dir: str = "runs/${name}"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
