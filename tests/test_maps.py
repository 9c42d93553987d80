"""The PNG map of an event (``ais show``) and its thumbnail (``ais report``)."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from ais.maps import event_map

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
