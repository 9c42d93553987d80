"""``ais export``: flagged events with their track segments as GeoJSON (QGIS) and KML
(Google Earth), checked with json, geopandas/GDAL and xml.etree."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from ais.views.export import GX_NS, KML_NS, export
from ais.views.output import CSV_COLUMNS, EXTRA_COLUMNS, write_csv

from .flagged_events import nampo_flagged

K = f"{{{KML_NS}}}"
GX = f"{{{GX_NS}}}"
FIELDS = list(CSV_COLUMNS + EXTRA_COLUMNS)
#: KML 2.2 schema order of a Placemark's children that we write (AbstractFeatureGroup, then
#: the Geometry).
PLACEMARK_ORDER = ["name", "description", "TimeSpan", "styleUrl", "ExtendedData", "Point",
                   "LineString", "Track", "MultiGeometry"]


@pytest.fixture(scope="module")
def flagged():
    return nampo_flagged()


@pytest.fixture(scope="module")
def csv_rows(flagged, tmp_path_factory):
    """The CSV as an analyst's script reads it: every field as text."""
    path = write_csv(flagged.events, tmp_path_factory.mktemp("csv") / "flagged.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def geojson(flagged, tmp_path_factory):
    return export(flagged.events, flagged.pings,
                  tmp_path_factory.mktemp("export") / "flagged.geojson", "geojson")


@pytest.fixture(scope="module")
def kml(flagged, tmp_path_factory):
    return export(flagged.events, flagged.pings,
                  tmp_path_factory.mktemp("export") / "flagged.kml", "kml")


def _event_coords(flagged, event_id: str) -> set[tuple[float, float]]:
    mine = flagged.pings[flagged.pings["event_id"] == event_id]
    # rounded like the export's coordinates (6 decimals) before the 5-decimal comparison, so
    # a value such as 124.990905 rounds the same way on both sides
    return {(round(round(x, 6), 5), round(round(y, 6), 5))
            for x, y in zip(mine["lon"], mine["lat"], strict=True)}


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(value)
    return str(value)


def test_geojson_is_rfc7946_with_a_point_per_event_in_lon_lat_order(flagged, geojson):
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    assert [f["properties"]["event_id"] for f in points] == list(flagged.events["event_id"])
    for feature, (_, ev) in zip(points, flagged.events.iterrows(), strict=True):
        lon, lat = feature["geometry"]["coordinates"]
        assert lon == pytest.approx(ev["lon"], abs=1e-6)
        assert lat == pytest.approx(ev["lat"], abs=1e-6)


def test_geojson_lines_hold_every_ping_of_each_event(flagged, geojson):
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    for event_id in flagged.events["event_id"]:
        lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"
                 and f["properties"]["event_id"] == event_id]
        assert lines, event_id
        drawn = {(round(x, 5), round(y, 5)) for f in lines
                 for x, y in f["geometry"]["coordinates"]}
        assert _event_coords(flagged, event_id) <= drawn


def test_meetup_lines_are_the_vessel_and_its_partner(flagged, geojson):
    ev = flagged.event("meetup")
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    roles = {(f["properties"]["role"], f["properties"]["segment_mmsi"])
             for f in doc["features"] if f["properties"]["event_id"] == ev["event_id"]
             and f["properties"]["feature"] == "track"}
    assert roles == {("vessel", int(ev["mmsi"])), ("partner", int(ev["other_mmsi"]))}


def test_geojson_properties_are_the_csv_fields(geojson, csv_rows):
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    by_id = csv_rows.set_index("event_id")
    for feature in doc["features"]:
        props = feature["properties"]
        row = by_id.loc[props["event_id"]]
        for col in FIELDS[1:]:
            assert _as_text(props[col]) == row[col], (props["event_id"], col)


def test_qgis_reads_the_geojson_as_wgs84_points_and_lines(flagged, geojson):
    frame = gpd.read_file(geojson)
    assert frame.crs.to_epsg() == 4326
    assert (frame.geom_type == "Point").sum() == len(flagged.events)
    assert (frame.geom_type == "LineString").sum() >= len(flagged.events)
    assert set(FIELDS) <= set(frame.columns)


def _folder(kml, name: str) -> ET.Element:
    doc = ET.parse(kml).getroot().find(f"{K}Document")
    return next(f for f in doc.findall(f"{K}Folder") if f.findtext(f"{K}name") == name)


