"""Presenting evaluation results: the per-class AP table and a JSON-safe copy of a result."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

__all__ = ["format_ap_table", "jsonable"]


def format_ap_table(result: Mapping[str, Any], title: str = "AP") -> str:
    """Format a per-class AP table followed by the mean.

    Args:
        result: A VOC evaluator result (``AP`` mapping class -> AP, ``num_gt``, ``mAP``).
        title: Column title. Default ``"AP"``.

    Returns:
        The table as a string (AP in percent; ``n/a`` for classes without ground truth).

    Examples:
        >>> print(format_ap_table({"AP": {"cat": 0.5}, "num_gt": {"cat": 2}, "mAP": 0.5}))
        class    n_gt      AP
        cat         2   50.00
        mAP             50.00
    """
    names = list(result["AP"])
    width = max([len(n) for n in names] + [5])
    lines = [f"{'class':<{width}}  {'n_gt':>6}  {title:>6}"]
    for n in names:
        ap = result["AP"][n]
        ap_s = "n/a" if ap is None or np.isnan(ap) else f"{100 * ap:.2f}"
        lines.append(f"{n:<{width}}  {result.get('num_gt', {}).get(n, ''):>6}  {ap_s:>6}")
    lines.append(f"{'mAP':<{width}}  {'':>6}  {100 * result['mAP']:>6.2f}")
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts.

    numpy scalars and arrays become Python numbers and lists; NaN and infinities (the AP
    of a class without ground truth) become ``None``, i.e. JSON ``null``.

    Examples:
        >>> jsonable({"AP": {"a": np.float64(0.5), "b": float("nan")}, "n": np.int64(3)})
        {'AP': {'a': 0.5, 'b': None}, 'n': 3}
    """
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar -> Python scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
