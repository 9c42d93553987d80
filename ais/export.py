"""Flagged events as GeoJSON (for QGIS) or KML (for Google Earth).

Each event becomes one Point at its location plus one LineString per track segment of its
vessel(s) around it, built as movingpandas trajectories. Every feature carries the event's
CSV fields (formatted exactly as in the CSV), so a filter on ``event_type`` or
``anomaly_score`` works on lines and points alike; lines add ``role`` (vessel, partner,
previous MMSI), ``segment_id``, ``segment_mmsi``, ``segment_start``/``segment_end``,
``n_pings`` and ``length_km``.

GeoJSON follows RFC 7946: WGS 84 longitude, latitude order, no ``crs`` member, no NaN.
KML is OGC KML 2.2: a folder per event (ranked by score) with a ``TimeSpan`` on every
placemark so Google Earth's time slider plays the night, ``ExtendedData`` with the CSV
fields, a description balloon (all text HTML-escaped: vessel names are untrusted input) and
one style per event type. Files are written atomically.
"""

from __future__ import annotations

import html
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd

from ais.output import CSV_COLUMNS, EXTRA_COLUMNS, atomic_path, format_events
from ais.trajectories import to_trajectory_collection
from ais.triage import as_events, as_pings, pings_for, vessels_of

FORMATS = ("geojson", "kml")
KML_NS = "http://www.opengis.net/kml/2.2"
_ROLE_OTHER = {"meetup": "partner", "identity_change": "previous MMSI",
               "dark_meetup": "loiterer"}
#: KML colours are aabbggrr; one per event type (ColorBrewer Set1).
_KML_COLOURS = {
    "loitering": "ff00a5ff",  # orange
    "dark_period": "ff1c1ae4",  # red
    "meetup": "ffb87e37",  # blue
    "identity_change": "ffa34e98",  # purple
    "port_call": "ff4daf4a",  # green
    "dark_meetup": "ffbf00ff",  # magenta
}
_SILENCE_COLOUR = "ff1f30d7"
#: A silence of the event's vessel longer than this, overlapping the event, is drawn.
SILENCE_H = 1.0
_KML_ICON = "https://maps.google.com/mapfiles/kml/shapes/caution.png"


def _json_value(value: object) -> object:
    """A CSV field as a JSON value: numbers stay numbers, missing becomes null."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    if isinstance(value, str):
        return value or None  # the CSV cannot tell an empty text from a missing one
    if isinstance(value, bool | int):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _properties(events: pd.DataFrame) -> list[dict[str, object]]:
    """Each event's CSV fields, formatted as in the CSV, as JSON-ready dicts."""
    frame = format_events(events)
    cols = list(CSV_COLUMNS + EXTRA_COLUMNS)
    return [{c: _json_value(row[c]) for c in cols} for _, row in frame.iterrows()]


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _segments(event: pd.Series, pings: pd.DataFrame) -> list[dict[str, Any]]:
    """The event's track segments as movingpandas trajectories, one dict per LineString."""
    p = pings_for(pings, event["event_id"])
    if p.empty:
        return []
    p = as_pings(p)
    vessels = vessels_of(event)
    p = p[p["mmsi"].isin(vessels)]
    if p.groupby(["mmsi", "track", "segment"]).size().max() < 2:
        return []
    lines = to_trajectory_collection(p).to_traj_gdf()
    mmsi_of = lines["traj_id"].str.split("_").str[0].astype("int64")
    role_other = _ROLE_OTHER.get(event["event_type"], "other vessel")
    n_pings = p.assign(traj=p["mmsi"].astype(str) + "_" + p["track"].astype(str) + "_"
                       + p["segment"].astype(str)).groupby("traj").size()
    out = []
    for (_, line), mmsi in zip(lines.iterrows(), mmsi_of, strict=True):
        out.append({
            "role": "vessel" if mmsi == vessels[0] else role_other,
            "segment_id": line["traj_id"],
            "segment_mmsi": int(mmsi),
            "segment_start": _iso(pd.Timestamp(line["start_t"], tz="UTC")),
            "segment_end": _iso(pd.Timestamp(line["end_t"], tz="UTC")),
            "n_pings": int(n_pings.get(line["traj_id"], 0)),
            "length_km": round(float(line["length"]) / 1000, 3),
            "coordinates": [[round(x, 6), round(y, 6)] for x, y in line["geometry"].coords],
        })
    return out


