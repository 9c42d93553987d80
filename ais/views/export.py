"""Flagged events as GeoJSON (for QGIS), KML (for Google Earth) or an Excel workbook.

Each event becomes one Point at its location, one line per track segment of its vessel(s)
around it (built as movingpandas trajectories), and one line per silence longer than the
segment gap (from the last ping before to the first after: the dark gap). Every feature
carries the event's CSV fields (formatted exactly as in the CSV), so a filter on
``event_type`` or ``anomaly_score`` works on points and lines alike, and ``kind`` (event,
track, gap) says what it is; lines add ``role`` (vessel, partner, previous MMSI, gap),
``segment_id``, ``segment_mmsi``, ``segment_start``/``segment_end``, ``n_pings`` and
``length_km``; gaps add ``gap_h``.

GeoJSON follows RFC 7946: WGS 84 longitude, latitude order, no ``crs`` member, no NaN; one
FeatureCollection whose ``kind`` property splits it into events, tracks and gaps in QGIS.
KML is OGC KML 2.2 with Google's ``gx`` extension: one Folder per kind (events, tracks, gaps;
GDAL and QGIS read each folder as one layer), the tracks as ``gx:Track`` with one ``when``
per position so Google Earth's time slider replays the night position by position, the gaps
as dashed red lines, a ``TimeSpan`` on every event and gap, ``ExtendedData`` with the CSV
fields, a description balloon (all text HTML-escaped: vessel names are untrusted input) and
one style per event type. The workbook is :mod:`ais.views.xlsx`. Files are written atomically.
"""

from __future__ import annotations

import html
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ais.config import TrackConfig
from ais.detectors import REGISTRY, other_role
from ais.geography.geo import haversine_km
from ais.tracking.trajectories import to_trajectory_collection
from ais.views.output import CSV_COLUMNS, EXTRA_COLUMNS, atomic_path, format_events
from ais.views.triage import as_events, as_pings, pings_for, vessels_of

FORMATS = ("geojson", "kml", "xlsx")
KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"
#: The dark gap's dashes in KML (Google Earth draws no dashed style): this many pieces, every
#: other one drawn.
GAP_DASHES = 24
_GAP_KML_COLOUR = "ff1f30d7"  # the maps' gap red, aabbggrr


def _kml_colour(hex_rgb: str) -> str:
    """``#rrggbb`` as KML's ``aabbggrr`` (opaque)."""
    h = hex_rgb.lstrip("#")
    return f"ff{h[4:6]}{h[2:4]}{h[0:2]}"


def _kml_colours() -> dict[str, str]:
    """KML colours, one per event type: each registered detector's COLOUR."""
    return {t: _kml_colour(d.COLOUR) for t, d in REGISTRY.items()}
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
    role_other = other_role(event["event_type"])
    n_pings = p.assign(traj=p["mmsi"].astype(str) + "_" + p["track"].astype(str) + "_"
                       + p["segment"].astype(str)).groupby("traj").size()
    p = p.assign(traj=p["mmsi"].astype(str) + "_" + p["track"].astype(str) + "_"
                 + p["segment"].astype(str))
    by_traj = {k: g for k, g in p.groupby("traj", sort=False)}
    out = []
    for (_, line), mmsi in zip(lines.iterrows(), mmsi_of, strict=True):
        mine = by_traj[line["traj_id"]]
        out.append({
            "role": "vessel" if mmsi == vessels[0] else role_other,
            "segment_id": line["traj_id"],
            "segment_mmsi": int(mmsi),
            "segment_start": _iso(pd.Timestamp(line["start_t"], tz="UTC")),
            "segment_end": _iso(pd.Timestamp(line["end_t"], tz="UTC")),
            "n_pings": int(n_pings.get(line["traj_id"], 0)),
            "length_km": round(float(line["length"]) / 1000, 3),
            "coordinates": [[round(x, 6), round(y, 6)] for x, y in line["geometry"].coords],
            "track_when": [_iso(t) for t in mine["timestamp"]],
            "track_coords": list(zip(mine["lon"].round(6), mine["lat"].round(6),
                                     strict=True)),
        })
    return out


