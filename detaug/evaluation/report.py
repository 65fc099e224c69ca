"""Presenting evaluation results: the per-class AP table."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["format_ap_table"]


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


