"""Stop training cleanly on SIGINT (Ctrl-C) or SIGTERM (cluster schedulers)."""

from __future__ import annotations

import signal
import threading
from typing import Optional


class GracefulStop:
    """Context manager that turns SIGINT / SIGTERM into a flag the training loop polls.

    The loop finishes its iteration, saves a checkpoint and returns. A second Ctrl-C
    while waiting raises ``KeyboardInterrupt`` as usual. Outside the main thread (where
    Python cannot install handlers) it does nothing.

    Examples:
        >>> with GracefulStop() as stop:
        ...     stop.requested
        False
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def reason(self) -> Optional[str]:
        return signal.Signals(self.signum).name if self.signum is not None else None

    def _handle(self, signum, frame) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
