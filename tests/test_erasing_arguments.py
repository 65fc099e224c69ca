"""One source of truth for the arguments: every front-end and the config schema against ErasingParams."""

import dataclasses
import inspect

import pytest

import detaug
from detaug.adapters.batched import BatchedBoxAwareRandomErasing
from detaug.config.schema import ErasingConfig
from detaug.erasing import ErasingParams
from detaug.tv import BoxAwareRandomErasing as TVErasing

DEFAULTS = {f.name: f.default for f in dataclasses.fields(ErasingParams)}
#: The batched module erases images only: it has no masks to fill and drops no boxes.
NOT_BATCHED = {"fill_mask", "min_visibility", "occlude_keypoints"}


def _defaults(callable_):
    return {name: p.default for name, p in inspect.signature(callable_).parameters.items() if name != "self"}


@pytest.mark.parametrize(
    "front_end, skipped",
    [(detaug.BoxAwareRandomErasing, set()), (TVErasing, set()), (BatchedBoxAwareRandomErasing, NOT_BATCHED)],
    ids=["albumentations", "torchvision", "batched"],
)
def test_front_end_signatures_take_every_field_with_its_default(front_end, skipped):
    defaults = _defaults(front_end.__init__)
    expected = {k: v for k, v in DEFAULTS.items() if k not in skipped}
    assert {k: defaults.get(k, "<missing>") for k in expected} == expected
    # ... and hand them over unchanged: the built params equal ErasingParams' own defaults
    built = front_end().erasing
    assert {k: getattr(built, k) for k in expected} == {k: getattr(ErasingParams(), k) for k in expected}


def test_config_schema_has_every_field_with_the_same_default():
    config = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
              for f in dataclasses.fields(ErasingConfig)}
    assert set(config) == set(DEFAULTS) | {"device"}  # every field; the only extra: where erasing runs
    config.pop("device")
    assert config.pop("mode") == "none"  # the config's baseline; ErasingParams has no "none"
    for name, value in config.items():
        expected = DEFAULTS[name]
        assert (tuple(value) if isinstance(value, list) else value) == expected, name


def test_albumentations_serialises_every_argument():
    tf = detaug.BoxAwareRandomErasing(mode="ore", placement="paper", object_p={1: 0.25})
    assert set(tf.get_transform_init_args_names()) == set(DEFAULTS)
    assert tf.get_transform_init_args()["object_p"] == {1: 0.25, "default": 0.5}


@pytest.mark.parametrize(
    "front_end, skipped",
    [(detaug.BoxAwareRandomErasing, set()), (TVErasing, set()), (BatchedBoxAwareRandomErasing, NOT_BATCHED)],
    ids=["albumentations", "torchvision", "batched"],
)
def test_help_shows_every_argument_as_erasing_params_documents_it(front_end, skipped):
    # the documentation is ErasingParams' own, appended (not copied by hand) for help()
    doc = inspect.getdoc(front_end)
    params_doc = inspect.getdoc(ErasingParams)
    for name in set(DEFAULTS) - skipped:
        entry = next(line for line in params_doc.splitlines() if line.strip().startswith(f"{name}:"))
        assert entry.strip() in doc, name
    for name in skipped:
        assert f"\n    {name}:" not in doc.split("Erasing arguments", 1)[1], name
