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

__all__ = ["DEFAULT_SCHEMES", "LONG_EPOCHS", "Regime", "Scheme", "describe_matrix", "expand_regimes", "load_schemes", "slug"]

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
    #: The regime (data size, schedule, initialisation) it is trained in; "" outside a
    #: regime matrix.
    regime: str = ""
    #: Label of a pretraining scheme whose trained run must be finished before this one
    #: starts (its last checkpoint is this scheme's ``model.weights_backbone``); "" for none.
    after: str = ""
    #: False for a pretraining run: trained, never scored (its classes are other ones).
    scored: bool = True

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
    try:
        names = [slug(label) for label in labels]
    except ValueError as exc:
        raise UsageError(f"schemes: {exc}: a label names its run folders; use letters or digits") from None
    for what, values in (("labels", labels), ("folder names", names)):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise UsageError(f"schemes: duplicate {what} {dup}")
    for s in schemes:
        if s.seeds < 1:
            raise UsageError(f"scheme {s.label!r}: seeds must be >= 1, got {s.seeds}")
        if s.reference not in labels:
            raise UsageError(f"scheme {s.label!r}: reference {s.reference!r} is not a scheme; valid: {labels}")
        if s.after and s.after not in labels:
            raise UsageError(f"scheme {s.label!r}: pretraining {s.after!r} is not a scheme; valid: {labels}")
    return tuple(schemes)


def _scheme(i: int, entry: Any, path: Path) -> Scheme:
    where = f"{path}: schemes[{i}]"
    if not isinstance(entry, dict) or not {"label", "preset"} <= set(entry):
        raise UsageError(f"{where}: expected a mapping with at least 'label' and 'preset'")
    unknown = set(entry) - {"label", "preset", "overrides", "seeds", "reference"}
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(unknown)}; valid: label, preset, overrides, seeds, reference")
    overrides = _overrides(entry, where)
    try:
        return Scheme(str(entry["label"]), str(entry["preset"]), overrides, int(entry.get("seeds", 5)),
                      str(entry.get("reference", "baseline")))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def _overrides(entry: Any, where: str, key: str = "overrides") -> Tuple[str, ...]:
    overrides = entry.get(key) or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise UsageError(f"{where}: overrides must be a list of 'key=value' strings")
    return tuple(overrides)


@dataclass(frozen=True)
class Regime:
    """A training regime of a regime matrix: a label, config overrides (data size,
    schedule) and, for a pretrained initialisation, the pretraining scheme whose last
    checkpoint gives the backbone. ``seeds``: this regime's number of training seeds for
    every scheme (0: each scheme's own), for a rule such as "add seeds where the paired sd
    is large" that applies to one regime."""

    label: str
    overrides: Tuple[str, ...] = ()
    backbone: str = ""
    seeds: int = 0


def _regime(i: int, entry: Any, path: Path) -> Regime:
    where = f"{path}: regimes[{i}]"
    if not isinstance(entry, dict) or "label" not in entry:
        raise UsageError(f"{where}: expected a mapping with at least 'label'")
    unknown = set(entry) - {"label", "overrides", "backbone", "seeds"}
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(unknown)}; valid: label, overrides, backbone, seeds")
    seeds = entry.get("seeds", 0)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 0:
        raise UsageError(f"{where}: seeds must be a whole number >= 1 (or 0 for each scheme's own), got {seeds!r}")
    return Regime(str(entry["label"]), _overrides(entry, where), str(entry.get("backbone") or ""), seeds)


def backbone_file(out: Path, pretrain: Scheme) -> Path:
    """Where a pretraining scheme's backbone is read from: its seed-0 run's last checkpoint."""
    return Path(out) / "runs" / f"{pretrain.name}_s0" / "checkpoint_last.pth"