def _silences(event: pd.Series, pings: pd.DataFrame) -> list[dict[str, object]]:
    """For a dark meetup or a dark period: the vessel's silent stretches overlapping the event
    (from its last ping before to its first after), as straight lines marked dashed."""
    if event["event_type"] not in ("dark_meetup", "dark_period") or pings is None \
            or pings.empty:
        return []
    p = as_pings(pings_for(pings, str(event["event_id"])))
    p = p[p["mmsi"] == int(event["mmsi"])].sort_values("timestamp")
    if len(p) < 2:
        return []
    t = pd.to_datetime(p["timestamp"], utc=True)
    gap_h = t.diff().dt.total_seconds().to_numpy() / 3600
    start = pd.Timestamp(event["start_time"])
    end = pd.Timestamp(event["end_time"]) if pd.notna(event.get("end_time")) \
        and str(event.get("end_time")) != "" else start
    out = []
    for j in range(1, len(p)):  # loop over pings of one event's vessel (export only)
        if not gap_h[j] > SILENCE_H or t.iloc[j - 1] > end or t.iloc[j] < start:
            continue
        a, b = p.iloc[j - 1], p.iloc[j]
        out.append({"role": "silence", "line_style": "dashed",
                    "segment_mmsi": int(event["mmsi"]),
                    "segment_start": _iso(t.iloc[j - 1]), "segment_end": _iso(t.iloc[j]),
                    "silent_h": round(float(gap_h[j]), 2),
                    "coordinates": [[round(float(a["lon"]), 6), round(float(a["lat"]), 6)],
                                    [round(float(b["lon"]), 6), round(float(b["lat"]), 6)]]})
    return out


def features(events: pd.DataFrame, pings: pd.DataFrame) -> list[dict[str, object]]:
    """GeoJSON Feature dicts: per event (by rank) its Point, then its segments' LineStrings.

    Loops over events and their segments; the pings go through movingpandas per event.
    """
    ev = as_events(events).reset_index(drop=True)
    props = _properties(ev)
    out: list[dict[str, object]] = []
    for i, event in ev.iterrows():
        base = props[i]
        out.append({
            "type": "Feature",
            "id": f"{event['event_id']}",
            "geometry": {"type": "Point",
                         "coordinates": [round(float(event["lon"]), 6),
                                         round(float(event["lat"]), 6)]},
            "properties": {"feature": "event", **base},
        })
        for seg in _segments(event, pings):
            coords = seg.pop("coordinates")
            out.append({
                "type": "Feature",
                "id": f"{event['event_id']}/{seg['segment_id']}",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"feature": "track", **base, **seg},
            })
        for k, sil in enumerate(_silences(event, pings)):
            coords = sil.pop("coordinates")
            out.append({
                "type": "Feature",
                "id": f"{event['event_id']}/silence-{k}",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"feature": "silence", **base, **sil},
            })
    return out


def to_geojson(events: pd.DataFrame, pings: pd.DataFrame) -> str:
    """An RFC 7946 FeatureCollection (text)."""
    collection = {"type": "FeatureCollection", "features": features(events, pings)}
    return json.dumps(collection, allow_nan=False, ensure_ascii=False, indent=1) + "\n"


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str
         ) -> ET.Element:
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrib)
    if text is not None:
        el.text = str(text)
    return el


def _time_span(parent: ET.Element, begin: str | None, end: str | None) -> None:
    if not begin and not end:
        return
    span = _sub(parent, "TimeSpan")
    if begin:
        _sub(span, "begin", begin)
    if end:
        _sub(span, "end", end)


def _description(props: dict[str, object], heading: str) -> str:
    """The balloon: a heading and an HTML table of the main fields, every value escaped.

    The styles' ``BalloonStyle`` shows only this description, so Google Earth never puts the
    raw placemark name or ExtendedData (vessel names as sent) into the balloon's HTML.
    """
    keys = ("event_type", "anomaly_score", "reason", "mmsi", "vessel_name", "flag", "imo",
            "callsign", "other_mmsi", "other_vessel_name", "other_flag", "start_time",
            "end_time", "duration_h", "area", "distance_to_port_km", "unusual_features",
            "segment")
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(_kml_text(props[k]))}"
        "</td></tr>"
        for k in keys if props.get(k) not in (None, ""))
    return f"<h3>{html.escape(heading)}</h3><table>{rows}</table>"


