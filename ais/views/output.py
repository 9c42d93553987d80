"""The flagged-events CSV (a contract: scripts and analysts depend on its columns) and atomic
file writing."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ais.errors import OutputError

#: Required leading columns, in this order (DESIGN.md, "Output: flagged CSV").
CSV_COLUMNS: tuple[str, ...] = (
    "event_id", "event_type", "mmsi", "other_mmsi", "start_time", "end_time", "duration_h",
    "lat", "lon", "area", "distance_to_port_km", "anomaly_score", "reason",
)

#: Triage columns after the contract ones, in an order that reads well in a spreadsheet.
EXTRA_COLUMNS: tuple[str, ...] = (
    "vessel_name", "flag", "imo", "callsign", "ship_type", "vessel_type",
    "other_vessel_name", "other_flag", "other_imo", "other_callsign", "other_vessel_type",
    "context", "unusual_features", "rule_decisive", "is_open", "nearest_port",
    "distance_to_shore_km", "track_id",
    "status", "first_reported",
    "port", "terminal", "previous_port", "next_port", "draught_before_m", "draught_after_m",
    "reachable_ports", "takeover",
)


def _remove_orphans(path: Path) -> None:
    """Delete temporary files that a killed process left beside ``path`` (their names carry
    the writer's pid; files of a live process are left alone)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):  # tidying only: a read-only folder fails below
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    A crash or an exception leaves any previous file at ``path`` untouched and removes the
    temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    tmp_path = Path(tmp)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:  # disk full, directory made read-only, file system gone
        raise cannot_write(path, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)


def cannot_write(path: Path, exc: OSError) -> OutputError:
    """The clear error for an output that cannot be written, naming the file and the fix."""
    return OutputError(f"{path}: cannot write ({exc.strerror or exc}); check that "
                       f"{path.parent} exists, is writable and has free space, or write "
                       "elsewhere")


_DECIMALS = {"lat": 5, "lon": 5, "duration_h": 3, "distance_to_port_km": 2, "anomaly_score": 4}


def _iso_utc(ts: pd.Series) -> pd.Series:
    ts = pd.to_datetime(ts, utc=True)
    out = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.where(ts.notna(), "")


def format_events(events: pd.DataFrame) -> pd.DataFrame:
    """Contract columns, then the triage columns; times as ISO 8601 UTC with 'Z'."""
    frame = events.copy()
    for col in CSV_COLUMNS + EXTRA_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA
    for col in ("start_time", "end_time", "first_reported"):
        frame[col] = _iso_utc(frame[col])
    for col in ("mmsi", "other_mmsi", "imo", "other_imo"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    for col, digits in _DECIMALS.items():  # ~1 m for positions, enough for the rest
        frame[col] = pd.to_numeric(frame[col], errors="coerce").round(digits)
    for col in TEXT_COLUMNS:
        frame[col] = _safe_text(frame[col])
    return frame[list(CSV_COLUMNS + EXTRA_COLUMNS)]


#: Free-text columns: they carry what vessels broadcast (names, call signs), i.e. text an
#: adversary chooses.
TEXT_COLUMNS: tuple[str, ...] = (
    "reason", "vessel_name", "callsign", "ship_type", "other_vessel_name", "other_callsign",
    "context", "unusual_features",
)


def _safe_text(values: pd.Series) -> pd.Series:
    """Text a spreadsheet shows as text: control characters and line breaks (which would
    split a CSV row for some readers) become spaces, and a leading ``= + - @`` (which a
    spreadsheet would run as a formula: CSV injection) gets a ``'`` in front."""
    text = values.astype("string")
    text = text.str.replace(r"[\x00-\x1f\x7f\u2028\u2029]", " ", regex=True)
    return text.where(~text.str.match(r"[=+\-@]").fillna(False), "'" + text)


def write_csv(events: pd.DataFrame, path: str | Path) -> Path:
    """Write formatted events to ``path`` atomically (temporary file, fsync, rename)."""
    frame = format_events(events)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    return Path(path)
