"""The study's evaluation phase and outputs: score every finished run, write CSVs, the plot, STUDY.md."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from detaug.errors import UsageError
from detaug.robustness.evaluation import CheckpointToScore, Condition, ResultCache, Row, evaluate_checkpoints
from detaug.study.agenda import StudyAgenda
from detaug.study.results import generator_rows, write_rows
from detaug.study.training import FINISHED, LAST, read_ledger

__all__ = ["evaluate_study", "exclusive", "record_invocation", "relative_rows", "resolve_device", "write_outputs"]


def resolve_device(spec: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; anything else unchanged."""
    if spec != "auto":
        return spec
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate_study(plan: StudyAgenda, conds: Sequence[Condition], device: str, batch_size=None, workers: int = 0,
                   log: Callable[[str], None] = print) -> List[Row]:
    """Score the last checkpoint of every finished run (cached in ``<out>/eval/results.jsonl``),
    plus each run's own score on the generator's occluded split."""
    runs = [r for r in plan.finished if r.scheme.scored]
    missing = [r.name for r in plan.runs if plan.states[r.name] != FINISHED]
    if missing:
        log(f"not evaluated (not finished): {', '.join(missing)}")
    if not runs:
        return []
    trained = [CheckpointToScore(r.name, r.scheme.label, r.seed, r.folder / LAST) for r in runs]
    cache = ResultCache(plan.out / "eval" / "results.jsonl")
    rows = evaluate_checkpoints(trained, conds, device=resolve_device(device), batch_size=batch_size,
                                workers=workers, cache=cache, log=log)
    for r in runs:
        rows += generator_rows(r.name, r.scheme.label, r.seed, r.folder)
    return rows


def record_invocation(out: Path, entry: Dict[str, Any], index: Optional[int] = None) -> int:
    """Add an invocation's summary to ``<out>/timings.json`` (under ``_invocations``), or
    replace entry ``index`` (an invocation records itself when it starts and again when it
    ends, so one that is killed is still in the ledger). Returns the entry's index."""
    from detaug.io import atomic_write_text
    from detaug.provenance import source_revision

    ledger = read_ledger(out / "timings.json")
    items = ledger.setdefault("_invocations", [])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    if index is None or index >= len(items):
        items.append(dict(entry, started=stamp, code=source_revision()))
        index = len(items) - 1
    else:
        items[index] = dict(items[index], **entry, ended=stamp)
    atomic_write_text(out / "timings.json", json.dumps(ledger, indent=1))
    return index


@contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold ``<out>/study.lock`` for the invocation: a second ``detaug-study`` on the same
    folder is refused instead of training the same runs at the same time.

    Raises:
        UsageError: another process holds the lock (its pid is named).
    """
    import fcntl

    path = Path(out) / "study.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole invocation
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise UsageError(f"{out} is in use by another detaug-study (pid {holder}); wait for it to finish, "
                             "or use another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def relative_rows(rows: Sequence[Row], out: Path) -> List[Row]:
    """The rows with checkpoint paths relative to the study folder ``out`` (the committed CSVs
    hold no path of the machine that ran them); paths outside it are kept as they are."""
    from dataclasses import replace

    out = Path(out).resolve()
    result = []
    for r in rows:
        path = Path(r.checkpoint)
        if path.is_absolute() and path.resolve().is_relative_to(out):
            r = replace(r, checkpoint=path.resolve().relative_to(out).as_posix())
        result.append(r)
    return result


def write_outputs(report_dir: Path, plan: StudyAgenda, rows: Sequence[Row], command: str,
                  notes: Sequence[str] = (), log: Callable[[str], None] = print) -> List[Path]:
    """``per_seed.csv``, ``summary.csv``, ``differences.csv``, ``occlusion.png`` and ``STUDY.md``;
    for a regime matrix also ``REGIMES.md`` and its files (:mod:`detaug.study.regime_report`)."""
    import csv
    import io

    from detaug.io import atomic_write_text
    from detaug.study.plot import plot_study
    from detaug.study.report import cost_lines, render_study
    from detaug.study.tables import difference_records, summary_records

    schemes = [s.label for s in plan.schemes]
    reference = {s.label: s.reference for s in plan.schemes}
    from detaug.study.regime_report import write_regime_outputs

    rows = relative_rows(rows, plan.out)
    written = [write_rows(rows, report_dir / "per_seed.csv")]
    for name, records in (("summary.csv", summary_records(rows, schemes)),
                          ("differences.csv", difference_records(rows, schemes, reference))):
        buffer = io.StringIO()
        if records:
            writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
        written.append(atomic_write_text(report_dir / name, buffer.getvalue()))
    written.append(plot_study(rows, schemes, report_dir / "occlusion.png"))
    cost = cost_lines(read_ledger(plan.out / "timings.json"), plan.runs)
    written.append(atomic_write_text(report_dir / "STUDY.md", render_study(command, rows, schemes, reference, cost, notes)))
    written += write_regime_outputs(report_dir, plan, rows, command, log=log)
    return written