def _kml_text(value: object) -> str:
    """A field as the CSV writes it (floats as rounded by format_events, missing as '')."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(value)  # as the CSV writes it (format_events rounds)
    return str(value)


def _extended_data(parent: ET.Element, props: dict[str, object]) -> None:
    data = _sub(parent, "ExtendedData")
    for key, value in props.items():
        item = _sub(data, "Data", name=key)
        _sub(item, "value", _kml_text(value))


def _styles(doc: ET.Element) -> None:
    for event_type, colour in _KML_COLOURS.items():
        style = _sub(doc, "Style", id=event_type)
        icon_style = _sub(style, "IconStyle")
        _sub(icon_style, "color", colour)
        _sub(icon_style, "scale", "1.2")
        _sub(_sub(icon_style, "Icon"), "href", _KML_ICON)
        line = _sub(style, "LineStyle")
        _sub(line, "color", colour)
        _sub(line, "width", "3")
        _sub(_sub(style, "BalloonStyle"), "text", "$[description]")
        partner = _sub(doc, "Style", id=f"{event_type}-other")
        line = _sub(partner, "LineStyle")
        _sub(line, "color", "b0" + colour[2:])
        _sub(line, "width", "2")
        _sub(_sub(partner, "BalloonStyle"), "text", "$[description]")
    silence = _sub(doc, "Style", id="silence")  # KML has no dashes: thin red, see the name
    line = _sub(silence, "LineStyle")
    _sub(line, "color", _SILENCE_COLOUR)
    _sub(line, "width", "1.5")
    _sub(_sub(silence, "BalloonStyle"), "text", "$[description]")


def to_kml(events: pd.DataFrame, pings: pd.DataFrame) -> str:
    """An OGC KML 2.2 document (text)."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", "ais flagged events")
    _sub(doc, "open", "1")
    _sub(doc, "description", "Flagged AIS events ranked by anomaly_score; each folder holds "
         "the event's point and its vessels' track segments around it.")
    _styles(doc)
    ev = as_events(events).reset_index(drop=True)
    props = _properties(ev)
    for i, event in ev.iterrows():
        base = props[i]
        kind = str(event["event_type"])
        style = f"#{kind}" if kind in _KML_COLOURS else None
        name = f"{i + 1}. {kind} {base.get('vessel_name') or base['mmsi']} " \
               f"({base['anomaly_score']})"
        folder = _sub(doc, "Folder")
        _sub(folder, "name", name)
        _time_span(folder, base["start_time"] or None, base["end_time"] or None)
        point = _sub(folder, "Placemark", id=str(event["event_id"]))
        _sub(point, "name", name)
        _sub(point, "description", _description(base, name))
        _time_span(point, base["start_time"] or None, base["end_time"] or None)
        if style:
            _sub(point, "styleUrl", style)
        _extended_data(point, {"feature": "event", **base})
        _sub(_sub(point, "Point"), "coordinates",
             f"{float(event['lon']):.6f},{float(event['lat']):.6f}")
        for seg in _segments(event, pings):
            coords = seg.pop("coordinates")
            mark = _sub(folder, "Placemark")
            seg_name = f"{seg['role']} {seg['segment_mmsi']} segment {seg['segment_id']}"
            _sub(mark, "name", seg_name)
            _sub(mark, "description", _description(
                {**base, "segment": f"{seg['segment_start']} to {seg['segment_end']}, "
                                    f"{seg['n_pings']} pings, {seg['length_km']} km"},
                f"{name}: {seg_name}"))
            _time_span(mark, str(seg["segment_start"]), str(seg["segment_end"]))
            if style:
                _sub(mark, "styleUrl", style if seg["role"] == "vessel" else f"{style}-other")
            _extended_data(mark, {"feature": "track", **base, **seg})
            line = _sub(mark, "LineString")
            _sub(line, "tessellate", "1")
            _sub(line, "coordinates", " ".join(f"{x:.6f},{y:.6f}" for x, y in coords))
        for sil in _silences(event, pings):
            coords = sil.pop("coordinates")
            mark = _sub(folder, "Placemark")
            sil_name = f"silent {sil['silent_h']} h ({sil['segment_mmsi']}, AIS off)"
            _sub(mark, "name", sil_name)
            _sub(mark, "description", _description(base, f"{name}: {sil_name}"))
            _time_span(mark, str(sil["segment_start"]), str(sil["segment_end"]))
            _sub(mark, "styleUrl", "#silence")
            _extended_data(mark, {"feature": "silence", **base, **sil})
            line = _sub(mark, "LineString")
            _sub(line, "tessellate", "1")
            _sub(line, "coordinates", " ".join(f"{x:.6f},{y:.6f}" for x, y in coords))
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def export(events: pd.DataFrame, pings: pd.DataFrame, path: str | Path, fmt: str) -> Path:
    """Write the events and their track segments as ``fmt`` (geojson or kml) atomically.

    Args:
        events: flagged events (from a scan or read back from the CSV), in rank order.
        pings: track rows of the events' vessels with an ``event_id`` column
            (see :func:`ais.triage.event_pings`).
        path: the file to write.
        fmt: ``"geojson"`` or ``"kml"``.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    text = to_geojson(events, pings) if fmt == "geojson" else to_kml(events, pings)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
