"""Gather the final metrics of training output folders into one markdown table.

    detaug-compare runs/study/runs/*          # or: python tools/compare_runs.py ...

Runs are grouped by their whole config except the seed (output folder, data folder,
loader workers and runtime options aside), so runs of different schedules, data or models
are never averaged together; each group's row gives mean ± sample sd over its runs (its
seeds), and the table ends with what differs between the groups.
"""

from __future__ import annotations

import argparse
import sys

from detaug.cli._common import add_version, run_command


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="training output folders (with config.yaml and metrics.jsonl)")
    p.add_argument("--splits", nargs="+", metavar="SPLIT", help="splits to show (default: all)")
    p.add_argument("--out", metavar="FILE.md", help="also write the table to this markdown file (default: print only)")
    return add_version(p)


def main(args: argparse.Namespace) -> str:
    from detaug.errors import UsageError
    from detaug.io import atomic_write_text
    from detaug.robustness.runs import load_run, runs_table

    runs = []
    for folder in args.runs:
        try:
            runs.append(load_run(folder))
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    table = runs_table(runs, args.splits)
    listing = "\n".join(f"- {r.erasing}: {r.folder} (seed {r.seed}, epoch {r.epoch})" for r in runs)
    text = f"{table}\n\nRuns:\n{listing}\n"
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return table


def run(argv=None) -> int:
    """Console entry point (``detaug-compare``)."""
    return run_command(get_args_parser(), main, argv)


if __name__ == "__main__":
    sys.exit(run())
