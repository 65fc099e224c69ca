"""Inference over a test set, gathering predictions from every process, and scoring them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from detaug.engine.distributed import all_gather_object, is_main_process, unwrap_model

Predictions = Dict[int, Dict[str, torch.Tensor]]


@torch.inference_mode()
def predict(model: torch.nn.Module, data_loader, device: torch.device, logger: Optional[Any] = None,
            desc: str = "eval") -> Predictions:
    """``{dataset_index: {"boxes", "scores", "labels"}}`` on the CPU (boxes in the input image's
    pixels) for this process's share of a test set: ``data_loader`` yields ``(images, targets,
    dataset_indices)`` (:func:`~detaug.engine.data.make_test_loader`)."""
    model = unwrap_model(model)
    was_training = model.training
    model.eval()
    progress = logger.progress(len(data_loader), desc) if logger is not None else None
    out: Predictions = {}
    try:
        for images, _targets, indices in data_loader:
            outputs = model([img.to(device, non_blocking=True) for img in images])
            for index, o in zip(indices, outputs):
                out[int(index)] = {k: o[k].detach().float().cpu() if k != "labels" else o[k].cpu() for k in ("boxes", "scores", "labels")}
            if progress is not None:
                progress.update()
    finally:
        if progress is not None:
            progress.close()
        model.train(was_training)
    return out


def evaluate(model: torch.nn.Module, data_loader, device: torch.device, evaluator: Optional[Any] = None,
             logger: Optional[Any] = None, desc: str = "eval") -> Tuple[Optional[Dict[str, Any]], Predictions]:
    """Predict on every process, gather, and score with ``evaluator`` (``update(predictions)``,
    then ``compute()``: :class:`detaug.evaluation.VOCEvaluator`, say) on the main process.

    Returns ``(metrics, predictions)``: the score (None on the other processes or without an
    evaluator) and every process's predictions, merged.
    """
    predictions: Predictions = {}
    for part in all_gather_object(predict(model, data_loader, device, logger, desc)):
        predictions.update(part)  # duplicates from a padded DistributedSampler: the same index
    metrics = None
    if evaluator is not None and is_main_process():
        evaluator.update(predictions)
        metrics = evaluator.compute()
    return metrics, predictions


def evaluate_sets(model: torch.nn.Module, sets: Sequence[Any], classes: Sequence[str], device: torch.device,
                  logger: Optional[Any] = None, predictions_dir: Optional[Path] = None) -> Dict[str, Dict[str, Any]]:
    """:func:`evaluate` on each split of ``sets`` (:class:`~detaug.engine.data.EvalSet`): split
    name -> result, on the main process (empty on the others). ``predictions_dir``: also write
    each split's predictions to ``predictions_dir / name``, in the devkit or COCO results format."""
    from detaug.evaluation.metrics import build_evaluator, save_predictions

    results: Dict[str, Dict[str, Any]] = {}
    for s in sets:
        evaluator = build_evaluator(s.dataset, classes, s.metric) if is_main_process() else None
        metrics, predictions = evaluate(model, s.loader, device, evaluator, logger, desc=f"eval {s.name}")
        if not is_main_process():
            continue
        results[s.name] = metrics
        if logger is not None:
            logger.info(f"{s.name}: predictions for {len(predictions)} images")
        if predictions_dir is not None:
            save_predictions(predictions, s.dataset, classes, s.metric, Path(predictions_dir) / s.name, split=s.split)
    return results
