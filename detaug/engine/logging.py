"""Run logging: tqdm bars on a terminal, plain lines otherwise, JSON lines, TensorBoard.

Only the main process (rank 0) prints and writes; the others get a silent logger.
"""

from __future__ import annotations

import datetime
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

from detaug.records import append_line


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


class Progress:
    """Progress over a known number of steps: a tqdm bar, plain lines, or nothing.

    ``after``: the steps still to come once these are done (the run's later epochs); the lines
    then end with the whole run's estimate at the current rate, ``eta 0:00:40 (run 0:12:10)``,
    training steps only (evaluations come on top).
    """

    def __init__(self, total: int, desc: str, initial: int = 0, *, mode: str = "plain",
                 print_freq: int = 20, write=print, after: int = 0):
        self.total, self.desc, self.count, self.after = total, desc, initial, after
        self.mode, self.print_freq, self.write = mode, print_freq, write
        self.start, self.initial = time.time(), initial
        self.bar = None
        if mode == "tqdm":
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, leave=True)

    def _etas(self) -> tuple:
        """(the rate so far, this progress's and the run's remaining time as ``H:MM:SS``)."""
        rate = (self.count - self.initial) / max(time.time() - self.start, 1e-9)
        left = self.total - self.count
        return (rate, *(str(datetime.timedelta(seconds=int(n / max(rate, 1e-9)))) for n in (left, left + self.after)))

    def update(self, **values: Any) -> None:
        self.count += 1
        if self.bar is not None:
            postfix = {k: _fmt(v) for k, v in values.items()}
            if self.after:
                postfix["run eta"] = self._etas()[2]
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        elif self.mode == "plain" and (self.count % self.print_freq == 0 or self.count == self.total):
            rate, eta, run_eta = self._etas()
            parts = " ".join(f"{k} {_fmt(v)}" for k, v in values.items())
            width = len(str(self.total))
            run = f" (run {run_eta})" if self.after else ""
            self.write(
                f"{self.desc} [{self.count:>{width}}/{self.total}] {parts} "
                f"{rate:.2f} it/s eta {eta}{run}".replace("  ", " ")
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class RunLogger:
    """Messages, progress and metrics of one run, in ``output_dir`` (``log.txt``, ``metrics.jsonl``,
    TensorBoard files if tensorboard is installed). ``enabled``: False on ranks other than 0;
    ``fresh``: start ``log.txt`` and ``metrics.jsonl`` anew (a new run in an old folder) rather
    than append to them (a resumed run)."""

    def __init__(self, output_dir: Optional[Path] = None, enabled: bool = True, use_tqdm: Optional[bool] = None,
                 print_freq: int = 20, tensorboard: bool = True, fresh: bool = False):
        self.enabled = enabled
        self.output_dir = Path(output_dir) if output_dir is not None and enabled else None
        self.use_tqdm = sys.stdout.isatty() if use_tqdm is None else use_tqdm
        self.print_freq = print_freq
        self._tb = None
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            if fresh:
                for name in ("log.txt", "metrics.jsonl"):
                    (self.output_dir / name).unlink(missing_ok=True)
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:  # tensorboard is optional
                    SummaryWriter = None
                if SummaryWriter is not None:
                    self._tb = SummaryWriter(str(self.output_dir / "tensorboard"))

    def info(self, msg: str) -> None:
        if not self.enabled:
            return
        if self.use_tqdm:
            from tqdm import tqdm

            tqdm.write(msg)
        else:
            print(msg, flush=True)
        if self.output_dir is not None:
            append_line(self.output_dir / "log.txt", msg)

    def progress(self, total: int, desc: str, initial: int = 0, after: int = 0) -> Progress:
        """A :class:`Progress`; ``after``: steps of the run still to come once these are done."""
        mode = "off" if not self.enabled else ("tqdm" if self.use_tqdm else "plain")
        return Progress(total, desc, initial, mode=mode, print_freq=self.print_freq, write=self.info, after=after)

    def log_metrics(self, record: Dict[str, Any], step: Optional[int] = None) -> None:
        """Append ``record`` to ``metrics.jsonl`` and its numbers to TensorBoard."""
        if not self.enabled or self.output_dir is None:
            return
        append_line(self.output_dir / "metrics.jsonl", json.dumps(record, default=float))
        if self._tb is not None and step is not None:
            for key, value in _flatten(record).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _flatten(record: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out
