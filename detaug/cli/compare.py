"""Gather the final metrics of several training output folders into a markdown table.

    python tools/compare_runs.py runs/synthetic_frcnn_small_*  [--out table.md]

One row per erasing scheme (baseline, IRE, ORE, I+ORE), one column per test split;
runs of the same scheme (e.g. different training seeds) give mean ± std.
"""

from __future__ import annotations

import argparse
import sys


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help)
    p.add_argument("runs", nargs="+", help="training output folders (with config.yaml and metrics.jsonl)")
    p.add_argument("--splits", nargs="*", help="splits to show (default: all)")
    p.add_argument("--out", help="also write the table to this markdown file")
    return p


def main(args) -> str:
    from detaug.io import atomic_write_bytes as atomic_write
    from detaug.robustness.runs import load_run, runs_table

    runs = []
    for folder in args.runs:
        try:
            runs.append(load_run(folder))
        except (FileNotFoundError, ValueError) as exc:
            raise SystemExit(f"error: {exc}")
    table = runs_table(runs, args.splits)
    listing = "\n".join(f"- {r.erasing}: {r.folder} (seed {r.seed}, epoch {r.epoch})" for r in runs)
    text = f"{table}\n\nRuns:\n{listing}\n"
    print(text)
    if args.out:
        atomic_write(args.out, text.encode())
    return table


def run(argv=None) -> int:
    """Console entry point."""
    main(get_args_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run())
