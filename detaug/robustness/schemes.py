"""The study's training schemes, as data: (label, preset, overrides), seeds and reference.

A scheme is a preset name plus config overrides; the study trains it for ``seeds``
training seeds (0, 1, ..., seeds - 1) and compares it, seed by seed, with its
``reference`` scheme (the baseline of the same schedule). Adding a scheme is adding one
:class:`Scheme` to :data:`DEFAULT_SCHEMES`, or one entry to a YAML file given to
``detaug-study --schemes FILE``::

    schemes:
      - label: ORE (masks)
        preset: synthetic_frcnn_small_ore
        overrides: [augmentation.erasing.some_option=true]
        seeds: 5
        reference: baseline          # the default

Pairing: every run of seed ``s`` is trained with ``seed=s``, whatever its scheme. The
training tool seeds the model's initialisation and the data order from ``seed`` alone,
so the runs of one seed start from the same weights and see the batches in the same
order; only the augmentation differs (``tests/test_study_pairing.py`` checks this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Tuple

from detaug.errors import UsageError

__all__ = ["DEFAULT_SCHEMES", "LONG_EPOCHS", "Scheme", "describe_matrix", "load_schemes", "slug"]

#: About three times the presets' 8 epochs: does the clean-accuracy cost of erasing vanish?
LONG_EPOCHS = 24


def slug(label: str) -> str:
    """The folder-name form of a scheme label.

    Examples:
        >>> slug("I+ORE"), slug("baseline 24ep"), slug("ORE (masks)")
        ('iore', 'baseline_24ep', 'ore_masks')
    """
    text = re.sub(r"[^a-z0-9]+", "_", label.lower().replace("+", "")).strip("_")
    if not text:
        raise ValueError(f"scheme label {label!r} has no letter or digit")
    return text


@dataclass(frozen=True)
class Scheme:
    """One training scheme of the study.

    Attributes:
        label: the name in tables and plots (its :func:`slug` names the run folders).
        preset: a preset name (``detaug/configs``) or a YAML config path.
        overrides: ``key=value`` config overrides applied after the study's ``--set``.
        seeds: number of training seeds (seeds 0 .. seeds - 1).
        reference: the label of the scheme it is compared with, seed by seed; itself for
            a baseline.
    """

    label: str
    preset: str
    overrides: Tuple[str, ...] = ()
    seeds: int = 5
    reference: str = "baseline"

    @property
    def name(self) -> str:
        return slug(self.label)


_LONG = (f"schedule.epochs={LONG_EPOCHS}",)

#: The default matrix: the four Random Erasing schemes and mask-aware ORE (the region on
#: the object's mask, only the object's pixels erased) with 5 seeds, the two reference
#: augmentations with 3, and baseline and I+ORE at about three times the schedule with 3.
DEFAULT_SCHEMES: Tuple[Scheme, ...] = (
    Scheme("baseline", "synthetic_frcnn_small_baseline", seeds=5),
    Scheme("IRE", "synthetic_frcnn_small_ire", seeds=5),
    Scheme("ORE", "synthetic_frcnn_small_ore", seeds=5),
    Scheme("I+ORE", "synthetic_frcnn_small_iore", seeds=5),
    Scheme("ORE (mask)", "synthetic_frcnn_small_ore_mask", seeds=5),
    Scheme("Cutout", "synthetic_frcnn_small_cutout", seeds=3),
    Scheme("GridDropout", "synthetic_frcnn_small_grid", seeds=3),
    Scheme(f"baseline {LONG_EPOCHS}ep", "synthetic_frcnn_small_baseline", _LONG, seeds=3,
           reference=f"baseline {LONG_EPOCHS}ep"),
    Scheme(f"I+ORE {LONG_EPOCHS}ep", "synthetic_frcnn_small_iore", _LONG, seeds=3,
           reference=f"baseline {LONG_EPOCHS}ep"),
)


def describe_matrix(schemes: Sequence[Scheme] = DEFAULT_SCHEMES) -> str:
    """The matrix in one sentence: the labels grouped by their number of training seeds.

    Examples:
        >>> describe_matrix()
        'baseline, IRE, ORE, I+ORE, ORE (mask) with 5 seeds; Cutout, GridDropout, baseline 24ep, I+ORE 24ep with 3 seeds'
    """
    groups: dict = {}
    for s in schemes:
        groups.setdefault(s.seeds, []).append(s.label)
    return "; ".join(f"{', '.join(labels)} with {n} seed{'s' * (n != 1)}" for n, labels in groups.items())


def check_schemes(schemes: Sequence[Scheme]) -> Tuple[Scheme, ...]:
    """Check labels, folder names, seeds and references; return the schemes as a tuple.

    Raises:
        UsageError: duplicate labels or folder names, no seeds, or a reference that is
            not one of the schemes.
    """
    labels = [s.label for s in schemes]
    if not schemes:
        raise UsageError("no schemes to train")
    names = [slug(label) for label in labels]
    for what, values in (("labels", labels), ("folder names", names)):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise UsageError(f"schemes: duplicate {what} {dup}")
    for s in schemes:
        if s.seeds < 1:
            raise UsageError(f"scheme {s.label!r}: seeds must be >= 1, got {s.seeds}")
        if s.reference not in labels:
            raise UsageError(f"scheme {s.label!r}: reference {s.reference!r} is not a scheme; valid: {labels}")
    return tuple(schemes)


def _scheme(i: int, entry: Any, path: Path) -> Scheme:
    where = f"{path}: schemes[{i}]"
    if not isinstance(entry, dict) or not {"label", "preset"} <= set(entry):
        raise UsageError(f"{where}: expected a mapping with at least 'label' and 'preset'")
    unknown = set(entry) - {"label", "preset", "overrides", "seeds", "reference"}
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(unknown)}; valid: label, preset, overrides, seeds, reference")
    overrides = entry.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise UsageError(f"{where}: overrides must be a list of 'key=value' strings")
    try:
        return Scheme(str(entry["label"]), str(entry["preset"]), tuple(overrides), int(entry.get("seeds", 5)),
                      str(entry.get("reference", "baseline")))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def load_schemes(path: Any) -> Tuple[Scheme, ...]:
    """Read a YAML matrix (``schemes: [{label, preset, overrides, seeds, reference}, ...]``).

    Raises:
        UsageError: a missing or malformed file, named with the entry at fault.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"--schemes: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"--schemes: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("schemes"), list):
        raise UsageError(f"--schemes: {path} needs a top-level list 'schemes:'")
    return check_schemes([_scheme(i, e, path) for i, e in enumerate(data["schemes"])])
