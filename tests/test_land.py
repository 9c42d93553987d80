"""The land grid is read only around the watch areas: the boxes must hold every point the
areas hold, wherever the area is (near a pole, across 180 E, a polygon)."""

from __future__ import annotations

import numpy as np
import pytest

from ais.config import Config
from ais.geography import land
from ais.geography.geo import watch_area
from ais.geography.places import WatchArea

AREAS = {
    "default (Nampo, Najin)": Config().areas,
    "across 180 E": (WatchArea("Chukotka", 65.0, 179.5, 300.0),),
    "near the pole": (WatchArea("Svalbard", 88.5, 15.0, 250.0),),
    "polygon": (WatchArea("triangle", 51.0, 11.0, 0, polygon=((10.0, 50.0), (12.0, 50.0),
                                                      (12.0, 52.0), (10.0, 50.0))),),
}


@pytest.mark.parametrize("areas", AREAS.values(), ids=AREAS.keys())
def test_area_boxes_hold_every_point_of_their_areas(areas):
    rng = np.random.default_rng(5)
    lat = rng.uniform(-89.9, 89.9, 400_000)
    lon = rng.uniform(-180, 180, 400_000)
    for area in areas:  # and many points close to each area's edge
        lat = np.r_[lat, np.clip(area.lat + rng.uniform(-5, 5, 100_000), -89.9, 89.9)]
        lon = np.r_[lon, ((area.lon + rng.uniform(-10, 10, 100_000) + 180) % 360) - 180]
    inside = watch_area(lat, lon, areas) != ""
    assert inside.sum() > 500
    near = land.near_areas(lat, lon, areas)
    assert not (inside & ~near).any()
    assert near.mean() < 0.5  # and the boxes are boxes, not the globe


def test_land_far_from_every_watch_area_is_never_read_or_flagged():
    # the middle of Australia is land, but no watch area is near it
    assert land.is_land(np.array([-25.0]), np.array([134.0]))[0]
    assert not land.inland_outside_places(np.array([-25.0]), np.array([134.0]), Config())[0]


def test_the_unpacked_grid_is_cached_between_runs_and_a_bad_cache_is_replaced(
        tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = land._unpack(1024)
    (cached,) = (tmp_path / "ais").glob("land-bits-*.npy")
    again = land._unpack(1024)
    assert isinstance(again, np.memmap) and np.array_equal(again, fresh)
    cached.write_bytes(b"not an array")
    assert np.array_equal(land._unpack(1024), fresh)
    assert np.load(cached).shape == fresh.shape  # rewritten whole


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("a file where the cache folder should be")
    assert land._unpack(1024).shape == (1024, 43200 // 8)


def test_one_cache_file_whatever_the_install_and_stale_ones_are_removed(tmp_path, monkeypatch):
    """Every reinstall copies the same grid with a new time stamp: still one cache file,
    named after the grid's content, and the caches of the old naming are tidied away."""
    import shutil

    cache_home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    (cache_home / "ais").mkdir(parents=True)
    stale = cache_home / "ais" / "land-bits-1024-2500000-1700000000000000000.npy"
    stale.write_bytes(b"an older install's cache")
    unrelated = cache_home / "ais" / "notes.txt"
    unrelated.write_text("not ours")
    grid = land._grid_file()
    installs = []
    for i in range(2):
        copy = tmp_path / f"install{i}" / grid.name
        copy.parent.mkdir()
        shutil.copy(grid, copy)  # new time stamp, same bytes
        installs.append(copy)
    for copy in installs:
        monkeypatch.setattr(land, "_grid_file", lambda copy=copy: copy)
        land._unpack(1024)
    assert [p.name for p in (cache_home / "ais").glob("land-bits-*.npy")] == [
        f"land-bits-{land._grid_hash(grid)}.npy"]
    assert unrelated.exists()
    # a scan further south needs more rows: the one file grows; a northern one reuses it
    more = land._unpack(2048)
    (cached,) = (cache_home / "ais").glob("land-bits-*.npy")
    assert np.load(cached, mmap_mode="r").shape[0] == 2048
    assert np.array_equal(land._unpack(1024), more[:1024])
    assert len(list((cache_home / "ais").glob("land-bits-*.npy"))) == 1
