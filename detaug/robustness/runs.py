"""Gather the final metrics of training runs into one table (baseline / IRE / ORE / I+ORE)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

MODE_NAMES = {"none": "baseline", "ire": "IRE", "ore": "ORE", "i+ore": "I+ORE"}


@dataclass
class RunResult:
    """The last evaluation of one training output folder.

    Attributes:
        folder: the run folder.
        name: the config's ``name``.
        erasing: the erasing scheme (``baseline``, ``IRE``, ``ORE``, ``I+ORE``).
        seed: the run's seed.
        epoch: the epoch of the last evaluation.
        metrics: split -> headline metric (VOC mAP or COCO AP), in [0, 1].
        metric_names: split -> metric name (``mAP`` / ``AP``).
    """

    folder: Path
    name: str
    erasing: str
    seed: int
    epoch: int
    metrics: Dict[str, float] = field(default_factory=dict)
    metric_names: Dict[str, str] = field(default_factory=dict)


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
            raise FileNotFoundError(f"{path} not found: is {folder} a train_det.py output folder?")
    cfg = OmegaConf.load(config)
    last = None
    with open(metrics) as f:
        for line in f:
            line = line.strip()
            if line:
                record = json.loads(line)
                if record.get("type") == "eval":
                    last = record
    if last is None:
        raise ValueError(f"{metrics} holds no evaluation yet")
    splits = {k: v for k, v in last.items() if isinstance(v, dict)}
    values, names = {}, {}
    for split, m in splits.items():
        key = "mAP" if "mAP" in m else "AP"
        if key in m and isinstance(m[key], (int, float)):
            values[split], names[split] = float(m[key]), key
    mode = str(OmegaConf.select(cfg, "augmentation.erasing.mode", default="none"))
    return RunResult(folder, str(cfg.get("name", folder.name)), MODE_NAMES.get(mode, mode),
                     int(cfg.get("seed", 0)), int(last.get("epoch", 0)), values, names)


def runs_table(runs: Sequence[RunResult], splits: Optional[Sequence[str]] = None) -> str:
    """Markdown: one row per erasing scheme, one column per split; mean ± std over runs
    (training seeds) of the same scheme, with the number of runs.

    Examples:
        >>> r = [RunResult(Path("a"), "a", "baseline", 0, 2, {"test": 0.5}, {"test": "mAP"}),
        ...      RunResult(Path("b"), "b", "baseline", 1, 2, {"test": 0.7}, {"test": "mAP"})]
        >>> print(runs_table(r))
        | erasing | runs | test mAP |
        |---|---|---|
        | baseline | 2 | 60.0 ± 10.0 |
    """
    if not runs:
        raise ValueError("no runs to compare")
    splits = list(splits) if splits else list(dict.fromkeys(s for r in runs for s in r.metrics))
    order = ["baseline", "IRE", "ORE", "I+ORE"]
    schemes = sorted({r.erasing for r in runs}, key=lambda s: order.index(s) if s in order else len(order))
    metric = {s: next((r.metric_names[s] for r in runs if s in r.metric_names), "") for s in splits}
    lines = ["| erasing | runs | " + " | ".join(f"{s} {metric[s]}" for s in splits) + " |",
             "|---|---|" + "---|" * len(splits)]
    for scheme in schemes:
        group = [r for r in runs if r.erasing == scheme]
        cells = []
        for s in splits:
            vals = [100 * r.metrics[s] for r in group if s in r.metrics]
            if not vals:
                cells.append("")
            elif len(vals) == 1:
                cells.append(f"{vals[0]:.1f}")
            else:
                cells.append(f"{np.mean(vals):.1f} ± {np.std(vals):.1f}")
        lines.append(f"| {scheme} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