def _gaps(event: pd.Series, pings: pd.DataFrame, gap_h: float = TrackConfig.gap_h
          ) -> list[dict[str, object]]:
    """The event's vessels' silences longer than ``gap_h``: one dict per dark gap, from the
    last ping before to the first after (vectorised over the pings)."""
    p = pings_for(pings, event["event_id"])
    if p.empty:
        return []
    p = as_pings(p)
    vessels = vessels_of(event)
    p = p[p["mmsi"].isin(vessels)].reset_index(drop=True)
    same = (p["mmsi"] == p["mmsi"].shift()) & (p["track"] == p["track"].shift())
    dt_h = p["timestamp"].diff().dt.total_seconds() / 3600
    after = p.index[same & (dt_h > gap_h)]
    role_other = other_role(event["event_type"])
    out = []
    for i in after:  # loop over silences, not pings
        a, b = p.loc[i - 1], p.loc[i]
        km = float(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]))
        out.append({
            "role": "gap",
            "gap_of": "vessel" if a["mmsi"] == vessels[0] else role_other,
            "segment_id": f"{a['mmsi']}_{a['track']}_gap_{a['segment']}_{b['segment']}",
            "segment_mmsi": int(a["mmsi"]),
            "segment_start": _iso(a["timestamp"]),
            "segment_end": _iso(b["timestamp"]),
            "n_pings": 2,
            "length_km": round(km, 3),
            "gap_h": round(float(dt_h[i]), 3),
            "coordinates": [[round(float(a["lon"]), 6), round(float(a["lat"]), 6)],
                            [round(float(b["lon"]), 6), round(float(b["lat"]), 6)]],
        })
    return out


