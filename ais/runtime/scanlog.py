"""What an operator sees of a scan: a log file with one line per stage, and a progress bar on
a terminal (none under cron). Used by the CLI; the library reports stages through
:class:`ais.pipeline.Timings` callbacks and never prints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from ais.errors import OutputError


def _stamp() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """A short id for one process's log lines (12 hex digits: random, so two scans that
    start in the same second still differ)."""
    import secrets

    return secrets.token_hex(6)


class ScanLog:
    """Appends ``<UTC time> run=<id> <event> key=value ...`` lines to a log file, flushed at
    once so a killed scan's log shows how far it got. Every line carries the same run id, so
    the lines of two scans writing to one log (cron overlapping a manual run) can be told
    apart: ``grep run=<id>``."""

    def __init__(self, path: Path | None, run_id: str | None = None) -> None:
        self.path = path
        self.run_id = run_id or new_run_id()
        self.fh = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
            except OSError as exc:
                raise OutputError(f"{path}: cannot write the scan log ({exc.strerror or exc}); "
                                  "check that the folder is writable, or pass --log with "
                                  "another file") from exc

    def line(self, event: str, **fields: object) -> None:
        if self.fh is None:
            return
        parts = [_stamp(), f"run={self.run_id}", event]
        for key, value in fields.items():
            text = str(value).replace("\n", " | ")
            parts.append(f"{key}={text!r}" if " " in text else f"{key}={text}")
        self.fh.write(" ".join(parts) + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def wants_progress(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal: not with -q, not under cron or pipes."""
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


def stage_callback(log: ScanLog, bar: object | None) -> Callable[[str, float | None], None]:
    """A ``Timings.on_stage`` callback logging each finished stage and moving the bar."""

    def on_stage(name: str, seconds: float | None) -> None:
        if seconds is None:
            if bar is not None:
                bar.update(0, current_item=name)  # type: ignore[attr-defined]
            return
        log.line("stage", stage=name, seconds=f"{seconds:.2f}")
        if bar is not None:
            bar.update(1, current_item=name)  # type: ignore[attr-defined]

    return on_stage


def progress_bar(stages: tuple[str, ...]):
    """A click progress bar over the scan's stages, on stderr."""
    return click.progressbar(length=len(stages), label="scan", file=sys.stderr,
                             item_show_func=lambda s: s or "", show_eta=False)
