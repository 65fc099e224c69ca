"""How long the study takes: a small cost model, measured on this project's 2-core machine.

The unit costs below come from timing the default synthetic run and its evaluation on 2
CPU cores (x86_64, torch 2.x CPU build; see ``docs/study/STUDY.md`` for the basis). The
machine was shared, so each figure is a ratio of back-to-back timings scaled to a free
machine's full run (3.8 min for the default 8-epoch run, README): treat the estimate as
+-50 %. Once the study has trained runs, :func:`estimate` uses their own measured time
per epoch instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Sequence

__all__ = ["MEASURED", "CostModel", "estimate", "run_seconds", "run_units"]


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of work with one run at a time on 2 threads (2 free cores).

    Attributes:
        s_per_iteration: one training iteration (batch 8, images 128-192 px, the
            compact Faster R-CNN).
        s_per_image: inference and scoring of one test image.
        jobs_speedup: throughput of two one-thread runs at once relative to one
            two-thread run (``--jobs 2`` on 2 cores).
    """

    s_per_iteration: float
    s_per_image: float
    jobs_speedup: float


#: Filled from the measurements described in docs/study/STUDY.md (section "Cost").
MEASURED = CostModel(s_per_iteration=0.50, s_per_image=0.025, jobs_speedup=1.3)


def run_units(cfg: Any) -> Dict[str, float]:
    """Training iterations and evaluated test images of one training run of ``cfg``
    (the training tool evaluates the clean and the generator's occluded splits at the end)."""
    d = cfg.data
    iterations = int(cfg.schedule.epochs) * max(int(d.synthetic_num_train) // int(d.batch_size), 1)
    return {"iterations": iterations, "images": int(d.synthetic_num_test) * 4}


def run_seconds(cfg: Any, jobs: int = 1, model: CostModel = MEASURED) -> float:
    """Machine seconds one training run of ``cfg`` costs (its share when ``jobs`` run at once).

    Examples:
        >>> from types import SimpleNamespace as N
        >>> cfg = N(data=N(synthetic_num_train=400, batch_size=8, synthetic_num_test=300), schedule=N(epochs=8))
        >>> run_seconds(cfg, model=CostModel(0.5, 0.02, 1.0))  # 8 x 50 iterations x 0.5 s + 1200 images x 0.02 s
        224.0
    """
    units = run_units(cfg)
    seconds = units["iterations"] * model.s_per_iteration + units["images"] * model.s_per_image
    return seconds / (model.jobs_speedup if jobs > 1 else 1.0)


def estimate(configs: Mapping[str, Any], todo: Sequence[str], eval_checkpoints: int, eval_images_per_run: int,
             jobs: int = 1, scale: float = 1.0, model: CostModel = MEASURED) -> Dict[str, float]:
    """Estimated wall minutes of the runs still to train and of the evaluation phase.

    Args:
        configs: run name -> config, for every run of the study.
        todo: the runs still to train (new or interrupted: counted in full).
        eval_checkpoints: checkpoints the evaluation phase has still to score.
        eval_images_per_run: test images it scores per checkpoint.
        jobs: runs trained at once.
        scale: measured / modelled time of this study's runs so far (1.0 before any).
        model: the unit costs.

    Returns:
        ``{"train_min", "eval_min", "total_min"}``.
    """
    train = sum(run_seconds(configs[n], jobs, model) for n in todo) * scale
    evaluation = eval_checkpoints * eval_images_per_run * model.s_per_image * scale
    return {"train_min": train / 60, "eval_min": evaluation / 60, "total_min": (train + evaluation) / 60}
