"""The analyst's morning: scan the fixture night, then show, export and report its events."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.nightly.state import State
from tests.conftest import FIXTURES

KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("night")
    csv = out / "flagged.csv"
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "nampo_day.parquet"), "-o",
                                       str(csv), "-q"])
    assert result.exit_code == 0, result.output
    flagged = pd.read_csv(csv)
    with State.open(out / "ais-state.duckdb", read_only=True) as st:
        pings = st.event_pings(list(flagged["event_id"]))
    return {"out": out, "csv": csv, "flagged": flagged, "pings": pings}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_show_tells_the_story_and_draws_the_map(night) -> None:
    meetup = night["flagged"][night["flagged"]["event_type"] == "meetup"].iloc[0]
    png = night["out"] / "meetup.png"
    result = run("show", meetup["event_id"], "--state", str(night["out"] / "ais-state.duckdb"),
                 "--png", str(png))
    assert result.exit_code == 0, result.output
    assert meetup["event_id"] in result.output
    assert str(meetup["vessel_name"]) in result.output
    assert str(meetup["other_vessel_name"]) in result.output
    image = mpimg.imread(png)
    assert image.shape[0] > 300 and image.shape[1] > 300
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_show_of_an_unknown_event_says_where_ids_come_from(night) -> None:
    result = run("show", "MTG-000000000000", "--state", str(night["out"] / "ais-state.duckdb"))
    assert result.exit_code == 1
    assert "no event MTG-000000000000" in result.output and "first column" in result.output


def test_export_kml_holds_every_event_with_its_tracks(night) -> None:
    result = run("export", str(night["csv"]), "--format", "kml")
    assert result.exit_code == 0, result.output
    doc = ET.parse(night["out"] / "flagged.kml").getroot()
    placemarks = doc.iter(f"{KML}Placemark")
    text = ET.tostring(doc, encoding="unicode")
    for event_id in night["flagged"]["event_id"]:
        assert event_id in text
    tracks = [p for p in placemarks if p.find(f".//{GX}Track") is not None]
    assert len(tracks) >= len(night["flagged"])
    # the dark vessel's last ping before its gap is one of the exported coordinates
    dark = night["flagged"][night["flagged"]["event_type"] == "dark_period"].iloc[0]
    mine = night["pings"][(night["pings"]["event_id"] == dark["event_id"])]
    before = mine[pd.to_datetime(mine["timestamp"], utc=True)
                  <= pd.Timestamp(dark["start_time"])].iloc[-1]
    assert f"{before['lon']:.6f}"[:8] in text and f"{before['lat']:.6f}"[:7] in text


def test_export_geojson_is_lon_lat_features_with_csv_fields(night) -> None:
    result = run("export", str(night["csv"]), "--format", "geojson", "-o",
                 str(night["out"] / "f.geojson"))
    assert result.exit_code == 0, result.output
    doc = json.loads((night["out"] / "f.geojson").read_text())
    assert doc["type"] == "FeatureCollection"
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    assert {f["properties"]["event_id"] for f in points} == set(night["flagged"]["event_id"])
    first = night["flagged"].iloc[0]
    point = next(f for f in points if f["properties"]["event_id"] == first["event_id"])
    assert point["geometry"]["coordinates"][0] == pytest.approx(first["lon"], abs=1e-4)
    assert point["properties"]["reason"] == first["reason"]


def test_report_is_one_self_contained_page(night) -> None:
    result = run("report", str(night["csv"]), "-o", str(night["out"] / "night.html"))
    assert result.exit_code == 0, result.output
    html = (night["out"] / "night.html").read_text()
    assert html.count("data:image/png;base64,") == len(night["flagged"])
    assert "http://" not in html.replace("http://www.w3.org", "")
    for reason in night["flagged"]["reason"]:
        assert reason.split(" ")[0] in html
    assert "nampo_day.parquet" in html


def test_export_format_is_case_insensitive(night) -> None:
    result = run("export", str(night["csv"]), "--format", "KML", "-o",
                 str(night["out"] / "upper.kml"))
    assert result.exit_code == 0, result.output
    assert ET.parse(night["out"] / "upper.kml").getroot().tag == f"{KML}kml"


def test_export_xlsx_links_the_event_ids_whose_map_was_written(night, tmp_path,
                                                               monkeypatch) -> None:
    from openpyxl import load_workbook

    shown = night["flagged"].iloc[1]["event_id"]
    monkeypatch.chdir(tmp_path)  # `ais show` writes EVENT_ID.png in the current folder
    assert run("show", shown, "--state", str(night["out"] / "ais-state.duckdb")).exit_code == 0
    out = tmp_path / "flagged.xlsx"
    result = run("export", str(night["csv"]), "--format", "xlsx", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "1 linked to their map" in result.output
    ws = load_workbook(out).active
    links = {ws.cell(r, 1).value: ws.cell(r, 1).hyperlink for r in range(2, ws.max_row + 1)}
    assert set(links) == set(night["flagged"]["event_id"])
    assert links[shown].target == f"{shown}.png"
    assert all(link is None for event_id, link in links.items() if event_id != shown)
