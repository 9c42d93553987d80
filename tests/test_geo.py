"""Vectorised geometry (ais.geo)."""

from __future__ import annotations

import numpy as np
import pytest

from ais.geo import consecutive_km, haversine_km


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_consecutive_distances_equal_haversine_of_each_pair_bit_for_bit(n):
    """The shortcut used on every ping must not move any threshold comparison."""
    rng = np.random.default_rng(n)
    lat, lon = rng.uniform(-89, 89, n), rng.uniform(-180, 180, n)
    lat[::3] = lat[::3].round(3)  # repeated and near-repeated positions
    expected = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]) if n else np.empty(0)
    assert np.array_equal(consecutive_km(lat, lon), expected)
