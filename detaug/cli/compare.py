"""Gather the final metrics of training output folders into one markdown table.

    detaug-compare runs/study/runs/*          # or: python tools/compare_runs.py ...

Runs are grouped by their whole config except the seed (output folder, data folder,
loader workers and runtime options aside), so runs of different schedules, data or models
are never averaged together; each group's row gives mean ± sample sd over its runs (its
seeds), and the table ends with what differs between the groups.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Sequence

from detaug.cli._common import add_version, check_output_file, run_command
from detaug.errors import UsageError


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=add_help,
                                epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="training output folders (with config.yaml and metrics.jsonl)")
    p.add_argument("--splits", nargs="+", metavar="SPLIT", help="splits to show (default: all)")
    p.add_argument("--out", metavar="FILE.md", help="also write the table to this markdown file, in an existing folder (default: print only)")
    return add_version(p)


def _check_config(path: Path) -> None:
    """The parts of a run's ``config.yaml`` the table reads must have their types."""
    from detaug.safe_yaml import read_yaml

    cfg = read_yaml(path)
    if not isinstance(cfg, dict):
        raise UsageError(f"{path}: a run's config must be a mapping (as detaug-train writes it), got "
                         f"{type(cfg).__name__}")
    aug = cfg.get("augmentation")
    if aug is not None and not isinstance(aug, dict):
        raise UsageError(f"{path}: augmentation: must be a mapping, got {type(aug).__name__}")
    aug = aug or {}
    if aug.get("erasing") is not None and not isinstance(aug["erasing"], dict):
        raise UsageError(f"{path}: augmentation.erasing: must be a mapping, got {type(aug['erasing']).__name__}")
    if aug.get("extra") is not None and not isinstance(aug["extra"], list):
        raise UsageError(f"{path}: augmentation.extra: must be a list, got {type(aug['extra']).__name__}")
    for i, entry in enumerate(aug.get("extra") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("transform", {}), dict):
            raise UsageError(f"{path}: augmentation.extra[{i}]: must be a transform in albumentations' "
                             "serialisation format ({__class_fullname__: ..., ...})")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"{path}: seed: must be an integer, got {str(seed)[:40]!r}")


def _check_metrics(path: Path) -> None:
    """Every line of ``metrics.jsonl`` a JSON object (the last may be cut by an interruption),
    and every evaluation record's epoch an integer and its splits mappings."""
    from detaug.io import read_user_text

    text = read_user_text(path, "metrics", UsageError)
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if i == last:
                continue  # a line cut by an interruption: skipped, as the study does
            raise UsageError(f"{path}: line {i + 1}: not JSON (each line is one JSON record)") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path}: line {i + 1}: a record must be a JSON object, got {type(record).__name__}")
        if record.get("type") == "eval":
            epoch = record.get("epoch", 0)
            if not isinstance(epoch, int) or isinstance(epoch, bool):
                raise UsageError(f"{path}: line {i + 1}: epoch: must be an integer, got {str(epoch)[:40]!r}")


def _load(folder: str):
    """One run, its files checked first: a bad file is one error naming it and the field."""
    from detaug.study.runs import load_run

    path = Path(folder)
    if path.is_dir():
        for name, check in (("config.yaml", _check_config), ("metrics.jsonl", _check_metrics)):
            if (path / name).is_file():
                check(path / name)
    try:
        return load_run(path)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _check_splits(splits: Sequence[str], runs) -> None:
    available = list(dict.fromkeys(s for r in runs for s in r.metrics))
    for split in splits:
        if split not in available:
            close = difflib.get_close_matches(split, available, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--splits: no run has a split {split!r}; the runs have: "
                             f"{', '.join(available) or 'none'}.{hint}")


def main(args: argparse.Namespace) -> str:
    from detaug.io import atomic_write_text
    from detaug.study.runs import runs_table

    if args.out:
        check_output_file("--out", args.out)
    runs = [_load(folder) for folder in args.runs]
    if args.splits:
        _check_splits(args.splits, runs)
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
