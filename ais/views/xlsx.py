"""Flagged events as an Excel workbook, for analysts who live in a spreadsheet.

The CSV stays the contract; the workbook holds the same rows and columns in the same order,
typed: times are Excel date-times (UTC, the zone in the header), numbers are numbers, text
is text (a vessel called ``=HYPERLINK(...)`` stays text, never a formula). The header row is
frozen and carries filters, columns are as wide as their content (within limits), and each
``event_id`` links to the event's PNG map when one was written (``ais show`` writes
``EVENT_ID.png``). Written atomically with openpyxl.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ais.views.output import CSV_COLUMNS, EXTRA_COLUMNS, TEXT_COLUMNS, atomic_path, format_events
from ais.views.triage import as_events

#: Columns written as Excel date-times.
TIME_COLUMNS = ("start_time", "end_time", "first_reported")
_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_WRAP = ("reason", "unusual_features")


def _cell_values(events: pd.DataFrame) -> pd.DataFrame:
    """The CSV's columns with typed values: naive-UTC datetimes, floats, ints, text."""
    formatted = format_events(events)
    raw = as_events(events)
    out = formatted.astype(object)
    for col in TIME_COLUMNS:
        ts = pd.to_datetime(raw[col], utc=True, errors="coerce", format="ISO8601") \
            if col in raw.columns else pd.Series(pd.NaT, index=raw.index)
        out[col] = [t.tz_convert("UTC").tz_localize(None).to_pydatetime()
                    if pd.notna(t) else None for t in ts]
    for col in formatted.columns:
        if col in TIME_COLUMNS:
            continue
        # text columns: the text without the CSV's formula guard (a ' before = + - @):
        # here it is a string cell, which a spreadsheet never runs
        if col in TEXT_COLUMNS and col in raw.columns:
            values = raw[col].astype("string").str.replace(r"^'(?=[=+\-@])", "", regex=True)
            values = values.str.replace(r"[\x00-\x1f\x7f\u2028\u2029]", " ", regex=True)
            out[col] = [None if pd.isna(v) or v == "" else str(v) for v in values]
    return out.where(pd.notna(out), None)


def map_links(event_ids: Iterable[str], folders: Iterable[str | Path]) -> dict[str, Path]:
    """``EVENT_ID.png`` files found in the folders (first folder first), by event id."""
    found: dict[str, Path] = {}
    for folder in folders:
        for event_id in event_ids:
            png = Path(folder) / f"{event_id}.png"
            if event_id not in found and png.is_file():
                found[event_id] = png
    return found


def _link_target(png: Path, workbook: Path) -> str:
    """The map's path relative to the workbook's folder (so the pair can be moved), or
    absolute when they are on different drives."""
    try:
        return Path(os.path.relpath(png.resolve(), workbook.resolve().parent)).as_posix()
    except ValueError:
        return png.resolve().as_uri()


def write_xlsx(events: pd.DataFrame, path: str | Path,
               maps: str | Path | Iterable[str | Path] | None = None) -> Path:
    """Write the events as an .xlsx workbook atomically.

    Args:
        events: flagged events (from a scan or read back from the CSV), in rank order.
        path: the workbook to write.
        maps: a folder (or folders) where ``EVENT_ID.png`` maps may be; an event whose map
            is there gets its ``event_id`` cell linked to it.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    values = _cell_values(events)
    cols = list(CSV_COLUMNS + EXTRA_COLUMNS)
    folders = [] if maps is None else [maps] if isinstance(maps, str | Path) else list(maps)
    links = map_links([str(e) for e in values["event_id"]], folders)

    wb = Workbook()
    ws = wb.active
    ws.title = "flagged events"
    header = [f"{c} (UTC)" if c in TIME_COLUMNS else c for c in cols]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = np.array([len(h) for h in header], dtype=float)
    for r, row in enumerate(values.itertuples(index=False), start=2):  # loop over events
        for c, value in enumerate(row, start=1):
            if isinstance(value, np.generic):
                value = value.item()
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
                cell.value = value
                cell.data_type = "s"  # never a formula, whatever the vessel sent
            else:
                cell.value = value
            name = cols[c - 1]
            if name in TIME_COLUMNS and value is not None:
                cell.number_format = _DATE_FORMAT
                shown = 19
            else:
                shown = len(str(value)) if value is not None else 0
            widths[c - 1] = max(widths[c - 1], shown)
        event_id = str(row[0])
        if event_id in links:
            cell = ws.cell(row=r, column=1)
            cell.hyperlink = _link_target(links[event_id], path)
            cell.style = "Hyperlink"
    for c, name in enumerate(cols, start=1):
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = float(np.clip(widths[c - 1] + 2, _MIN_WIDTH,
                                                           _MAX_WIDTH))
        if name in _WRAP:
            for cell in ws[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(len(values) + 1, 1)}"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
