"""``ais history MMSI``: a vessel's identities and events over time, as text lines."""

from __future__ import annotations

import json

import pandas as pd

from ais.inputs.identity import flag_of
from ais.nightly.routes import route_lines
from ais.views.triage import is_missing


def _t(value: object) -> str:
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return "?"
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M")


def _text(value: object) -> str:
    return "-" if is_missing(value) or value == "" else str(value)


def history_lines(mmsi: int, identities: pd.DataFrame, events: pd.DataFrame) -> list[str]:
    """Lines for the terminal; times in UTC."""
    flag = flag_of(pd.Series([mmsi]))["flag"].iloc[0]
    lines = [f"MMSI {mmsi} (MID flag: {_text(flag)}); times UTC"]
    if identities.empty and events.empty:
        return [*lines, "not seen in any scanned night"]
    lines.append(f"identities ({len(identities)}):")
    for row in identities.itertuples(index=False):
        imo = _text(row.imo if pd.isna(row.imo) else int(row.imo))
        lines.append(
            f"  {_t(row.first_seen)} .. {_t(row.last_seen)}  name {_text(row.name)!s:<22} "
            f"callsign {_text(row.callsign):<8} IMO {imo:<8} type {_text(row.ship_type)}  "
            f"({int(row.pings):,} pings, {int(row.nights)} night(s))")
    lines.append(f"events ({len(events)}):")
    for row in events.itertuples(index=False):
        csv_row = json.loads(row.row_json)
        other = ""
        if not pd.isna(row.other_mmsi):
            partner = int(row.other_mmsi) if int(row.other_mmsi) != mmsi else int(row.mmsi)
            other = f" with {partner}"
        lines.append(
            f"  {_t(row.start_time)} .. {_t(row.end_time)}  {row.event_type:<15} "
            f"{row.event_id}{other}  score {row.anomaly_score:.2f}  "
            f"(reported {_t(row.first_night)[:10]}..{_t(row.last_night)[:10]})")
        lines.append(f"      {csv_row.get('reason', '')}")
    rows = pd.DataFrame([json.loads(r) for r in events["row_json"]]) if len(events) else None
    routes = route_lines(rows) if rows is not None else []
    if routes:
        lines.append(f"routes served (a DPRK port and a foreign port, >= 2 legs; {len(routes)}):")
        lines.extend(routes)
    return lines
