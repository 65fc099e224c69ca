#!/usr/bin/env python
"""Add multiplicity-adjusted p-values to a study's differences.csv, in place (atomically).

    python tools/adjust_differences.py docs/study/differences.csv

Adds ``p`` (paired t test), ``p_bh`` (Benjamini-Hochberg over every row of the file),
``p_holm`` (Holm) and ``survives_bh`` (interval excludes 0 and p_bh < 0.05), recomputed
from each row's mean, sd and n (``detaug.study.tables.adjust_records``); prints how
many intervals exclude 0 and how many survive each correction. Studies written by
detaug 0.4 and later have these columns already.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("csv", type=Path, help="a study's differences.csv")
    args = p.parse_args(argv)
    from detaug.io import atomic_write_text
    from detaug.study.tables import adjust_records

    try:
        with open(args.csv, newline="", encoding="utf-8") as f:
            records = [{k: v for k, v in r.items() if k not in ("p", "p_bh", "p_holm", "survives_bh")}
                       for r in csv.DictReader(f)]
        adjusted = adjust_records(records)
    except (OSError, KeyError, ValueError) as exc:
        print(f"adjust_differences: error: {args.csv}: {exc}", file=sys.stderr)
        return 2
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(adjusted[0]) if adjusted else [], lineterminator="\n")
    writer.writeheader()
    for r in adjusted:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(args.csv, buffer.getvalue())
    excl = sum(str(r["excludes_zero"]) == "True" for r in adjusted)
    print(f"{len(adjusted)} intervals, {excl} exclude 0; Benjamini-Hochberg (q = 0.05) keeps "
          f"{sum(r['survives_bh'] for r in adjusted)}, Holm keeps "
          f"{sum(str(r['excludes_zero']) == 'True' and r['p_holm'] < 0.05 for r in adjusted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