def expand_regimes(schemes: Sequence[Scheme], regimes: Sequence[Regime], pretrain: Sequence[Scheme],
                   out: Path, common: Sequence[str] = ()) -> Tuple[Scheme, ...]:
    """Every scheme in every regime (``"<scheme> | <regime>"``, compared with its reference in
    the same regime), after the pretraining schemes (one seed each, not scored). ``common``:
    overrides every regime shares (before the regime's own), not the pretraining.

    Examples:
        >>> m = expand_regimes([Scheme("baseline", "b", seeds=2), Scheme("I+ORE", "i", seeds=2)],
        ...                    [Regime("short", ("schedule.epochs=4",)), Regime("pre", (), "src")],
        ...                    [Scheme("src", "b", seeds=1, reference="src")], Path("s"))
        >>> [(s.label, s.reference, s.after) for s in m][1:]
        [('baseline | short', 'baseline | short', ''), ('I+ORE | short', 'baseline | short', ''), ('baseline | pre', 'baseline | pre', 'src'), ('I+ORE | pre', 'baseline | pre', 'src')]
        >>> m[1].overrides, m[4].overrides[-1]
        (('schedule.epochs=4',), 'model.weights_backbone=s/runs/src_s0/checkpoint_last.pth')
        >>> [s.seeds for s in expand_regimes([Scheme("baseline", "b", seeds=3)],
        ...                                  [Regime("a"), Regime("b", seeds=5)], [], Path("s"))]
        [3, 5]
    """
    by_label = {p.label: p for p in pretrain}
    out_schemes = [Scheme(p.label, p.preset, p.overrides, 1, p.label, "", "", False) for p in pretrain]
    for r in regimes:
        if r.backbone and r.backbone not in by_label:
            raise UsageError(f"regime {r.label!r}: backbone {r.backbone!r} is not a pretraining scheme; "
                             f"valid: {sorted(by_label)}")
        extra = (f"model.weights_backbone={backbone_file(out, by_label[r.backbone])}",) if r.backbone else ()
        for s in schemes:
            out_schemes.append(Scheme(f"{s.label} | {r.label}", s.preset,
                                      (*common, *r.overrides, *s.overrides, *extra),
                                      r.seeds or s.seeds, f"{s.reference} | {r.label}", r.label, r.backbone))
    return tuple(out_schemes)


def load_schemes(path: Any, out: Path = Path("runs/study")) -> Tuple[Scheme, ...]:
    """Read a YAML matrix: ``schemes: [{label, preset, overrides, seeds, reference}, ...]``,
    optionally crossed with ``regimes: [{label, overrides, backbone, seeds}, ...]`` (every scheme
    in every regime; ``backbone`` names an entry of ``pretrain:``, a list of schemes trained
    first, one seed each, whose last checkpoint initialises the regime's backbone).

    Raises:
        UsageError: a missing or malformed file, named with the entry at fault.
    """
    from detaug.safe_yaml import YAMLInputError, read_yaml

    path = Path(path)
    try:
        data = read_yaml(path)
    except YAMLInputError as exc:
        raise UsageError(f"--schemes: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("schemes"), list):
        raise UsageError(f"--schemes: {path} needs a top-level list 'schemes:'")
    unknown = set(data) - {"schemes", "regimes", "pretrain", "common", "description"}
    if unknown:
        raise UsageError(f"--schemes: {path}: unknown top-level keys {sorted(unknown)}; valid: schemes, regimes, "
                         "pretrain, common, description")
    schemes = [_scheme(i, e, path) for i, e in enumerate(data["schemes"])]
    if data.get("regimes") is None:
        return check_schemes(schemes)
    for key in ("regimes", "pretrain"):
        if not isinstance(data.get(key) or [], list):
            raise UsageError(f"--schemes: {path}: '{key}' must be a list")
    regimes = [_regime(i, e, path) for i, e in enumerate(data["regimes"])]
    pretrain = [_scheme(i, e, path) for i, e in enumerate(data.get("pretrain") or [])]
    common = _overrides(data, f"{path}: common", "common")
    return check_schemes(expand_regimes(schemes, regimes, pretrain, out, common))
