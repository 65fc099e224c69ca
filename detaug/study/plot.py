"""The study's plot: metric (percent) against the occlusion level, one panel per occluder kind.

Lines are the mean over training seeds; bands are ± 1 sample standard deviation (ddof=1),
the spread the tables state. The x axis is the middle of each level's band (0 = clean).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from detaug.robustness.evaluation import CLEAN, Row
from detaug.study.results import GENERATOR, per_seed
from detaug.study.stats import summarize
from detaug.study.tables import columns, kind_title

__all__ = ["plot_study"]

_METRIC = {"voc07": "VOC07 mAP@0.5 (%)", "voc2010": "VOC mAP@0.5, all-point (%)", "coco": "COCO AP (%)"}


def plot_study(rows: Sequence[Row], schemes: Sequence[str], path: os.PathLike,
               title: str = "Detection under test-time occlusion") -> Path:
    """Draw and write (atomically) the plot; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from detaug.io import atomic_write_bytes

    kinds = [k for k in dict.fromkeys(r.kind for r in rows) if k not in (CLEAN, GENERATOR)]
    values = per_seed(rows)
    fig, axes = plt.subplots(1, max(len(kinds), 1), figsize=(4.2 * max(len(kinds), 1), 4.2), squeeze=False,
                             sharey=True)
    for ax, kind in zip(axes[0], kinds):
        cols = columns(rows, kind)
        x = _midpoints(rows, cols)
        for scheme in schemes:
            stats = [summarize(values.get((scheme, k, level), {}).values()) for k, level in cols]
            mean = np.array([100 * s.mean for s in stats])
            sd = np.nan_to_num(np.array([100 * s.sd for s in stats]))
            (line,) = ax.plot(x, mean, marker="o", label=scheme)
            ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.15)
        ax.set_xticks(x, [level.replace(" %", "") for _, level in cols])
        # noise keeps Random Erasing's definition: its band is a share of the box's area
        ax.set_xlabel("% of each box's area (level)" if kind == "noise" else "% of each object hidden (level)")
        ax.set_title(kind_title(kind), fontsize=9)
        ax.grid(True, alpha=0.3)
    metric = rows[0].metric if rows else ""
    axes[0][0].set_ylabel(_METRIC.get(metric, metric))
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{title} (line: mean over training seeds; band: ± 1 sd, ddof=1)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _midpoints(rows: Sequence[Row], cols) -> list:
    out = []
    for kind, level in cols:
        r = next(r for r in rows if r.kind == kind and r.level == level)
        out.append(0.0 if kind == CLEAN else 100 * (r.lo + r.hi) / 2)
    return out