def test_kml_has_one_folder_per_kind_and_a_point_per_event_with_csv_fields(flagged, kml,
                                                                            csv_rows):
    root = ET.parse(kml).getroot()
    assert root.tag == f"{K}kml"
    doc = root.find(f"{K}Document")
    styles = {s.get("id") for s in doc.findall(f"{K}Style")}
    assert [f.findtext(f"{K}name") for f in doc.findall(f"{K}Folder")] == [
        "events", "tracks", "gaps"]
    points = _folder(kml, "events").findall(f"{K}Placemark")
    assert [p.get("id") for p in points] == list(flagged.events["event_id"])  # by rank
    by_id = csv_rows.set_index("event_id")
    for point, (_, ev) in zip(points, flagged.events.iterrows(), strict=True):
        data = {d.get("name"): d.findtext(f"{K}value") or ""
                for d in point.iter(f"{K}Data")}
        row = by_id.loc[ev["event_id"]]
        assert {c: data[c] for c in FIELDS[1:]} == {c: row[c] for c in FIELDS[1:]}
        assert data["kind"] == "event"
        assert point.findtext(f"{K}TimeSpan/{K}begin") == row["start_time"]
        assert (point.findtext(f"{K}TimeSpan/{K}end") or "") == row["end_time"]
        assert point.findtext(f"{K}styleUrl").lstrip("#") in styles
        lon, lat = map(float, point.findtext(f"{K}Point/{K}coordinates").split(","))
        assert (lon, lat) == (pytest.approx(ev["lon"], abs=1e-6), pytest.approx(ev["lat"],
                                                                                 abs=1e-6))


def test_kml_tracks_replay_with_one_when_per_position(flagged, kml):
    """gx:Track: Google Earth's time slider moves along the track ping by ping."""
    drawn: dict[str, set] = {}
    for mark in _folder(kml, "tracks").findall(f"{K}Placemark"):
        data = {d.get("name"): d.findtext(f"{K}value") for d in mark.iter(f"{K}Data")}
        track = mark.find(f"{GX}Track")
        whens = [w.text for w in track.findall(f"{K}when")]
        coords = [c.text.split() for c in track.findall(f"{GX}coord")]
        assert len(whens) == len(coords) == int(data["n_pings"]) >= 2
        assert whens == sorted(whens) and whens[0] == data["segment_start"]
        assert whens[-1] == data["segment_end"]
        drawn.setdefault(data["event_id"], set()).update(
            (round(float(x), 5), round(float(y), 5)) for x, y, _ in coords)
    for event_id in flagged.events["event_id"]:
        assert _event_coords(flagged, event_id) <= drawn[event_id]


def test_the_dark_gap_is_a_dashed_line_in_kml_and_a_gap_line_in_geojson(flagged, kml,
                                                                          geojson):
    ev = flagged.event("dark_period")
    gaps = [m for m in _folder(kml, "gaps").findall(f"{K}Placemark")
            if any(d.get("name") == "event_id" and d.findtext(f"{K}value") == ev["event_id"]
                   for d in m.iter(f"{K}Data"))]
    assert len(gaps) >= 1
    mark = gaps[0]
    assert mark.findtext(f"{K}styleUrl") == "#gap"
    dashes = mark.findall(f"{K}MultiGeometry/{K}LineString")
    assert len(dashes) >= 10  # pieces with gaps between them: a dashed line
    ends = [tuple(map(float, d.findtext(f"{K}coordinates").split()[i].split(",")))
            for d in (dashes[0], dashes[-1]) for i in (0, -1)]
    assert ends[1] != ends[2]  # the first dash ends before the last begins
    # GeoJSON: the gap as a LineString from the last ping before to the first after
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    gap = next(f for f in doc["features"] if f["properties"]["event_id"] == ev["event_id"]
               and f["properties"].get("role") == "gap")
    assert gap["properties"]["kind"] == "gap" and gap["geometry"]["type"] == "LineString"
    mine = flagged.pings[(flagged.pings["event_id"] == ev["event_id"])
                         & (flagged.pings["mmsi"] == ev["mmsi"])]
    before = mine[mine["timestamp"] <= ev["start_time"]].iloc[-1]
    after = mine[mine["timestamp"] >= ev["end_time"]].iloc[0]
    assert gap["geometry"]["coordinates"] == [
        [pytest.approx(before["lon"], abs=1e-6), pytest.approx(before["lat"], abs=1e-6)],
        [pytest.approx(after["lon"], abs=1e-6), pytest.approx(after["lat"], abs=1e-6)]]
    assert gap["properties"]["gap_h"] == pytest.approx(
        (after["timestamp"] - before["timestamp"]).total_seconds() / 3600, abs=1e-3)


