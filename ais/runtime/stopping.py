"""A scan asked to stop (SIGTERM from cron's ``timeout`` or systemd, SIGINT from Ctrl-C)
ends like a failed scan: the stack unwinds, so the log gets its failure line, the state its
failed run, the spill folder is removed, and the previous CSV and state stay as they were.

The exit code is the shell's for a signal: 128 + its number (130 for SIGINT, 143 for
SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class ScanStopped(BaseException):
    """The process received SIGTERM or SIGINT. A ``BaseException`` (like
    ``KeyboardInterrupt``), so that no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return (f"the scan was stopped by {signal.Signals(self.signum).name} (exit code "
                f"{self.exit_code}); the previous CSV and state are as they were, and the "
                "next scan starts from them")


class Stop:
    """What :func:`stop_on_signals` yields: the signal received, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def reason(self, exc: BaseException) -> BaseException:
        """The failure to report for ``exc``: a :class:`ScanStopped` when a signal came,
        whatever ``exc`` it turned into on its way (DuckDB turns a signal that lands inside
        a query into ``RuntimeError: Query interrupted``)."""
        if self.signum is None or isinstance(exc, ScanStopped):
            return exc
        return ScanStopped(self.signum)


@contextlib.contextmanager
def stop_on_signals(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                    ) -> Iterator[Stop]:
    """Inside the block, SIGTERM and SIGINT raise :class:`ScanStopped` in the main thread
    (once: a second signal while the scan cleans up is ignored). Elsewhere than in the main
    thread (where Python cannot take signals) the block runs as it is. Yields a
    :class:`Stop` that remembers the signal."""
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    _ACTIVE.append(stop)

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.signum is not None:
            return
        stop.signum = signum
        raise ScanStopped(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _ACTIVE.remove(stop)


_ACTIVE: list[Stop] = []  # the blocks of stop_on_signals open in this process


def failure(exc: BaseException) -> BaseException:
    """``exc`` as the failure to record: :class:`ScanStopped` when a signal came inside an
    open :func:`stop_on_signals` block (see :meth:`Stop.reason`)."""
    return _ACTIVE[-1].reason(exc) if _ACTIVE else exc
