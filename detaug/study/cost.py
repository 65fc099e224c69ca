"""How long the study takes: a small cost model, measured on this project's 2-core machine.

Basis (x86_64, 2 cores, torch 2.14 CPU, the compact Faster R-CNN at 128-192 px):

- ``s_per_iteration``: the README's default run, 400 iterations of batch 8 in 3.8 min
  on 2 free cores with 2 threads: 0.57 s per iteration.
- ``s_per_image``: the machine was shared (load 3-10 on 2 cores), so absolute timings
  swung 2-6x; the ratio of a training iteration to scoring one test image, measured back
  to back in one process with a trained checkpoint (10 iterations, then 60 images,
  repeated 12 times), was 15-40, median 24. The model uses 20 (the costlier end for
  scoring): 0.57 / 20 = 0.029 s per image.
- ``jobs_speedup``: two one-thread runs at once against one two-thread run, measured the
  same way twice: 3.4x more iterations per second on the shared machine, where a
  two-thread run competes with other processes. On a free machine the gain is smaller;
  the model assumes 1.5x.

Treat an estimate as +-50 %. Once the study has trained runs, :func:`estimate` is scaled
by their measured time (``scale``).
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


#: See the module docstring for where each number comes from.
MEASURED = CostModel(s_per_iteration=0.57, s_per_image=0.029, jobs_speedup=1.5)


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


def estimate(configs: Mapping[str, Any], todo: Sequence[str], eval_checkpoints: int, eval_images_per_run: int, *,
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
