"""Stop training cleanly on SIGINT (Ctrl-C) or SIGTERM (cluster schedulers).

Schedulers (Slurm's ``scancel``, Kubernetes, ``timeout``) and a terminal's Ctrl-C signal
the whole process group, DataLoader workers included. A worker killed by the signal
would make the main process fail ("DataLoader worker ... is killed by signal") before it
could save, so workers ignore these signals (:func:`ignore_stop_signals`) and leave the
decision to the main process, which finishes the step, saves, and shuts them down.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional

#: The signals that ask a run to stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_stop_signals(worker_id: int = 0) -> None:
    """A DataLoader ``worker_init_fn``: the worker ignores SIGINT and SIGTERM and unblocks
    them. The main process stops the workers itself; should it die, they exit when they see
    it gone (the DataLoader's watchdog)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while DataLoader workers start: a worker inherits the
    blocked mask, so a signal to the process group that arrives before its ``worker_init_fn``
    has run stays pending there and is then discarded (ignored); here it comes when the block ends."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class GracefulStop:
    """Context manager that turns SIGINT / SIGTERM into a flag, and the stop rule the training
    loop calls once per iteration: true after a signal, or once ``after_iters`` iterations of
    this invocation are done (``--stop-after-iters``, for job time limits). A second Ctrl-C
    while the loop finishes its iteration and saves raises ``KeyboardInterrupt`` as usual.
    Outside the main thread (where Python cannot install handlers) the signals are left alone.

    Examples:
        >>> with GracefulStop() as stop:
        ...     stop.requested
        False
    """

    def __init__(self, after_iters: Optional[int] = None) -> None:
        self.signum: Optional[int] = None
        self.remaining = after_iters
        self._previous = {}

    def __call__(self) -> bool:
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                return True
        return self.requested

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def reason(self) -> Optional[str]:
        """The signal's name, ``"stop-after-iters"``, or None (no stop asked for)."""
        if self.signum is not None:
            return signal.Signals(self.signum).name
        return "stop-after-iters" if self.remaining is not None and self.remaining <= 0 else None

    def _handle(self, signum, frame) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
