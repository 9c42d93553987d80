"""Distance to shore from the 1 km land grid we ship (``global-land-mask``, see
``ais.geography.land``).

:func:`distance_to_shore_km` looks for land on rings of growing radius around each point
(16 bearings per ring; radii from 0 to :data:`MAX_SHORE_KM`): the distance is the first ring
with a land cell, ``MAX_SHORE_KM`` when none has one. It is meant for events (hundreds to
thousands of points), not pings: a point costs ``len(RINGS_KM) * 16`` grid look-ups, all in
one vectorised call. The grid resolves about 1 km, so distances under 1 km are coarse and a
harbour basin or river may itself be land (distance 0).

The rule we take from it (applied in :mod:`ais.judging.waits`): a slow or silent vessel within
``[ports] berth_shore_km`` (1.5 km) of land and within ``berth_port_km`` (30 km) of a port
is at a berth, a marina, a lock or in a river, not loitering at sea; a loitering or meetup
position on a land cell is never "at sea" anywhere in the world. We do not take GFW's
publication rule (loitering only >= 20 nm from shore): the transfers analysts look for near
Nampo happen in the shallow Korea Bay a few km off islands (Sok-to, Chodo), which that rule
would hide. Ports stand in for most of it (loitering needs >= 20 km from every port of the
table, meetups >= 10 km), and the shore rule takes out the quays and rivers the table's
points do not cover.
"""

from __future__ import annotations

import numpy as np

from ais.geography.land import is_land

#: Ring radii in km (0 is the point itself).
RINGS_KM = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 37.04)
MAX_SHORE_KM = 37.04  # 20 nautical miles: GFW's publication distance for loitering
_BEARINGS = np.radians(np.arange(0, 360, 22.5))
_KM_PER_DEG = 111.32


def distance_to_shore_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Km to the nearest land cell, on the :data:`RINGS_KM` steps (``MAX_SHORE_KM`` when
    none is that close; NaN for a point that is not finite)."""
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    out = np.full(len(lat), np.nan)
    ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if not len(ok):
        return out
    radii = np.asarray(RINGS_KM)
    la = lat[ok][:, None, None]
    lo = lon[ok][:, None, None]
    r = radii[None, :, None]
    dlat = r * np.cos(_BEARINGS)[None, None, :] / _KM_PER_DEG
    dlon = (r * np.sin(_BEARINGS)[None, None, :]
            / (_KM_PER_DEG * np.maximum(np.cos(np.radians(la)), 0.01)))
    plat = np.clip(la + dlat, -89.99, 89.99)
    plon = ((lo + dlon + 180.0) % 360.0) - 180.0
    land: np.ndarray = np.any(is_land(plat.ravel(), plon.ravel()).reshape(plat.shape), axis=2)
    first = np.where(np.any(land, axis=1), np.argmax(land, axis=1), -1)
    out[ok] = np.where(first >= 0, radii[np.maximum(first, 0)], MAX_SHORE_KM)
    return out
