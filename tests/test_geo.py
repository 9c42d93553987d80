"""Vectorised geometry (ais.geography.geo)."""

from __future__ import annotations

import numpy as np
import pytest

from ais.geography.geo import (
    KM_PER_DEG,
    SphereTree,
    consecutive_km,
    destination,
    haversine_km,
)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_consecutive_distances_equal_haversine_of_each_pair_bit_for_bit(n):
    """The shortcut used on every ping must not move any threshold comparison."""
    rng = np.random.default_rng(n)
    lat, lon = rng.uniform(-89, 89, n), rng.uniform(-180, 180, n)
    lat[::3] = lat[::3].round(3)  # repeated and near-repeated positions
    expected = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]) if n else np.empty(0)
    assert np.array_equal(consecutive_km(lat, lon), expected)


def test_a_destination_lies_at_its_distance_and_heading_north_moves_along_a_meridian():
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-80, 80, 500), rng.uniform(-180, 180, 500)
    bearing, km = rng.uniform(0, 360, 500), rng.uniform(0, 2000, 500)
    lat2, lon2 = destination(lat, lon, bearing, km)
    assert np.allclose(haversine_km(lat, lon, lat2, lon2), km, rtol=0, atol=1e-6)
    north_lat, north_lon = destination(38.7, 125.2, 0.0, 55.0)
    assert north_lat == pytest.approx(38.7 + 55.0 / KM_PER_DEG) and north_lon == 125.2


def test_destination_agrees_with_the_synthetic_worlds_scalar_copy():
    """ais.synth.world keeps a scalar copy for its generator; both say the same place."""
    from ais.synth.world import _destination

    for lat, lon, bearing, km in [(38.7, 125.2, 45.0, 12.0), (42.2, 130.3, 270.0, 0.4),
                                  (-33.9, 179.9, 90.0, 50.0)]:
        lat2, lon2 = destination(lat, lon, bearing, km)
        want = _destination(lat, lon, bearing, km)
        assert lat2 == pytest.approx(want[0], abs=1e-12)
        assert (lon2 + 540.0) % 360.0 - 180.0 == pytest.approx(want[1], abs=1e-12)


def test_the_sphere_tree_finds_the_nearest_point_by_great_circle_anywhere_on_earth():
    rng = np.random.default_rng(3)
    # ports spread over the globe, a cluster near the date line and one at each pole
    plat = np.r_[rng.uniform(-80, 80, 300), 65.0, 65.2, 90.0, -90.0]
    plon = np.r_[rng.uniform(-180, 180, 300), 179.9, -179.9, 0.0, 0.0]
    qlat = np.r_[rng.uniform(-89, 89, 500), 65.1, 89.99]
    qlon = np.r_[rng.uniform(-180, 180, 500), 180.0, 123.0]
    km, idx = SphereTree(plat, plon).nearest(qlat, qlon)
    brute = haversine_km(qlat[:, None], qlon[:, None], plat[None, :], plon[None, :])
    np.testing.assert_array_equal(idx, brute.argmin(axis=1))
    np.testing.assert_allclose(km, brute.min(axis=1), atol=1e-9)


def test_the_sphere_tree_lists_every_point_within_a_radius_and_no_other():
    rng = np.random.default_rng(4)
    plat, plon = rng.uniform(30, 45, 400), rng.uniform(120, 135, 400)
    qlat, qlon = rng.uniform(30, 45, 50), rng.uniform(120, 135, 50)
    radius = rng.uniform(1, 500, 50)
    hits = SphereTree(plat, plon).within(qlat, qlon, radius)
    for q in range(50):
        d = haversine_km(qlat[q], qlon[q], plat, plon)
        np.testing.assert_array_equal(hits[q], np.flatnonzero(d <= radius[q]))
    # a radius past half the circumference reaches every point
    assert len(SphereTree(plat, plon).within([-40.0], [-60.0], [30_000.0])[0]) == 400