def features(events: pd.DataFrame, pings: pd.DataFrame) -> list[dict[str, object]]:
    """GeoJSON Feature dicts: per event (by rank) its Point, then its segments' LineStrings,
    then its dark gaps' LineStrings (``role: gap``).

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
            "properties": {"kind": "event", "feature": "event", **base},
        })
        for kind, lines in (("track", _segments(event, pings)), ("gap", _gaps(event, pings))):
            for seg in lines:
                coords = seg.pop("coordinates")
                seg.pop("track_when", None)
                seg.pop("track_coords", None)
                out.append({
                    "type": "Feature",
                    "id": f"{event['event_id']}/{seg['segment_id']}",
                    "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": {"kind": kind, "feature": kind, **base, **seg},
                })
    return out


def to_geojson(events: pd.DataFrame, pings: pd.DataFrame) -> str:
    """An RFC 7946 FeatureCollection (text)."""
    collection = {"type": "FeatureCollection", "features": features(events, pings)}
    return json.dumps(collection, allow_nan=False, ensure_ascii=False, indent=1) + "\n"


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str
         ) -> ET.Element:
    ns = GX_NS if tag.startswith("gx:") else KML_NS
    el = ET.SubElement(parent, f"{{{ns}}}{tag.removeprefix('gx:')}", attrib)
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
    for event_type, colour in _kml_colours().items():
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
    gap = _sub(doc, "Style", id="gap")
    line = _sub(gap, "LineStyle")
    _sub(line, "color", _GAP_KML_COLOUR)
    _sub(line, "width", "3")
    _sub(_sub(gap, "BalloonStyle"), "text", "$[description]")


def _dashes(coords: list[list[float]], n: int = GAP_DASHES) -> list[list[tuple[float, float]]]:
    """Every other of ``n`` equal pieces of the straight line between two positions."""
    (x0, y0), (x1, y1) = coords[0], coords[-1]
    f = [i / n for i in range(n + 1)]
    return [[(x0 + (x1 - x0) * f[i], y0 + (y1 - y0) * f[i]),
             (x0 + (x1 - x0) * f[i + 1], y0 + (y1 - y0) * f[i + 1])] for i in range(0, n, 2)]


def _kml_point(folder: ET.Element, event: pd.Series, base: dict, name: str,
               style: str | None) -> None:
    point = _sub(folder, "Placemark", id=str(event["event_id"]))
    _sub(point, "name", name)
    _sub(point, "description", _description(base, name))
    _time_span(point, base["start_time"] or None, base["end_time"] or None)
    if style:
        _sub(point, "styleUrl", style)
    _extended_data(point, {"kind": "event", "feature": "event", **base})
    _sub(_sub(point, "Point"), "coordinates",
         f"{float(event['lon']):.6f},{float(event['lat']):.6f}")


def _kml_track(folder: ET.Element, seg: dict, base: dict, name: str, style: str | None
               ) -> None:
    """A segment as a ``gx:Track``: one ``when`` and one ``gx:coord`` per position."""
    when, coords = seg.pop("track_when"), seg.pop("track_coords")
    seg.pop("coordinates")
    mark = _sub(folder, "Placemark")
    seg_name = f"{seg['role']} {seg['segment_mmsi']} segment {seg['segment_id']}"
    _sub(mark, "name", seg_name)
    _sub(mark, "description", _description(
        {**base, "segment": f"{seg['segment_start']} to {seg['segment_end']}, "
                            f"{seg['n_pings']} pings, {seg['length_km']} km"},
        f"{name}: {seg_name}"))
    if style:
        _sub(mark, "styleUrl", style if seg["role"] == "vessel" else f"{style}-other")
    _extended_data(mark, {"kind": "track", "feature": "track", **base, **seg})
    track = _sub(mark, "gx:Track")
    _sub(track, "altitudeMode", "clampToGround")
    for t in when:
        _sub(track, "when", t)
    for x, y in coords:
        _sub(track, "gx:coord", f"{x:.6f} {y:.6f} 0")


def _kml_gap(folder: ET.Element, gap: dict, base: dict, name: str) -> None:
    """A dark gap as a dashed red line (a MultiGeometry of short pieces)."""
    coords = gap.pop("coordinates")
    mark = _sub(folder, "Placemark")
    gap_name = f"{gap['gap_of']} {gap['segment_mmsi']} dark {gap['gap_h']:.1f} h"
    _sub(mark, "name", gap_name)
    _sub(mark, "description", _description(
        {**base, "segment": f"silent {gap['segment_start']} to {gap['segment_end']} "
                            f"({gap['gap_h']:.1f} h, {gap['length_km']} km apart)"},
        f"{name}: {gap_name}"))
    _time_span(mark, str(gap["segment_start"]), str(gap["segment_end"]))
    _sub(mark, "styleUrl", "#gap")
    _extended_data(mark, {"kind": "gap", "feature": "gap", **base, **gap})
    multi = _sub(mark, "MultiGeometry")
    for piece in _dashes(coords):
        line = _sub(multi, "LineString")
        _sub(line, "tessellate", "1")
        _sub(line, "coordinates", " ".join(f"{x:.6f},{y:.6f}" for x, y in piece))


def to_kml(events: pd.DataFrame, pings: pd.DataFrame) -> str:
    """An OGC KML 2.2 document (text) with a Folder per kind: events, tracks, gaps."""
    ET.register_namespace("", KML_NS)
    ET.register_namespace("gx", GX_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", "ais flagged events")
    _sub(doc, "open", "1")
    _sub(doc, "description", "Flagged AIS events ranked by anomaly_score: their points, their "
         "vessels' tracks around them (the time slider replays them) and their dark gaps "
         "(dashed red).")
    _styles(doc)
    folders = {}
    for kind, label in (("event", "events"), ("track", "tracks"), ("gap", "gaps")):
        folders[kind] = _sub(doc, "Folder", id=label)
        _sub(folders[kind], "name", label)
    ev = as_events(events).reset_index(drop=True)
    props = _properties(ev)
    styled = set(_kml_colours())  # the types _styles gave a style
    for i, event in ev.iterrows():
        base = props[i]
        kind = str(event["event_type"])
        style = f"#{kind}" if kind in styled else None
        name = f"{i + 1}. {kind} {base.get('vessel_name') or base['mmsi']} " \
               f"({base['anomaly_score']})"
        _kml_point(folders["event"], event, base, name, style)
        for seg in _segments(event, pings):
            _kml_track(folders["track"], seg, base, name, style)
        for gap in _gaps(event, pings):
            _kml_gap(folders["gap"], gap, base, name)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def export(events: pd.DataFrame, pings: pd.DataFrame, path: str | Path, fmt: str,
           maps: str | Path | Iterable[str | Path] | None = None) -> Path:
    """Write the events and their track segments as ``fmt`` (geojson, kml or xlsx)
    atomically.

    Args:
        events: flagged events (from a scan or read back from the CSV), in rank order.
        pings: track rows of the events' vessels with an ``event_id`` column
            (see :func:`ais.views.triage.event_pings`).
        path: the file to write.
        fmt: ``"geojson"``, ``"kml"`` or ``"xlsx"``, in any case.
        maps: for xlsx, folder(s) holding ``EVENT_ID.png`` maps to link each event id to.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "xlsx":
        from ais.views.xlsx import write_xlsx

        return write_xlsx(events, path, maps=maps)
    text = to_geojson(events, pings) if fmt == "geojson" else to_kml(events, pings)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
