"""Finished training runs: their last evaluation, and tables that never average unlike runs.

Runs are grouped by their whole config except the seed (and keys that do not change what
a run learns: output folder, name, data folder, loader workers, runtime options), so an
8-epoch and a 1-epoch run are never averaged; the table says what differs between groups.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["IGNORED_KEYS", "RunResult", "config_differences", "flat_config", "group_runs", "load_run", "runs_table"]

MODE_NAMES = {"none": "baseline", "ire": "IRE", "ore": "ORE", "i+ore": "I+ORE"}
#: Keys that do not change what a run learns (ignored when runs are compared or grouped).
IGNORED_KEYS = ("output_dir", "name", "data.root", "data.workers", "runtime.")


def flat_config(cfg: Any, ignore: Sequence[str] = IGNORED_KEYS) -> Dict[str, Any]:
    """``{"a.b.c": value}`` of a config (lists kept whole), without the ``ignore`` keys
    (a key ending in ``.`` drops the whole section).

    Examples:
        >>> flat_config({"seed": 1, "optim": {"lr": 0.1}, "runtime": {"device": "cpu"}})
        {'seed': 1, 'optim.lr': 0.1}
    """
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
    out: Dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = node

    walk(data, "")
    return {k: v for k, v in out.items() if not any(k == i or (i.endswith(".") and k.startswith(i)) for i in ignore)}


def config_differences(a: Any, b: Any, ignore: Sequence[str] = IGNORED_KEYS) -> List[str]:
    """``key: a -> b`` for every key that differs (the ``ignore`` keys left out)."""
    fa, fb = flat_config(a, ignore), flat_config(b, ignore)
    return [f"{k}: {fa.get(k)!r} -> {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


@dataclass
class RunResult:
    """The last evaluation of one training output folder.

    Attributes:
        folder: the run folder.
        name: the config's ``name``.
        erasing: the scheme: erasing mode (``baseline``, ``IRE``, ``ORE``, ``I+ORE``) and
            the extra transforms, e.g. ``baseline + CoarseDropout``.
        seed: the run's seed.
        epoch: the epoch of the last evaluation.
        metrics: split -> headline metric (VOC mAP or COCO AP), in [0, 1].
        metric_names: split -> metric name (``mAP`` / ``AP``).
        config: the flattened config without the seed and :data:`IGNORED_KEYS`.
    """

    folder: Path
    name: str
    erasing: str
    seed: int
    epoch: int
    metrics: Dict[str, float] = field(default_factory=dict)
    metric_names: Dict[str, str] = field(default_factory=dict)
    config: Dict[str, Any] = field(default_factory=dict)


def _last_eval(metrics: Path) -> Optional[dict]:
    from detaug.records import read_records

    return ([None] + read_records(metrics, "eval"))[-1]


def load_run(folder: os.PathLike) -> RunResult:
    """Read ``config.yaml`` and the last ``"eval"`` record of ``metrics.jsonl`` in a run folder.

    Raises:
        FileNotFoundError: the folder, its config or its metrics file is missing.
        ValueError: the run has no evaluation yet.
    """
    from omegaconf import OmegaConf

    folder = Path(folder)
    config, metrics = folder / "config.yaml", folder / "metrics.jsonl"
    for path in (config, metrics):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {folder} a training output folder (detaug-train)?")
    cfg = OmegaConf.to_container(OmegaConf.load(config), resolve=True)
    last = _last_eval(metrics)
    if last is None:
        raise ValueError(f"{metrics} holds no evaluation yet")
    values, names = {}, {}
    for split, m in last.items():
        key = ("mAP" if "mAP" in m else "AP") if isinstance(m, dict) else None
        if key and isinstance(m.get(key), (int, float)):
            values[split], names[split] = float(m[key]), key
    aug = cfg.get("augmentation") or {}
    mode = str((aug.get("erasing") or {}).get("mode", "none"))
    extra = [str(e.get("__class_fullname__", e.get("transform", {}).get("__class_fullname__", "?")))
             for e in aug.get("extra") or [] if isinstance(e, dict)]
    scheme = " + ".join([MODE_NAMES.get(mode, mode), *extra])
    return RunResult(folder, str(cfg.get("name", folder.name)), scheme, int(cfg.get("seed", 0)),
                     int(last.get("epoch", 0)), values, names, flat_config(cfg, (*IGNORED_KEYS, "seed")))


def group_runs(runs: Sequence[RunResult]) -> List[List[RunResult]]:
    """Runs with the same config but for the seed, in order of first appearance."""
    groups: Dict[str, List[RunResult]] = {}
    for r in runs:
        groups.setdefault(json.dumps(r.config, sort_keys=True, default=str), []).append(r)
    return list(groups.values())


def _labels(groups: List[List[RunResult]]) -> tuple:
    """A label per group (its scheme, plus the keys that tell apart groups of one scheme),
    and ``key -> values`` for every key that differs between groups."""
    keys = sorted({k for g in groups for k in g[0].config})
    differ = {k: [g[0].config.get(k) for g in groups] for k in keys
              if len({json.dumps(g[0].config.get(k), default=str) for g in groups}) > 1}
    labels = []
    for g in groups:
        same = [h for h in groups if h[0].erasing == g[0].erasing]
        extra = [f"{k}={g[0].config.get(k)}" for k in differ if len({str(h[0].config.get(k)) for h in same}) > 1]
        labels.append(g[0].erasing + (f" [{', '.join(extra)}]" if extra else ""))
    return labels, differ


def runs_table(runs: Sequence[RunResult], splits: Optional[Sequence[str]] = None) -> str:
    """Markdown: one row per group of runs (same config but for the seed), one column per
    split: mean ± sample sd (ddof=1) over the group's runs, with their number; then what
    differs between the groups.

    Examples:
        >>> cfg = {"schedule.epochs": 8}
        >>> r = [RunResult(Path("a"), "a", "baseline", 0, 8, {"test": 0.5}, {"test": "mAP"}, cfg),
        ...      RunResult(Path("b"), "b", "baseline", 1, 8, {"test": 0.7}, {"test": "mAP"}, cfg),
        ...      RunResult(Path("c"), "c", "baseline", 0, 1, {"test": 0.1}, {"test": "mAP"}, {"schedule.epochs": 1})]
        >>> print(runs_table(r))
        | scheme | runs | test mAP |
        |---|---|---|
        | baseline [schedule.epochs=8] | 2 | 60.0 ± 14.1 |
        | baseline [schedule.epochs=1] | 1 | 10.0 |
        <BLANKLINE>
        The groups differ in: schedule.epochs (8 / 1).
    """
    if not runs:
        raise ValueError("no runs to compare")
    splits = list(splits) if splits else list(dict.fromkeys(s for r in runs for s in r.metrics))
    groups = group_runs(runs)
    labels, differ = _labels(groups)
    metric = {s: next((r.metric_names[s] for r in runs if s in r.metric_names), "") for s in splits}
    lines = ["| scheme | runs | " + " | ".join(f"{s} {metric[s]}" for s in splits) + " |",
             "|---|---|" + "---|" * len(splits)]
    for label, group in zip(labels, groups):
        cells = []
        for s in splits:
            vals = [100 * r.metrics[s] for r in group if s in r.metrics]
            cells.append("" if not vals else f"{vals[0]:.1f}" if len(vals) == 1
                         else f"{np.mean(vals):.1f} ± {np.std(vals, ddof=1):.1f}")
        lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + " |")
    if differ:
        lines += ["", "The groups differ in: " + "; ".join(f"{k} ({' / '.join(map(str, v))})"
                                                           for k, v in differ.items()) + "."]
    return "\n".join(lines)
