"""Detection evaluation: PASCAL VOC devkit rules and COCO (faster-coco-eval or pycocotools).

Both evaluators take predictions keyed by dataset index, in the dataset's label space and
0-based continuous xyxy pixels (what the models output), and handle each format's
conventions themselves. They share one prediction store
(:class:`~detaug.evaluation.predictions.PredictionStore`): a plain picklable dict that a
distributed engine gathers and merges on rank 0.

Modules: :mod:`~detaug.evaluation.predictions` (checking and storing predictions),
:mod:`~detaug.evaluation.voc` (devkit matching and AP, both IoU rules),
:mod:`~detaug.evaluation.voc_files` (devkit result files),
:mod:`~detaug.evaluation.coco` (COCOeval, results JSON),
:mod:`~detaug.evaluation.report` (AP table, JSON-safe results),
:mod:`~detaug.evaluation.metrics` (the metric names a config chooses from, an evaluator and a
result file per metric, the results table).
"""

from detaug.errors import COCOFormatError, ResultsFileError

from .coco import (
    BACKENDS,
    COCOEvaluator,
    check_results,
    coco_backend,
    evaluate_coco_results,
    predictions_to_coco,
    write_coco_results,
)
from .predictions import PredictionStore, as_prediction, as_prediction_map
from .report import format_ap_table
from .voc import (
    MATCH_RULES,
    VOCEvaluator,
    evaluate_class,
    evaluate_predictions,
    to_devkit_boxes,
    voc_ap,
    voc_iou,
)
from .voc_files import evaluate_voc_results, read_voc_results, result_files_in, write_voc_results

__all__ = [
    "BACKENDS",
    "MATCH_RULES",
    "COCOEvaluator",
    "COCOFormatError",
    "PredictionStore",
    "ResultsFileError",
    "VOCEvaluator",
    "as_prediction",
    "as_prediction_map",
    "check_results",
    "coco_backend",
    "evaluate_class",
    "evaluate_coco_results",
    "evaluate_predictions",
    "evaluate_voc_results",
    "format_ap_table",
    "predictions_to_coco",
    "read_voc_results",
    "result_files_in",
    "to_devkit_boxes",
    "voc_ap",
    "voc_iou",
    "write_coco_results",
    "write_voc_results",
]
