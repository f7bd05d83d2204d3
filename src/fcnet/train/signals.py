"""Ctrl-C and SIGTERM during ``fit``: a flag the loop reads after each step."""

from __future__ import annotations

import signal
import threading
from typing import Any


class InterruptGuard:
    """Turn SIGINT / SIGTERM into a flag that the loop checks after each step.

    A second signal while the first is being handled raises KeyboardInterrupt at once. Only the
    main thread can install handlers; elsewhere the guard does nothing.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    self._previous[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
