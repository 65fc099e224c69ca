"""Detection evaluation: PASCAL VOC devkit rules and COCO (pycocotools).

Both evaluators take predictions keyed by dataset index, in the dataset's label space and
0-based continuous xyxy pixels (what the models output), and handle each format's
conventions themselves. Their state is a plain picklable dict so a distributed engine can
gather it and compute on rank 0.

Modules: :mod:`~detaug.evaluation.voc` (devkit AP, result files),
:mod:`~detaug.evaluation.coco` (COCOeval, results JSON).
"""

from ._common import as_prediction, format_ap_table
from .coco import COCOEvaluator, evaluate_coco_results, predictions_to_coco, write_coco_results
from .voc import (
    VOCEvaluator,
    evaluate_class,
    evaluate_predictions,
    evaluate_voc_results,
    read_voc_results,
    to_devkit_boxes,
    voc_ap,
    voc_iou,
    write_voc_results,
)

__all__ = [
    "COCOEvaluator",
    "VOCEvaluator",
    "as_prediction",
    "evaluate_class",
    "evaluate_coco_results",
    "evaluate_predictions",
    "evaluate_voc_results",
    "format_ap_table",
    "predictions_to_coco",
    "read_voc_results",
    "to_devkit_boxes",
    "voc_ap",
    "voc_iou",
    "write_coco_results",
    "write_voc_results",
]
