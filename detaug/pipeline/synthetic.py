"""The built-in synthetic set of a config: generated on first use, split names resolved."""

from __future__ import annotations

from typing import Any, List

from omegaconf import DictConfig, OmegaConf

from detaug.config.loading import ConfigError


def prepare_synthetic(cfg: DictConfig):
    """Generate the synthetic set into ``data.root`` if needed; return its info
    (a :class:`~detaug.data.SyntheticDatasetInfo`)."""
    from detaug.data import generate_synthetic

    d = cfg.data
    try:
        return generate_synthetic(d.root, seed=d.synthetic_seed, num_train=d.synthetic_num_train,
                                  num_test=d.synthetic_num_test, classes=list(d.synthetic_classes),
                                  test_start=d.synthetic_test_start, num_val=d.synthetic_num_val,
                                  num_train_eval=d.synthetic_num_train_eval)
    except ValueError as exc:
        raise ConfigError(f"data.synthetic_*: {exc}") from None


def synthetic_splits(cfg: DictConfig, group: str, info: Any) -> List[Any]:
    """The ``data.train``, ``data.val`` or ``data.test`` splits of a synthetic config, with ``root`` filled in.

    Without splits in the config: train = ``train``; test = ``test`` (clean) and
    ``occluded`` (the generator's ``test_occluded``); val = none.

    Raises:
        ConfigError: a split the generated set does not have, with the valid ones.
    """
    from detaug.config.schema import SplitConfig

    given = list(cfg.data[group])
    if not given and group != "val":
        given = ([OmegaConf.structured(SplitConfig(name="train", split="train"))] if group == "train" else
                 [OmegaConf.structured(SplitConfig(name="test", split="test")),
                  OmegaConf.structured(SplitConfig(name="occluded", split="test_occluded"))])
    out = []
    for s in given:
        if s.split not in info.splits:
            raise ConfigError(f"data.{group}: synthetic split {s.split!r} does not exist; valid: {list(info.splits)}")
        out.append(SplitConfig(name=s.name or s.split, root=str(info.voc_root), split=s.split))
    return out
