"""The PNG map of an event (``ais show``) and its thumbnail (``ais report``)."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from ais.views.maps import event_map

from .flagged_events import nampo_flagged

VIRIDIS = matplotlib.colormaps["viridis"](np.linspace(0, 1, 32))[:, :3]
GAP_RED = np.array([0xD7, 0x30, 0x1F]) / 255


@pytest.fixture(scope="module")
def flagged():
    return nampo_flagged()


def _png(data: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(data), format="png")[:, :, :3]


def _pixels_like(image: np.ndarray, colours: np.ndarray, tol: float = 0.04) -> int:
    """How many pixels are within ``tol`` of one of the colours (every third pixel of a big
    image, to stay fast)."""
    if image.shape[0] > 400:
        image = image[::3, ::3]
    flat = image.reshape(-1, 1, 3)
    return int(np.sum(np.min(np.abs(flat - colours.reshape(1, -1, 3)).max(axis=2), axis=1)
                      < tol))


def test_meetup_map_is_written_atomically_and_is_the_png_returned(flagged, tmp_path):
    ev = flagged.event("meetup")
    path = tmp_path / "maps" / f"{ev['event_id']}.png"
    data = event_map(ev, flagged.pings, flagged.cfg, path=path)
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over
    image = mpimg.imread(path)
    assert image.shape[1] > 1000 and image.shape[0] > 700


def test_thumbnail_is_small(flagged):
    ev = flagged.event("meetup")
    height, width, _ = _png(event_map(ev, flagged.pings, flagged.cfg, small=True)).shape
    assert width <= 400 and height <= 300


def test_pings_are_drawn_coloured_by_time(flagged):
    ev = flagged.event("meetup")
    for small in (True, False):
        with_pings = _png(event_map(ev, flagged.pings, flagged.cfg, small=small))
        without = _png(event_map(ev, flagged.pings.iloc[:0], flagged.cfg, small=small))
        if not small:  # the map only, not the colour bar beside it
            width = with_pings.shape[1]
            with_pings, without = with_pings[:, : width * 7 // 10], without[:, : width * 7 // 10]
        assert _pixels_like(with_pings, VIRIDIS) > 100
        assert _pixels_like(without, VIRIDIS) == 0


def test_a_dark_gap_is_drawn_between_the_last_ping_before_and_the_first_after(flagged):
    ev = flagged.event("dark_period")
    pings = flagged.pings[flagged.pings["event_id"] == ev["event_id"]]
    mine = pings[pings["mmsi"] == ev["mmsi"]]
    before = mine[mine["timestamp"] <= ev["start_time"]].iloc[-1]
    after = mine[mine["timestamp"] >= ev["end_time"]].iloc[0]
    steps = np.linspace(0, 1, 200)[1:-1]
    filled_gap = pd.DataFrame({
        "mmsi": ev["mmsi"], "track": before["track"], "segment": before["segment"],
        "timestamp": before["timestamp"] + (after["timestamp"] - before["timestamp"]) * steps,
        "lat": before["lat"] + (after["lat"] - before["lat"]) * steps,
        "lon": before["lon"] + (after["lon"] - before["lon"]) * steps,
        "event_id": ev["event_id"]})
    no_gap = pd.concat([pings, filled_gap], ignore_index=True)
    dark = _png(event_map(ev, pings, flagged.cfg, small=True))
    reported = _png(event_map(ev, no_gap, flagged.cfg, small=True))
    assert _pixels_like(dark, GAP_RED[None, :]) > _pixels_like(reported, GAP_RED[None, :]) + 50


def test_hostile_vessel_names_are_drawn_as_text(flagged):
    ev = flagged.event("meetup").copy()
    ev["vessel_name"] = r"<script>alert(1)</script> $\frac{1}{"
    ev["other_vessel_name"] = "$$"
    assert _png(event_map(ev, flagged.pings, flagged.cfg)).shape[0] > 700


def test_every_flagged_event_of_the_day_has_a_map(flagged):
    for _, ev in flagged.events.iterrows():
        assert _png(event_map(ev, flagged.pings, flagged.cfg, small=True)).size


# -- maps with land, degree labels, a time legend, both legs, labels that do not collide ------

LAND_BEIGE = np.array([0xEB, 0xE6, 0xD6]) / 255


def _event_at(pings: pd.DataFrame, event_type: str = "loitering") -> pd.Series:
    """A flagged-event row for the vessel of ``pings`` over their whole time."""
    mid = pings.iloc[len(pings) // 2]
    return pd.Series({
        "event_id": "TST-1", "event_type": event_type, "mmsi": int(pings["mmsi"].iloc[0]),
        "start_time": pings["timestamp"].min(), "end_time": pings["timestamp"].max(),
        "duration_h": 1.0, "lat": float(mid["lat"]), "lon": float(mid["lon"]),
        "anomaly_score": 0.9})


def _out_and_back(at: tuple[float, float], to: tuple[float, float]) -> pd.DataFrame:
    from ais.synth.world import vessel

    v = vessel(441000001, "OUT AND BACK", at=at, report_every_s=120).sail(to, hours=8) \
        .sail(at, hours=8)
    return v.pings()


def test_a_map_by_the_korean_coast_shades_land_and_one_at_open_sea_none():
    near_nampo = _out_and_back((38.60, 125.00), (38.65, 125.30))  # the Taedong approaches
    mid_pacific = _out_and_back((20.00, -150.00), (20.05, -149.70))
    for small in (True, False):
        coast = _png(event_map(_event_at(near_nampo), near_nampo, small=small))
        ocean = _png(event_map(_event_at(mid_pacific), mid_pacific, small=small))
        assert _pixels_like(coast, LAND_BEIGE[None, :], tol=0.02) > 500
        assert _pixels_like(ocean, LAND_BEIGE[None, :], tol=0.02) == 0


def test_axes_read_degrees_east_west_north_south():
    from ais.views.maps import _DegreeFormatter

    lon = _DegreeFormatter("x").format_ticks([-100.6, -100.4, -100.2])
    lat = _DegreeFormatter("y").format_ticks([-33.9, 38.6, 38.7])
    assert lon == ["100.6°W", "100.4°W", "100.2°W"]
    assert lat[1:] == ["38.6°N", "38.7°N"] and lat[0] == "33.9°S"
    assert _DegreeFormatter("x").format_ticks([124.5, 125.0, 125.5]) == [
        "124.5°E", "125.0°E", "125.5°E"]


def _longest_viridis_row(image: np.ndarray) -> int:
    """The most distinct viridis shades (of 32) found in one pixel row: a colour bar holds
    them all, a track only a few."""
    best = 0
    for row in image:
        d = np.abs(row[:, None, :] - VIRIDIS[None, :, :]).max(axis=2)
        hit = d.min(axis=0) < 0.03
        best = max(best, int(hit.sum()))
    return best


def test_thumbnail_has_a_time_legend(flagged):
    ev = flagged.event("meetup")
    thumb = _png(event_map(ev, flagged.pings, flagged.cfg, small=True))
    assert _longest_viridis_row(thumb) >= 28
    bare = _png(event_map(ev, flagged.pings.iloc[:0], flagged.cfg, small=True))
    assert _longest_viridis_row(bare) == 0  # no pings, no legend


def test_inbound_and_outbound_legs_over_the_same_water_are_both_visible():
    pings = _out_and_back((38.30, 124.40), (38.30, 124.70))  # east then back west, one line
    thumb = _png(event_map(_event_at(pings), pings, small=True))
    early, late = VIRIDIS[:10], VIRIDIS[-10:]
    n_early, n_late = _pixels_like(thumb, early, 0.03), _pixels_like(thumb, late, 0.03)
    # the legend holds about 40 of each; the outbound leg drawn below must show too
    assert n_early > 150 and n_late > 150


def test_gap_labels_at_the_same_place_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from ais.views.maps import _place_labels

    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _place_labels(ax, [(0.5, 0.5, "dark 6.0 h"), (0.5, 0.5, "dark 7.5 h"),
                       (0.51, 0.5, "dark 12.0 h")], fs=9)
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_map_places_are_the_ports_and_anchorages_in_the_view(flagged):
    import dataclasses

    from ais.views.maps import map_places

    view = (125.0, 125.6, 38.5, 38.9, 87.0)  # Nampo and the Taedong estuary
    places = map_places(flagged.cfg, view)
    names = [p.name for p in places]
    assert "Nampo" in names and "Najin" not in names
    assert "Taean" in names  # a DPRK port of the global table, not configured
    assert names.count("Nampo") == 1  # the table's Nampo is the configured one
    assert all(view[0] <= p.lon <= view[1] and view[2] <= p.lat <= view[3] for p in places)
    no_table = dataclasses.replace(
        flagged.cfg, ports=dataclasses.replace(flagged.cfg.ports, table=False))
    assert "Taean" not in [p.name for p in map_places(no_table, view)]
