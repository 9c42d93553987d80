"""``ais export --format xlsx``: the flagged rows as a typed, filterable workbook."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook

from ais.views.output import CSV_COLUMNS, EXTRA_COLUMNS, write_csv
from ais.views.xlsx import write_xlsx

from .flagged_events import nampo_flagged


@pytest.fixture(scope="module")
def flagged():
    return nampo_flagged()


@pytest.fixture(scope="module")
def sheet(flagged, tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx")
    events = flagged.events.copy()
    events.loc[events.index[0], "vessel_name"] = '=HYPERLINK("http://evil","x")'
    csv = write_csv(events, out / "flagged.csv")
    back = pd.read_csv(csv, dtype={"event_id": str})  # as the CLI reads it
    (out / f"{back.loc[2, 'event_id']}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = write_xlsx(back, out / "flagged.xlsx", maps=out)
    return load_workbook(path).active, back


def test_rows_and_columns_are_the_csvs_in_the_same_order(sheet):
    ws, back = sheet
    header = [c.value for c in ws[1]]
    expected = [f"{c} (UTC)" if c in ("start_time", "end_time", "first_reported") else c
                for c in CSV_COLUMNS + EXTRA_COLUMNS]
    assert header == expected
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == list(back["event_id"])


def test_times_are_date_times_and_numbers_are_numbers(sheet):
    ws, back = sheet
    col = {c.value: c.column for c in ws[1]}
    start = ws.cell(2, col["start_time (UTC)"])
    assert isinstance(start.value, dt.datetime) and start.is_date
    assert start.value == pd.Timestamp(back.loc[0, "start_time"]).tz_convert(None)
    assert "yyyy" in start.number_format
    score = ws.cell(2, col["anomaly_score"]).value  # a number (1.0 reads back as 1)
    assert isinstance(score, int | float) and not isinstance(score, bool)
    assert ws.cell(2, col["anomaly_score"]).data_type == "n"
    assert isinstance(ws.cell(2, col["mmsi"]).value, int)
    assert ws.cell(2, col["anomaly_score"]).value == pytest.approx(back.loc[0, "anomaly_score"])


def test_header_is_frozen_filtered_and_columns_have_widths(sheet):
    ws, back = sheet
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:") and ws.auto_filter.ref.endswith(
        str(len(back) + 1))
    col = {c.value: c.column_letter for c in ws[1]}
    assert ws.column_dimensions[col["reason"]].width > ws.column_dimensions[col["mmsi"]].width
    assert all(ws.column_dimensions[c].width >= 8 for c in col.values())


def test_a_vessel_name_that_looks_like_a_formula_stays_text(sheet):
    ws, _ = sheet
    col = {c.value: c.column for c in ws[1]}
    cell = ws.cell(2, col["vessel_name"])
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil","x")'


def test_event_id_links_to_its_map_only_when_one_was_written(sheet):
    ws, back = sheet
    links = [ws.cell(r, 1).hyperlink for r in range(2, ws.max_row + 1)]
    assert links[2] is not None and links[2].target == f"{back.loc[2, 'event_id']}.png"
    assert [i for i, link in enumerate(links) if link is not None] == [2]
