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

from ais.export import KML_NS, export
from ais.output import CSV_COLUMNS, EXTRA_COLUMNS, write_csv

from .flagged_events import nampo_flagged

K = f"{{{KML_NS}}}"
FIELDS = list(CSV_COLUMNS + EXTRA_COLUMNS)
#: KML 2.2 schema order of a Placemark's children that we write (AbstractFeatureGroup, then
#: the Geometry).
PLACEMARK_ORDER = ["name", "description", "TimeSpan", "styleUrl", "ExtendedData", "Point",
                   "LineString"]


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


def test_kml_has_a_folder_per_event_with_timespan_style_and_csv_fields(flagged, kml,
                                                                        csv_rows):
    root = ET.parse(kml).getroot()
    assert root.tag == f"{K}kml"
    doc = root.find(f"{K}Document")
    styles = {s.get("id") for s in doc.findall(f"{K}Style")}
    folders = doc.findall(f"{K}Folder")
    assert len(folders) == len(flagged.events)
    by_id = csv_rows.set_index("event_id")
    for folder, (_, ev) in zip(folders, flagged.events.iterrows(), strict=True):
        point = folder.find(f"{K}Placemark[@id='{ev['event_id']}']")
        data = {d.get("name"): d.findtext(f"{K}value") or ""
                for d in point.iter(f"{K}Data")}
        row = by_id.loc[ev["event_id"]]
        assert {c: data[c] for c in FIELDS[1:]} == {c: row[c] for c in FIELDS[1:]}
        assert point.findtext(f"{K}TimeSpan/{K}begin") == row["start_time"]
        assert (point.findtext(f"{K}TimeSpan/{K}end") or "") == row["end_time"]
        assert point.findtext(f"{K}styleUrl").lstrip("#") in styles
        lon, lat = map(float, point.findtext(f"{K}Point/{K}coordinates").split(","))
        assert (lon, lat) == (pytest.approx(ev["lon"], abs=1e-6), pytest.approx(ev["lat"],
                                                                                 abs=1e-6))


def test_kml_lines_hold_the_event_tracks_with_their_times(flagged, kml):
    root = ET.parse(kml).getroot()
    for folder, event_id in zip(root.iter(f"{K}Folder"), flagged.events["event_id"],
                                strict=True):
        drawn = set()
        for mark in folder.findall(f"{K}Placemark"):
            text = mark.findtext(f"{K}LineString/{K}coordinates")
            if text is None:
                continue
            assert mark.findtext(f"{K}TimeSpan/{K}begin") <= \
                mark.findtext(f"{K}TimeSpan/{K}end")
            drawn |= {(round(float(x), 5), round(float(y), 5))
                      for x, y in (pair.split(",") for pair in text.split())}
        assert _event_coords(flagged, event_id) <= drawn


def test_kml_placemarks_follow_the_kml22_schema_order(kml):
    for mark in ET.parse(kml).getroot().iter(f"{K}Placemark"):
        tags = [child.tag.removeprefix(K) for child in mark]
        assert tags == sorted(tags, key=PLACEMARK_ORDER.index)


def test_gdal_reads_the_kml_as_google_earth_and_qgis_would(flagged, kml):
    layers = pyogrio.list_layers(kml)
    assert len(layers) == len(flagged.events)
    first = gpd.read_file(kml, layer=layers[0][0])
    assert {"event_id", "anomaly_score", "reason", "begin", "end"} <= set(first.columns)
    assert set(first.geom_type) == {"Point", "LineString"}


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
    with pytest.raises(ValueError, match="geojson, kml"):
        export(flagged.events, flagged.pings, tmp_path / "x.shp", "shp")
    assert list(tmp_path.iterdir()) == []