def test_kml_placemarks_follow_the_kml22_schema_order(kml):
    for mark in ET.parse(kml).getroot().iter(f"{K}Placemark"):
        tags = [child.tag.removeprefix(K).replace(f"{{{GX_NS}}}", "") for child in mark]
        assert tags == sorted(tags, key=PLACEMARK_ORDER.index)


def test_gdal_reads_the_kml_as_three_layers_events_tracks_gaps(flagged, kml):
    layers = [name for name, _ in pyogrio.list_layers(kml)]
    assert layers == ["events", "tracks", "gaps"]  # not one layer per event
    events = gpd.read_file(kml, layer="events")
    assert len(events) == len(flagged.events)
    assert {"event_id", "anomaly_score", "reason", "begin", "end"} <= set(events.columns)
    assert set(events.geom_type) == {"Point"}
    assert set(gpd.read_file(kml, layer="tracks").geom_type) == {"LineString"}
    assert set(gpd.read_file(kml, layer="gaps").geom_type) == {"MultiLineString"}


def test_geojson_kinds_split_events_tracks_and_gaps(geojson):
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    kinds = {(f["properties"]["kind"], f["geometry"]["type"]) for f in doc["features"]}
    assert kinds == {("event", "Point"), ("track", "LineString"), ("gap", "LineString")}


def test_hostile_names_stay_text_in_kml_balloons_and_geojson(flagged, tmp_path):
    events = flagged.events.head(2).copy()
    events.loc[0, "vessel_name"] = "<script>alert(1)</script> & <b>"
    kml = export(events, flagged.pings, tmp_path / "x.kml", "kml")
    mark = ET.parse(kml).getroot().find(f".//{K}Placemark[@id='{events.loc[0, 'event_id']}']")
    balloon = mark.findtext(f"{K}description")
    assert "<script>" not in balloon and "&lt;script&gt;alert(1)&lt;/script&gt;" in balloon
    # balloons show only the (escaped) description, never the raw name or ExtendedData
    doc_el = ET.parse(kml).getroot().find(f"{K}Document")
    assert {s.findtext(f"{K}BalloonStyle/{K}text") for s in doc_el.findall(f"{K}Style")} \
        == {"$[description]"}
    for placemark in doc_el.iter(f"{K}Placemark"):
        assert "<script>" not in placemark.findtext(f"{K}description")
    name = next(d.findtext(f"{K}value") for d in mark.iter(f"{K}Data")
                if d.get("name") == "vessel_name")
    assert name == "<script>alert(1)</script> & <b>"  # data stays data
    doc = json.loads(export(events, flagged.pings, tmp_path / "x.geojson", "geojson")
                     .read_text(encoding="utf-8"))
    assert doc["features"][0]["properties"]["vessel_name"] == events.loc[0, "vessel_name"]


def test_export_from_the_csv_matches_export_from_the_scan(flagged, tmp_path):
    events = flagged.events.groupby("event_type").head(1)  # one of each type, to stay fast
    back = pd.read_csv(write_csv(events, tmp_path / "flagged.csv"))
    docs = [json.loads(export(frame, flagged.pings, tmp_path / f"{i}.geojson", "geojson")
                       .read_text(encoding="utf-8")) for i, frame in enumerate((events, back))]
    scan, csv = docs
    assert len(scan["features"]) == len(csv["features"])
    for a, b in zip(scan["features"], csv["features"], strict=True):
        assert a["id"] == b["id"]
        # the CSV keeps 6 significant digits of floats; everything else is identical
        assert a["geometry"]["type"] == b["geometry"]["type"]
        np.testing.assert_allclose(a["geometry"]["coordinates"],
                                   b["geometry"]["coordinates"], rtol=1e-5)
        for key, value in a["properties"].items():
            if isinstance(value, float):
                assert b["properties"][key] == pytest.approx(value, rel=1e-5), key
            else:
                assert b["properties"][key] == value, key


def test_unknown_format_is_refused_before_anything_is_written(flagged, tmp_path):
    with pytest.raises(ValueError, match="geojson, kml, xlsx"):
        export(flagged.events, flagged.pings, tmp_path / "x.shp", "shp")
    assert list(tmp_path.iterdir()) == []
