"""The study's rows: CSV files, the generator-split rows read from run folders, per-seed grouping."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from detaug.robustness.evaluation import Row

__all__ = ["GENERATOR", "TRAIN", "TRAIN_SPLIT", "generator_rows", "per_seed", "write_rows"]

#: The kind name of the synthetic generator's own occluded split (``test_occluded``).
GENERATOR = "generator"
#: The kind name of a run's score on its own training images (the split ``train_eval``).
TRAIN, TRAIN_SPLIT = "train", "train_eval"
FIELDS = tuple(f.name for f in fields(Row))


def write_rows(rows: Iterable[Row], path: os.PathLike) -> Path:
    """Write rows as CSV (floats with 6 decimals), atomically."""
    from detaug.io import atomic_write_text

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in asdict(row).items()})
    return atomic_write_text(path, buffer.getvalue())


def generator_rows(run: str, scheme: str, seed: int, folder: Path) -> List[Row]:
    """The training tool's last evaluation of the generator's occluded split (``occluded``),
    as a row of kind :data:`GENERATOR` (every object 20, 40 or 60 % hidden by a clutter band),
    and of the run's own training images (``train_eval``) as a row of kind :data:`TRAIN`;
    each only when the run has that split."""
    from detaug.study.runs import load_run

    result = load_run(folder)
    nan = math.nan
    rows = []
    if "occluded" in result.metrics:
        rows.append(Row(run, scheme, seed, str(folder), "occluded", GENERATOR, "20/40/60 %", 0.2, 0.6, 0, "voc2010",
                        result.metrics["occluded"], nan, nan, 0, "mask", ""))
    if TRAIN_SPLIT in result.metrics:  # its own training images, unaugmented: the train - test gap
        rows.append(Row(run, scheme, seed, str(folder), TRAIN_SPLIT, TRAIN, "0", 0.0, 0.0, 0, "voc2010",
                        result.metrics[TRAIN_SPLIT], 0.0, nan, 0, "mask", ""))
    return rows


def per_seed(rows: Sequence[Row]) -> Dict[Tuple[str, str, str], Dict[int, float]]:
    """``(scheme, kind, level) -> {training seed: value}``, averaged over occlusion seeds."""
    groups: Dict[Tuple[str, str, str], Dict[int, List[float]]] = {}
    for r in rows:
        groups.setdefault((r.scheme, r.kind, r.level), {}).setdefault(r.seed, []).append(r.value)
    return {k: {s: sum(v) / len(v) for s, v in seeds.items()} for k, seeds in groups.items()}
