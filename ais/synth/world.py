"""Deterministic synthetic AIS: a small track builder and whole days of traffic with a truth table.

Two layers:

* A builder that reads like the scenario it describes, for unit tests::

    >>> from ais.synth.world import vessel
    >>> t = vessel(mmsi=445123917, name="CHON MA SAN", callsign="HMYZ", imo="9113111",
    ...            ship_type="tanker", start="2026-01-05T00:00Z", at=(38.40, 124.90),
    ...            report_every_s=60)
    >>> _ = t.sail(to=(38.55, 125.00), speed_kn=10).drift(hours=8, speed_kn=0.5).dark(hours=14)
    >>> _ = t.rename(name="SUN RISE 7", callsign="V3AB2").remmsi(352001234).anchor(hours=10)
    >>> df = t.pings()
    >>> list(df.columns) == list(COLUMNS)
    True
    >>> sorted(df["mmsi"].unique().tolist())
    [352001234, 445123917]

  A :class:`Scenario` holds many vessels, aligns two of them for a ship-to-ship meeting
  (:meth:`Scenario.meetup`) and cuts reception holes (:meth:`Scenario.reception_hole`).

* :func:`generate` builds days of traffic around Nampo and Najin (port calls with anchorage
  waits and berth stays, tugs, fishing fleets, transits) with injected loitering, dark periods,
  meetups and identity changes, and returns ``(pings, truth)``. :func:`write_scenario` writes
  them as ``<name>.parquet`` and ``<name>.truth.csv``; ``python -m ais.synth fixtures/``
  regenerates the committed fixtures byte for byte. :func:`generate_pings` makes millions of
  plain rows quickly for benchmarks.

Every random draw comes from ``numpy.random.default_rng`` seeded by the caller, so the same seed
gives the same output. Times are whole seconds (UTC) like real AIS reports. Positions are
rounded to 1e-6 degree, speeds and courses to 0.1, headings to whole degrees.

Geography is approximate: the sea boxes, lanes and gates below were chosen by hand from
small-scale charts so that injected events lie in open water at least 20 km from the ports and
anchorages of :mod:`ais.geography.places`; they are not surveyed and a lane may clip a small island.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ais.db import EARTH_RADIUS_KM
from ais.geography.places import (
    NAJIN_ANCHORAGE,
    NAJIN_PORT,
    NAMPO_ANCHORAGE_N,
    NAMPO_ANCHORAGE_S,
    NAMPO_PORT,
    Place,
)
from ais.synth import (
    calls as synth_calls,
)
from ais.synth import (
    coverage as synth_coverage,
)
from ais.synth import (
    identity as synth_identity,
)
from ais.synth import (
    ports as synth_ports,
)

__all__ = [
    "COLUMNS",
    "TRUTH_COLUMNS",
    "FIXTURES",
    "Meeting",
    "Scenario",
    "Vessel",
    "generate",
    "generate_pings",
    "haversine_km",
    "imo_check_digit",
    "main",
    "read_truth",
    "vessel",
    "write_scenario",
]

LatLon = tuple[float, float]
TimeLike: TypeAlias = str | pd.Timestamp

#: Canonical ping columns and their dtypes, in order.
COLUMNS: dict[str, str] = {
    "mmsi": "int64",
    "timestamp": "datetime64[ns, UTC]",
    "lat": "float64",
    "lon": "float64",
    "sog": "float64",
    "cog": "float64",
    "heading": "float64",
    "name": "object",
    "callsign": "object",
    "imo": "object",
    "ship_type": "object",
    "nav_status": "object",
}

#: Truth table columns, in order.
TRUTH_COLUMNS: tuple[str, ...] = (
    "event_type", "kind", "mmsi", "other_mmsi", "start_time", "end_time",
    "lat", "lon", "area", "note",
)

UNDER_WAY = "under way using engine"
AT_ANCHOR = "at anchor"
MOORED = "moored"
FISHING = "engaged in fishing"

_KN_TO_KMH = 1.852
_M_PER_DEG = 111_320.0
_TIDE_S = 12.42 * 3600.0

# ---------------------------------------------------------------------------------------------
# Geometry (spherical earth; flat local offsets for metres-scale noise)
# ---------------------------------------------------------------------------------------------


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km between points (scalars or numpy arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def _destination(lat: float, lon: float, bearing_deg: float, dist_km: float) -> LatLon:
    d = dist_km / EARTH_RADIUS_KM
    b = math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1),
                         math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def _offset(lat: Any, lon: Any, east_m: Any, north_m: Any) -> tuple[Any, Any]:
    """Shift points by metres east/north (flat approximation, fine below ~10 km)."""
    lat2 = lat + north_m / _M_PER_DEG
    lon2 = lon + east_m / (_M_PER_DEG * np.cos(np.radians(lat)))
    return lat2, lon2


def _compass(east: Any, north: Any) -> Any:
    return np.degrees(np.arctan2(east, north)) % 360.0


# ---------------------------------------------------------------------------------------------
# Time helpers: the builder's clock is whole seconds since the Unix epoch, UTC.
# ---------------------------------------------------------------------------------------------


def _to_s(t: TimeLike) -> int:
    ts = pd.Timestamp(t)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000_000)


def _ts(s: int) -> pd.Timestamp:
    return pd.Timestamp(int(s) * 1_000_000_000, tz="UTC")


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    mmsi: int
    name: str | None
    callsign: str | None
    imo: str | None
    ship_type: str | None


@dataclass(frozen=True)
class _Leg:
    kind: str  # sail, drift, anchor, moor, wait, dark
    t0: int
    t1: int
    lat0: float
    lon0: float
    lat1: float
    lon1: float
    speed_kn: float
    nav_status: str | None
    who: _Identity
    radius_m: float = 0.0  # drift circle / anchor swing radius
    phase: float = 0.0  # radians, start angle on that circle
    spin: float = 1.0  # +1 anticlockwise, -1 clockwise
    heading: float = 0.0  # fixed heading for moor/wait


def _circle_xy(leg: _Leg, dt: Any, omega: float) -> tuple[Any, Any]:
    """East/north metres from the leg start for motion on a circle (drift, anchor swing)."""
    theta = leg.phase + leg.spin * omega * dt
    return (leg.radius_m * (np.cos(theta) - math.cos(leg.phase)),
            leg.radius_m * (np.sin(theta) - math.sin(leg.phase)))


def _drift_omega(leg: _Leg) -> float:
    return (leg.speed_kn * _KN_TO_KMH / 3.6) / leg.radius_m if leg.radius_m > 0 else 0.0


class Vessel:
    """A chainable track builder for one hull. Create it with :func:`vessel`.

    Each method appends a leg, advances the internal clock and position, and returns the builder.
    Identity changes (:meth:`rename`, :meth:`remmsi`, :meth:`pad_name`) apply to the legs added
    after them. Nothing random is drawn at :meth:`pings` time except noise, from a generator
    seeded by ``seed``, so calling :meth:`pings` twice gives the same frame.

    Attributes:
        report_every_s: Nominal reporting interval in seconds (jittered by +-20 %).
    """

    def __init__(self, *, mmsi: int, name: str | None, callsign: str | None, imo: str | None,
                 ship_type: str | None, start: TimeLike, at: LatLon, report_every_s: float,
                 seed: int | Sequence[int]) -> None:
        self._who = _Identity(int(mmsi), name, callsign, imo, ship_type)
        self._t = _to_s(start)
        self._t_start = self._t
        self._lat, self._lon = float(at[0]), float(at[1])
        self._heading = 0.0
        self._legs: list[_Leg] = []
        self.report_every_s = float(report_every_s)
        self._seed = [int(s) for s in np.atleast_1d(np.asarray(seed, dtype=np.int64))]
        self._rng = np.random.default_rng([*self._seed, 0])

    # -- state --------------------------------------------------------------------------------
    @property
    def clock(self) -> pd.Timestamp:
        """The builder's current time (UTC)."""
        return _ts(self._t)

    @property
    def position(self) -> LatLon:
        """The builder's current (lat, lon)."""
        return self._lat, self._lon

    @property
    def mmsi(self) -> int:
        """The MMSI that legs added from now on broadcast."""
        return self._who.mmsi

    @property
    def name(self) -> str | None:
        """The name that legs added from now on broadcast."""
        return self._who.name

    @property
    def imo(self) -> str | None:
        """The IMO number that legs added from now on broadcast."""
        return self._who.imo

    # -- internals ----------------------------------------------------------------------------
    def _duration_s(self, hours: float | None, until: TimeLike | None, what: str) -> int:
        if (hours is None) == (until is None):
            raise ValueError(f"{what}: give exactly one of hours= or until=")
        if until is not None:
            d = _to_s(until) - self._t
        else:
            d = int(round(float(hours) * 3600.0))  # type: ignore[arg-type]
        if d < 0:
            raise ValueError(f"{what}: ends before the builder's clock ({self.clock})")
        return d

    def _push(self, kind: str, dur_s: int, end: LatLon, speed_kn: float, nav: str | None,
              **kw: float) -> Vessel:
        leg = _Leg(kind, self._t, self._t + dur_s, self._lat, self._lon, float(end[0]),
                   float(end[1]), float(speed_kn), nav, self._who, **kw)
        if dur_s > 0:
            self._legs.append(leg)
        self._t = leg.t1
        self._lat, self._lon = leg.lat1, leg.lon1
        return self

    # -- movement -----------------------------------------------------------------------------
    def sail(self, to: LatLon, speed_kn: float | None = None, *, hours: float | None = None,
             until: TimeLike | None = None, nav_status: str | None = UNDER_WAY) -> Vessel:
        """Sail in a straight line to ``to``.

        Args:
            to: Destination (lat, lon).
            speed_kn: Speed over ground; the duration is distance / speed.
            hours: Alternatively, the duration (the speed follows from the distance).
            until: Alternatively, the arrival time.
            nav_status: Status broadcast on this leg.

        Returns:
            The builder.
        """
        dist_km = float(haversine_km(self._lat, self._lon, to[0], to[1]))
        if sum(x is not None for x in (speed_kn, hours, until)) != 1:
            raise ValueError("sail: give exactly one of speed_kn=, hours= or until=")
        if speed_kn is not None:
            if speed_kn <= 0:
                raise ValueError(f"sail: speed_kn must be > 0, got {speed_kn}")
            dur = int(round(dist_km / (speed_kn * _KN_TO_KMH) * 3600.0))
        else:
            dur = self._duration_s(hours, until, "sail")
        spd = dist_km / _KN_TO_KMH / (dur / 3600.0) if dur > 0 else 0.0
        if dist_km > 0:
            self._heading = _bearing_deg(self._lat, self._lon, to[0], to[1])
        return self._push("sail", dur, to, spd, nav_status)

    def trawl(self, hours: float, speed_kn: float = 2.5, *, around: LatLon | None = None,
              leg_km: float = 2.0, box_km: float = 8.0) -> Vessel:
        """Fish in zig-zags at 1-4 kn for ``hours``, staying within ``box_km`` of ``around``.

        Args:
            hours: How long to fish.
            speed_kn: Mean speed; each zig-zag leg varies it by +-30 % (clipped to 1-4 kn).
            around: Centre of the fishing ground (default: the current position).
            leg_km: Mean length of one zig-zag leg.
            box_km: Turn back towards ``around`` when farther than this.

        Returns:
            The builder.
        """
        centre = around if around is not None else self.position
        end = self._t + int(round(hours * 3600.0))
        base = float(self._rng.uniform(0, 360))
        side = 1.0
        while self._t < end:
            if haversine_km(self._lat, self._lon, centre[0], centre[1]) > box_km:
                base = _bearing_deg(self._lat, self._lon, centre[0], centre[1])
            side = -side
            brg = base + side * float(self._rng.uniform(30, 60))
            spd = float(np.clip(speed_kn * self._rng.uniform(0.7, 1.3), 1.0, 4.0))
            km = leg_km * float(self._rng.uniform(0.6, 1.4))
            dur = min(int(round(km / (spd * _KN_TO_KMH) * 3600.0)), end - self._t)
            to = _destination(self._lat, self._lon, brg, spd * _KN_TO_KMH * dur / 3600.0)
            self._heading = brg % 360.0
            self._push("sail", dur, to, spd, FISHING)
        return self

    def drift(self, hours: float | None = None, speed_kn: float = 0.5, *,
              until: TimeLike | None = None, radius_m: float | None = None,
              nav_status: str | None = UNDER_WAY, _phase: float | None = None,
              _spin: float | None = None) -> Vessel:
        """Move slowly in a wandering loop of radius ``radius_m`` (default 250-500 m).

        The vessel stays within about a kilometre of where it started while its speed over
        ground is ``speed_kn``: the look of loitering or a ship-to-ship transfer.

        Args:
            hours: Duration (or give ``until``).
            speed_kn: Speed over ground.
            until: End time instead of ``hours``.
            radius_m: Radius of the loop.
            nav_status: Status broadcast on this leg.

        Returns:
            The builder.
        """
        dur = self._duration_s(hours, until, "drift")
        r = float(radius_m) if radius_m is not None else float(self._rng.uniform(250, 500))
        phase = float(self._rng.uniform(0, 2 * np.pi)) if _phase is None else _phase
        spin = float(self._rng.choice([-1.0, 1.0])) if _spin is None else _spin
        probe = _Leg("drift", 0, dur, self._lat, self._lon, 0, 0, speed_kn, None, self._who,
                     radius_m=r, phase=phase, spin=spin)
        dx, dy = _circle_xy(probe, float(dur), _drift_omega(probe))
        end = _offset(self._lat, self._lon, dx, dy)
        return self._push("drift", dur, end, speed_kn, nav_status, radius_m=r, phase=phase,
                          spin=spin)

    def dark(self, hours: float | None = None, *, to: LatLon | None = None,
             until: TimeLike | None = None) -> Vessel:
        """Stop transmitting for ``hours``; the vessel still moves.

        Args:
            hours: Length of the silence (or give ``until``).
            to: Where the vessel reappears; by default it stays within about a kilometre.
            until: End time instead of ``hours``.

        Returns:
            The builder.
        """
        dur = self._duration_s(hours, until, "dark")
        if to is None:
            to = _destination(self._lat, self._lon, float(self._rng.uniform(0, 360)),
                              float(self._rng.uniform(0.1, 1.0)))
        return self._push("dark", dur, to, 0.0, None)

    def anchor(self, hours: float | None = None, *, until: TimeLike | None = None) -> Vessel:
        """Lie at anchor: swinging on a 30-60 m circle with the tide, ``nav_status`` "at anchor".

        Returns:
            The builder.
        """
        dur = self._duration_s(hours, until, "anchor")
        r = float(self._rng.uniform(30, 60))
        phase = float(self._rng.uniform(0, 2 * np.pi))
        probe = _Leg("anchor", 0, dur, 0, 0, 0, 0, 0, None, self._who, radius_m=r, phase=phase)
        dx, dy = _circle_xy(probe, float(dur), 2 * np.pi / _TIDE_S)
        end = _offset(self._lat, self._lon, dx, dy)
        return self._push("anchor", dur, end, 0.0, AT_ANCHOR, radius_m=r, phase=phase)

    def moor(self, hours: float | None = None, *, until: TimeLike | None = None) -> Vessel:
        """Stay alongside a berth (position fixed to a few metres), ``nav_status`` "moored".

        Returns:
            The builder.
        """
        dur = self._duration_s(hours, until, "moor")
        return self._push("moor", dur, self.position, 0.0, MOORED, heading=self._heading)

    def wait(self, hours: float | None = None, *, until: TimeLike | None = None,
             nav_status: str | None = None) -> Vessel:
        """Stay roughly in place (speed 0-0.5 kn) with no particular status.

        Returns:
            The builder.
        """
        dur = self._duration_s(hours, until, "wait")
        return self._push("wait", dur, self.position, 0.0, nav_status, heading=self._heading)

    # -- identity -----------------------------------------------------------------------------
    def rename(self, name: str | None = None, callsign: str | None = None,
               imo: str | None = None, ship_type: str | None = None) -> Vessel:
        """Broadcast a new name, call sign, IMO and/or ship type from now on (None = unchanged).

        Returns:
            The builder.
        """
        w = self._who
        self._who = replace(
            w,
            name=w.name if name is None else name,
            callsign=w.callsign if callsign is None else callsign,
            imo=w.imo if imo is None else imo,
            ship_type=w.ship_type if ship_type is None else ship_type,
        )
        return self

    def remmsi(self, mmsi: int) -> Vessel:
        """Broadcast a new MMSI from now on (same hull, IMO and name unless renamed too).

        Returns:
            The builder.
        """
        self._who = replace(self._who, mmsi=int(mmsi))
        return self

    def pad_name(self, pad: str = "@", width: int = 20) -> Vessel:
        """Broadcast the current name padded to ``width`` with ``pad`` (AIS's 6-bit filler).

        A benign change: the normalised name stays the same.

        Returns:
            The builder.
        """
        name = (self._who.name or "").rstrip(pad)
        return self.rename(name=name + pad * max(width - len(name), 1))

    # -- output -------------------------------------------------------------------------------
    def _render(self) -> dict[str, np.ndarray]:
        return _render_legs(self._legs, self._t_start, self.report_every_s,
                            np.random.default_rng([*self._seed, 1]))

    def pings(self, start: TimeLike | None = None, end: TimeLike | None = None) -> pd.DataFrame:
        """The vessel's pings as a canonical frame (see :data:`COLUMNS`), sorted by time.

        Args:
            start: Drop pings before this time.
            end: Drop pings at or after this time.

        Returns:
            A new DataFrame.
        """
        cols = self._render()
        return _frame(_clip(cols, start, end))


def vessel(mmsi: int, name: str | None = None, *, callsign: str | None = None,
           imo: str | None = None, ship_type: str | None = "cargo",
           start: TimeLike = "2026-01-05T00:00Z", at: LatLon = (38.40, 124.60),
           report_every_s: float = 60.0, seed: int | Sequence[int] | None = None) -> Vessel:
    """Start a synthetic track: a :class:`Vessel` builder at ``at`` and time ``start``.

    Args:
        mmsi: 9-digit MMSI broadcast until :meth:`Vessel.remmsi`.
        name: Ship name (padding such as "PEI YUH NO.6@@@@@@" is kept as given).
        callsign: Call sign.
        imo: IMO number as a 7-digit string, or None.
        ship_type: "cargo", "tanker", "tug", "fishing", "passenger", ...
        start: Start time; a time without a zone is UTC.
        at: Start position (lat, lon).
        report_every_s: Nominal interval between reports (jittered +-20 %).
        seed: Seed of the noise; defaults to the MMSI.

    Returns:
        The builder.

    Example:
        >>> t = vessel(445123917, "KUM SONG 3", start="2026-01-05", at=(38.40, 124.60))
        >>> _ = t.sail(to=(38.50, 124.60), speed_kn=10).dark(hours=6).wait(hours=1)
        >>> round((t.clock - pd.Timestamp("2026-01-05", tz="UTC")) / pd.Timedelta(hours=1), 2)
        7.6
    """
    return Vessel(mmsi=mmsi, name=name, callsign=callsign, imo=imo, ship_type=ship_type,
                  start=start, at=at, report_every_s=report_every_s,
                  seed=mmsi if seed is None else seed)


# ---------------------------------------------------------------------------------------------
# Rendering legs into pings (vectorised per leg)
# ---------------------------------------------------------------------------------------------

_NUM = ("t", "mmsi", "lat", "lon", "sog", "cog", "heading")
_OBJ = ("name", "callsign", "imo", "ship_type", "nav_status")


def _empty() -> dict[str, np.ndarray]:
    out = {k: np.empty(0, dtype=np.float64) for k in _NUM}
    out["t"] = np.empty(0, dtype=np.int64)
    out["mmsi"] = np.empty(0, dtype=np.int64)
    out.update({k: np.empty(0, dtype=object) for k in _OBJ})
    return out


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _empty()
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _leg_times(t_next: float, leg: _Leg, every: float,
               rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Report times in [t_next, leg.t1) with intervals every +-20 %; returns (times, t_next)."""
    span = leg.t1 - t_next
    if span <= 0:
        return np.empty(0, dtype=np.int64), t_next
    n = int(span / (0.8 * every)) + 2
    steps = np.maximum(np.rint(every * rng.uniform(0.8, 1.2, n)), 1.0)
    ts = t_next + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    k = int(np.searchsorted(ts, leg.t1, side="left"))
    nxt = float(ts[k - 1] + steps[k - 1]) if k > 0 else t_next
    return ts[:k].astype(np.int64), nxt


def _render_leg(leg: _Leg, t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(t)
    dt = (t - leg.t0).astype(np.float64)
    dur = max(leg.t1 - leg.t0, 1)
    if leg.kind == "sail":
        f = dt / dur
        lat = leg.lat0 + f * (leg.lat1 - leg.lat0)
        lon = leg.lon0 + f * (leg.lon1 - leg.lon0)
        brg = _bearing_deg(leg.lat0, leg.lon0, leg.lat1, leg.lon1)
        sog = leg.speed_kn + rng.normal(0, 0.15, n)
        cog = brg + rng.normal(0, 1.5, n)
        heading = brg + rng.normal(0, 2.0, n)
        jitter = 12.0
    elif leg.kind == "drift":
        omega = _drift_omega(leg)
        dx, dy = _circle_xy(leg, dt, omega)
        lat, lon = _offset(leg.lat0, leg.lon0, dx, dy)
        theta = leg.phase + leg.spin * omega * dt
        cog = _compass(-leg.spin * np.sin(theta), leg.spin * np.cos(theta)) + rng.normal(0, 8, n)
        sog = leg.speed_kn + np.clip(rng.normal(0, 0.1, n), -0.2, 0.2)
        heading = cog + rng.normal(0, 5.0, n)
        jitter = 10.0
    elif leg.kind == "anchor":
        theta = leg.phase + 2 * np.pi * dt / _TIDE_S
        dx, dy = _circle_xy(leg, dt, 2 * np.pi / _TIDE_S)
        lat, lon = _offset(leg.lat0, leg.lon0, dx, dy)
        sog = np.abs(rng.normal(0, 0.08, n))
        cog = rng.uniform(0, 360, n)
        heading = _compass(-np.cos(theta), -np.sin(theta)) + rng.normal(0, 3.0, n)
        jitter = 8.0
    else:  # moor, wait
        lat = np.full(n, leg.lat0)
        lon = np.full(n, leg.lon0)
        moored = leg.kind == "moor"
        sog = np.abs(rng.normal(0, 0.03 if moored else 0.15, n))
        cog = rng.uniform(0, 360, n)
        heading = leg.heading + rng.normal(0, 0.5 if moored else 3.0, n)
        jitter = 4.0 if moored else 12.0
    lat, lon = _offset(lat, lon, rng.normal(0, jitter, n), rng.normal(0, jitter, n))
    return {
        "t": t,
        "mmsi": np.full(n, leg.who.mmsi, dtype=np.int64),
        "lat": np.round(lat, 6),
        "lon": np.round(lon, 6),
        "sog": np.round(np.clip(sog, 0.0, None), 1),
        "cog": np.round(np.mod(cog, 360.0), 1) % 360.0,
        "heading": np.rint(np.mod(heading, 360.0)) % 360.0,
        "name": np.full(n, leg.who.name, dtype=object),
        "callsign": np.full(n, leg.who.callsign, dtype=object),
        "imo": np.full(n, leg.who.imo, dtype=object),
        "ship_type": np.full(n, leg.who.ship_type, dtype=object),
        "nav_status": np.full(n, leg.nav_status, dtype=object),
    }


def _render_legs(legs: list[_Leg], t_start: int, every: float,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    t_next = float(t_start + rng.integers(0, max(int(every), 1)))
    parts = []
    for leg in legs:
        if leg.kind == "dark":
            t_next = max(t_next, float(leg.t1 + rng.integers(0, max(int(every), 1))))
            continue
        t, t_next = _leg_times(t_next, leg, every, rng)
        if len(t):
            parts.append(_render_leg(leg, t, rng))
    return _concat(parts)


def _clip(cols: dict[str, np.ndarray], start: TimeLike | None,
          end: TimeLike | None) -> dict[str, np.ndarray]:
    keep = np.ones(len(cols["t"]), dtype=bool)
    if start is not None:
        keep &= cols["t"] >= _to_s(start)
    if end is not None:
        keep &= cols["t"] < _to_s(end)
    return cols if keep.all() else {k: v[keep] for k, v in cols.items()}


def _frame(cols: dict[str, np.ndarray], presorted: bool = False) -> pd.DataFrame:
    """Canonical DataFrame from column arrays, sorted by (timestamp, mmsi)."""
    order = slice(None) if presorted else np.lexsort((cols["mmsi"], cols["t"]))
    ns = (cols["t"][order].astype(np.int64) * 1_000_000_000).astype("datetime64[ns]")
    data: dict[str, Any] = {
        "mmsi": cols["mmsi"][order].astype(np.int64),
        "timestamp": pd.DatetimeIndex(ns).tz_localize("UTC"),
    }
    for k in ("lat", "lon", "sog", "cog", "heading"):
        data[k] = cols[k][order].astype(np.float64)
    df = pd.DataFrame(data)
    for k in _OBJ:
        df[k] = pd.Series(cols[k][order], dtype=object)
    return df


# ---------------------------------------------------------------------------------------------
# Scenario: many vessels, meetings, reception holes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    """Where and when two vessels drift together (returned by :meth:`Scenario.meetup`)."""

    a_mmsi: int
    b_mmsi: int
    start: pd.Timestamp
    end: pd.Timestamp
    lat: float
    lon: float
    distance_m: float


@dataclass(frozen=True)
class _Hole:
    lat: float
    lon: float
    radius_km: float
    t0: int
    t1: int


@dataclass
class Scenario:
    """Many vessels whose pings are combined; plus meetings and reception holes.

    Example:
        >>> sc = Scenario(seed=7)
        >>> a = sc.vessel(mmsi=667120451, name="OCEAN PEARL", ship_type="tanker",
        ...               start="2026-01-05T00:00Z", at=(38.30, 124.30))
        >>> b = sc.vessel(mmsi=445201733, name="PAEK MA 2", ship_type="tanker",
        ...               start="2026-01-05T00:00Z", at=(38.55, 124.40))
        >>> m = sc.meetup(a, b, at=(38.45, 124.50), hours=4, distance_m=120)
        >>> _ = a.sail(to=(38.20, 124.10), speed_kn=10); _ = b.sail(to=(38.60, 124.40), speed_kn=9)
        >>> _ = sc.reception_hole(center=(38.9, 125.3), radius_km=50, start=m.start, hours=3)
        >>> df = sc.pings()
        >>> sorted(df["mmsi"].unique().tolist())
        [445201733, 667120451]

    Attributes:
        seed: Seeds the noise of vessels made with :meth:`vessel` and meeting geometry.
        report_every_s: Default reporting interval of vessels made with :meth:`vessel`.
    """

    seed: int = 0
    report_every_s: float = 60.0
    vessels: list[Vessel] = field(default_factory=list)
    holes: list[_Hole] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng([self.seed, 99])

    def vessel(self, mmsi: int, name: str | None = None, **kwargs: Any) -> Vessel:
        """Make a vessel with :func:`vessel` (seeded from the scenario) and add it.

        Returns:
            The new builder.
        """
        kwargs.setdefault("report_every_s", self.report_every_s)
        kwargs.setdefault("seed", [self.seed, len(self.vessels), 7])
        v = vessel(mmsi, name, **kwargs)
        self.vessels.append(v)
        return v

    def add(self, *vessels: Vessel) -> Scenario:
        """Add builders made elsewhere.

        Returns:
            The scenario.
        """
        self.vessels.extend(vessels)
        return self

    def meetup(self, a: Vessel, b: Vessel, at: LatLon, hours: float, *,
               distance_m: float = 150.0, speed_kn: float = 0.5,
               approach_speed_kn: float = 10.0) -> Meeting:
        """Bring ``a`` and ``b`` to ``at`` and let them drift side by side for ``hours``.

        Both sail from their current positions; the meeting starts when the later one would
        arrive at ``approach_speed_kn`` (the earlier one slows down to arrive at the same time,
        or waits if it would have to crawl). They then drift together on parallel loops
        ``distance_m`` apart (plus ~10 m position noise each) at ``speed_kn``.

        Returns:
            The meeting window and place.
        """
        brg = float(self._rng.uniform(0, 360))
        at_b = _destination(at[0], at[1], brg, distance_m / 1000.0)
        speed_kmh = approach_speed_kn * _KN_TO_KMH
        arrive = [v._t + haversine_km(v._lat, v._lon, p[0], p[1]) / speed_kmh * 3600.0
                  for v, p in ((a, at), (b, at_b))]
        t_meet = int(math.ceil(max(arrive)))
        for v, p in ((a, at), (b, at_b)):
            dist = float(haversine_km(v._lat, v._lon, p[0], p[1]))
            need_h = (t_meet - v._t) / 3600.0
            if dist < 0.01:
                v._lat, v._lon = p
            elif dist / _KN_TO_KMH / need_h >= 3.0:
                v.sail(to=p, until=_ts(t_meet))
            else:
                v.sail(to=p, speed_kn=approach_speed_kn)
            if v._t < t_meet:
                v.wait(until=_ts(t_meet))
        radius = float(self._rng.uniform(250, 450))
        phase = float(self._rng.uniform(0, 2 * np.pi))
        spin = float(self._rng.choice([-1.0, 1.0]))
        for v in (a, b):
            v.drift(hours=hours, speed_kn=speed_kn, radius_m=radius, _phase=phase, _spin=spin)
        return Meeting(a.mmsi, b.mmsi, _ts(t_meet), a.clock, float(at[0]), float(at[1]),
                       float(distance_m))

    def reception_hole(self, center: LatLon, radius_km: float, start: TimeLike,
                       hours: float) -> Scenario:
        """Remove every vessel's pings within ``radius_km`` of ``center`` for ``hours``.

        A benign look-alike of a dark period: every vessel in the circle goes quiet at once.

        Returns:
            The scenario.
        """
        t0 = _to_s(start)
        self.holes.append(_Hole(float(center[0]), float(center[1]), float(radius_km), t0,
                                t0 + int(round(hours * 3600.0))))
        return self

    def _render(self, start: TimeLike | None,
                end: TimeLike | None) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        cols = _clip(_concat([v._render() for v in self.vessels]), start, end)
        hit_mmsis = []
        keep = np.ones(len(cols["t"]), dtype=bool)
        for h in self.holes:
            inside = (cols["t"] >= h.t0) & (cols["t"] < h.t1)
            inside &= haversine_km(cols["lat"], cols["lon"], h.lat, h.lon) <= h.radius_km
            hit_mmsis.append(np.unique(cols["mmsi"][inside]))
            keep &= ~inside
        if not keep.all():
            cols = {k: v[keep] for k, v in cols.items()}
        return cols, hit_mmsis

    def pings(self, start: TimeLike | None = None, end: TimeLike | None = None) -> pd.DataFrame:
        """All vessels' pings, reception holes applied, clipped to [start, end), sorted.

        Returns:
            A new canonical DataFrame.
        """
        return _frame(self._render(start, end)[0])


# ---------------------------------------------------------------------------------------------
# Identities: MMSIs with real MIDs, IMO numbers with valid check digits, names, call signs
# ---------------------------------------------------------------------------------------------

_PANAMA = (351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373)
_CHINA = (412, 413, 414)
_SKOREA = (440, 441)
# Call-sign prefixes of the ITU series allocated to each flag.
_CALLSIGN_PREFIX = {445: "HM", 667: "9L", 671: "5V", 457: "JV", 616: "D6", 273: "UB", 613: "TJ",
                    511: "T8", **{m: "3E" for m in _PANAMA}, **{m: "BV" for m in _CHINA},
                    **{m: "D7" for m in _SKOREA}}
_FOC = (667, 671, 616, 613, 511, 457, 351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KOREAN = ("KUM", "PAEK", "RYONG", "SONG", "HWA", "MYONG", "CHOL", "UN", "JI", "SAM", "RYE",
           "PO", "CHON", "NAM", "SIN", "HYOK", "KWANG", "MIN", "TAE", "JONG")
_KOREAN_END = ("SAN", "GANG", "BONG", "HAE", "MA", "RIM", "DO", "HO", "SONG", "JIN")
_ENGLISH = ("ORIENT", "GOLDEN", "OCEAN", "LUCKY", "FORTUNE", "PEARL", "GRAND", "NEW", "SUN",
            "BLUE", "JADE", "HAPPY", "EAST", "RICH", "VICTORY", "GLORY", "WISDOM", "UNITY")
_ENGLISH_END = ("STAR", "WAY", "SEA", "WIND", "RISE", "BRIGHT", "HARVEST", "DRAGON", "VENTURE",
                "PROSPER", "BRIDGE", "HOPE", "CROWN", "SKY", "WAVE")


def _flag_group(mid: int) -> tuple[int, ...]:
    for g in (_PANAMA, _CHINA, _SKOREA):
        if mid in g:
            return g
    return (mid,)


def imo_check_digit(first6: str) -> int:
    """IMO check digit: (7*d1 + 6*d2 + 5*d3 + 4*d4 + 3*d5 + 2*d6) mod 10.

    Example:
        >>> imo_check_digit("911311")
        1
    """
    return sum(int(d) * w for d, w in zip(first6, (7, 6, 5, 4, 3, 2), strict=True)) % 10


class _Ids:
    """Unique, plausible identities drawn from one generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make: Any) -> Any:
        while True:
            x = make()
            if str(x) not in self.used:
                self.used.add(str(x))
                return x

    def mmsi(self, mid: int) -> int:
        def make() -> int:
            while True:
                tail = int(self.rng.integers(10_000, 1_000_000))
                s = f"{mid}{tail:06d}"
                if len(set(s)) > 3 and "123456" not in s and s[-6:] != "000000":
                    return int(s)
        return int(self._fresh(make))

    def imo(self) -> str:
        def make() -> str:
            first6 = f"{int(self.rng.choice([8, 9]))}{int(self.rng.integers(0, 100_000)):05d}"
            return first6 + str(imo_check_digit(first6))
        return str(self._fresh(make))

    def callsign(self, mid: int) -> str:
        prefix = _CALLSIGN_PREFIX.get(mid, "3E")

        def make() -> str:
            tail = "".join(self.rng.choice(list(_LETTERS + "0123456789"), 4 - len(prefix) + 2))
            return prefix + tail
        return str(self._fresh(make))

    def name(self, style: str) -> str:
        r = self.rng

        def make() -> str:
            if style == "fishing_cn":
                port = r.choice(["RONG", "YAN", "WEI", "QING"])
                return f"LU{port}YU {int(r.integers(100, 9999))}"
            if style == "fishing_kp":
                return f"{r.choice(_KOREAN)} {r.choice(_KOREAN_END)} {int(r.integers(1, 99))}"
            if style == "tug":
                role = r.choice(["TUG", "PILOT", "TOW"])
                return f"{r.choice(_KOREAN)} {role} {int(r.integers(1, 30))}"
            if style == "english":
                return f"{r.choice(_ENGLISH)} {r.choice(_ENGLISH_END)} {int(r.integers(1, 9))}"
            return f"{r.choice(_KOREAN)} {r.choice(_KOREAN_END)}" + (
                f" {int(r.integers(1, 12))}" if r.random() < 0.6 else "")
        return str(self._fresh(make))


# ---------------------------------------------------------------------------------------------
# Geography of the generator (approximate, hand-picked; see the module docstring)
# ---------------------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max


@dataclass(frozen=True)
class _Geo:
    name: str
    port: Place
    anchorages: tuple[Place, ...]
    #: Open water where anomalies and fishing fleets are placed.
    event_box: Box
    #: Wider open water where a dark vessel may reappear (50-200 km away).
    far_box: Box
    #: Sea points >= 150 km from the watch-area centre where tracks enter and leave.
    gates: tuple[LatLon, ...]
    #: Lane from open water to the outer anchorage.
    approach: tuple[LatLon, ...]
    #: Reception holes are centred near here, over the port and away from the event box.
    hole_centre: LatLon
    local_mids: tuple[int, ...]


_GEO: dict[str, _Geo] = {
    # Korea Bay west/south-west of Nampo. The event box keeps west of Chodo (~38.5-38.6N
    # 124.8-124.95E), north of Baengnyeong/Ongjin (south of 38.1N) and far from Liaodong; its
    # nearest corner is > 50 km from the Nampo port and anchorages. The approach passes north
    # of Chodo and through the Taedong estuary mouth near Sok-to.
    "Nampo": _Geo(
        "Nampo", NAMPO_PORT, (NAMPO_ANCHORAGE_N, NAMPO_ANCHORAGE_S),
        event_box=(38.25, 38.62, 124.30, 124.70),
        far_box=(37.60, 38.80, 123.00, 124.35),
        gates=((38.20, 123.20), (37.30, 124.00), (38.90, 123.00)),
        approach=((38.60, 124.55), (38.66, 124.75), (38.65, 125.05), (38.69, 125.25)),
        hole_centre=(38.85, 125.40),
        local_mids=(445, 445, 445, 412, 413, 667, 671, 352),
    ),
    # East Sea south-east of Najin: the Rason coast runs north-east to the Tumen mouth
    # (~42.3N 130.7E) and south-west to Chongjin (~41.8N 129.8E), so 41.75-42.02N 130.55-131.0E
    # is open water, its nearest corner ~29 km from Najin port.
    "Najin": _Geo(
        "Najin", NAJIN_PORT, (NAJIN_ANCHORAGE,),
        event_box=(41.75, 42.02, 130.55, 131.00),
        far_box=(41.00, 42.00, 130.60, 132.20),
        gates=((41.00, 131.50), (41.90, 132.40), (40.85, 130.20)),
        approach=((41.95, 130.75), (42.12, 130.45), (42.18, 130.38)),
        hole_centre=(42.40, 130.10),
        local_mids=(445, 445, 273, 273, 412, 667, 511, 457),
    ),
}

_PORT_PLACES = (NAMPO_PORT, NAJIN_PORT, NAMPO_ANCHORAGE_N, NAMPO_ANCHORAGE_S, NAJIN_ANCHORAGE)


def _km_to_ports(lat: float, lon: float) -> float:
    return min(float(haversine_km(lat, lon, p.lat, p.lon)) for p in _PORT_PLACES)


def _in_box(rng: np.random.Generator, box: Box) -> LatLon:
    return float(rng.uniform(box[0], box[1])), float(rng.uniform(box[2], box[3]))


def _sea_point(rng: np.random.Generator, geo: _Geo, avoid: list[LatLon],
               min_sep_km: float = 8.0) -> LatLon:
    """A point in the event box >= 25 km from ports/anchorages and away from other events."""
    best: LatLon = _in_box(rng, geo.event_box)
    best_sep = -1.0
    for _ in range(200):
        p = _in_box(rng, geo.event_box)
        if _km_to_ports(*p) < 25.0:
            continue
        sep = min((float(haversine_km(p[0], p[1], q[0], q[1])) for q in avoid), default=1e9)
        if sep >= min_sep_km:
            return p
        if sep > best_sep:
            best, best_sep = p, sep
    return best


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


@dataclass
class _Gen:
    """State shared by the pieces of :func:`generate`."""

    rng: np.random.Generator
    sc: Scenario
    ids: _Ids
    t0: int
    t_end: int
    every: float
    truth: list[dict[str, Any]] = field(default_factory=list)
    event_points: dict[str, list[LatLon]] = field(default_factory=dict)
    sparse: list[int] = field(default_factory=list)  # MMSIs of satellite reporters (coverage)

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def new_vessel(self, mid: int, ship_type: str, style: str, at: LatLon, start: int,
                   imo: bool = True) -> Vessel:
        return self.sc.vessel(
            self.ids.mmsi(mid), self.ids.name(style), callsign=self.ids.callsign(mid),
            imo=self.ids.imo() if imo else None, ship_type=ship_type, start=_ts(start), at=at,
            report_every_s=self.every)

    def arriving(self, geo: _Geo, mid: int, ship_type: str, to: LatLon, t_arrive: int,
                 speed_kn: float) -> Vessel:
        """A vessel that enters at a gate and reaches ``to`` at ``t_arrive``."""
        gate = geo.gates[int(self.rng.integers(len(geo.gates)))]
        travel = haversine_km(gate[0], gate[1], to[0], to[1]) / (speed_kn * _KN_TO_KMH) * 3600
        v = self.new_vessel(mid, ship_type, "english" if mid != 445 else "korean", gate,
                            t_arrive - int(round(travel)))
        return v.sail(to=to, until=_ts(t_arrive))

    def leave(self, v: Vessel, geo: _Geo, speed_kn: float) -> None:
        gate = geo.gates[int(self.rng.integers(len(geo.gates)))]
        v.sail(to=gate, speed_kn=speed_kn)

    def row(self, event_type: str, kind: str, mmsi: int, start: int, end: int | None,
            at: LatLon, area: str, note: str, other: int | None = None) -> None:
        self.truth.append(dict(event_type=event_type, kind=kind, mmsi=int(mmsi),
                               other_mmsi=other, start_time=start, end_time=end,
                               lat=round(at[0], 5), lon=round(at[1], 5), area=area, note=note))

    def event_time(self, dur_h: float, lead_h: float = 1.0, tail_h: float = 1.0) -> int:
        lo = self.t0 + lead_h * 3600
        hi = max(self.t_end - (dur_h + tail_h) * 3600, lo)
        return int(round(self.uniform(lo, hi) / 60.0)) * 60


def _hold(v: Vessel, until: int, how: Any) -> None:
    """Stay (``how`` is e.g. ``v.moor``) until ``until`` if the clock is not already past it."""
    if _to_s(v.clock) < until:
        how(until=_ts(until))


def _loitering(g: _Gen, geo: _Geo, i: int) -> None:
    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    hours = g.uniform(5, 14)
    ts = g.event_time(hours)
    mid = int(g.rng.choice(_FOC + (445,)))
    v = g.arriving(geo, mid, str(g.rng.choice(["tanker", "cargo"])), p, ts, g.uniform(8, 12))
    spd = g.uniform(0.2, 0.7)
    v.drift(hours=hours, speed_kn=spd)
    g.row("loitering", "anomaly", v.mmsi, ts, _to_s(v.clock), p, geo.name,
          f"loiters {hours:.1f} h at {spd:.1f} kn")
    g.leave(v, geo, g.uniform(8, 12))


def _dark(g: _Gen, geo: _Geo, i: int, still_dark: bool) -> None:
    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    total_h = (g.t_end - g.t0) / 3600.0
    if still_dark:
        hours = g.uniform(8, min(20.0, total_h - 3))
        ts = g.t_end - int(hours * 3600)
        ts -= ts % 60
    else:
        hours = g.uniform(8, min(30.0, total_h - 6))
        ts = g.event_time(hours, lead_h=3, tail_h=2)
    mid = int(g.rng.choice(_FOC + (445, 445)))
    v = g.arriving(geo, mid, str(g.rng.choice(["tanker", "cargo"])), p, ts, g.uniform(9, 12))
    if still_dark:
        v.dark(until=_ts(max(g.t_end, _to_s(v.clock)) + 86_400))
        g.row("dark_period", "anomaly", v.mmsi, ts, None, p, geo.name,
              f"dark from {hours:.1f} h before the end of data, not back")
        return
    far = i % 2 == 0
    if far:
        max_km = min(200.0, hours * 12 * _KN_TO_KMH)
        q = _in_box(g.rng, geo.far_box)
        for _ in range(200):
            q = _in_box(g.rng, geo.far_box)
            if 50.0 <= haversine_km(p[0], p[1], q[0], q[1]) <= max_km:
                break
        v.dark(hours=hours, to=q)
    else:
        v.dark(hours=hours)
    km = float(haversine_km(p[0], p[1], *v.position))
    where = f"reappears {km:.0f} km away" if far else "reappears nearby"
    g.row("dark_period", "anomaly", v.mmsi, ts, _to_s(v.clock), p, geo.name,
          f"dark {hours:.1f} h, {where}")
    g.leave(v, geo, g.uniform(9, 12))


def _meetup(g: _Gen, geo: _Geo, i: int) -> None:
    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    hours = g.uniform(3, 8)
    ts = g.event_time(hours, lead_h=1.5)
    speed = g.uniform(9, 11)
    a = g.arriving(geo, int(g.rng.choice(_FOC)), "tanker", p, ts, speed)
    b_start = _destination(p[0], p[1], g.uniform(0, 360), g.uniform(15, 30))
    b_start = (min(max(b_start[0], geo.event_box[0]), geo.event_box[1]),
               min(max(b_start[1], geo.event_box[2]), geo.event_box[3]))
    b_speed = g.uniform(7, 9)
    travel = haversine_km(b_start[0], b_start[1], p[0], p[1]) / (b_speed * _KN_TO_KMH) * 3600
    b = g.new_vessel(445, "tanker", "korean", b_start, ts - int(round(travel)) - 60)
    # a arrives exactly at ts (it was built to), b's speed is set so it arrives at ts as well.
    m = g.sc.meetup(a, b, at=p, hours=hours, distance_m=g.uniform(90, 250),
                    speed_kn=g.uniform(0.3, 1.0), approach_speed_kn=b_speed)
    g.row("meetup", "anomaly", a.mmsi, _to_s(m.start), _to_s(m.end), p, geo.name,
          f"side by side {m.distance_m:.0f} m apart for {hours:.1f} h", other=b.mmsi)
    g.leave(a, geo, g.uniform(9, 11))
    b.sail(to=_in_box(g.rng, geo.event_box), speed_kn=g.uniform(7, 9))
    anch = geo.anchorages[0]
    b.sail(to=geo.approach[-1], speed_kn=8).sail(to=(anch.lat, anch.lon), speed_kn=6)
    _hold(b, g.t_end + 3600, b.anchor)


def _identity(g: _Gen, geo: _Geo, i: int) -> None:
    p = _sea_point(g.rng, geo, g.event_points[geo.name])
    g.event_points[geo.name].append(p)
    ts = g.event_time(2.0, lead_h=3, tail_h=3)
    mmsi_change = i % 2 == 0
    old_mid = int(g.rng.choice(_PANAMA + (511, 667, 445)))
    v = g.arriving(geo, old_mid, str(g.rng.choice(["tanker", "cargo"])), p, ts, g.uniform(8, 12))
    gap_h = g.uniform(0.2, 0.8) if mmsi_change else g.uniform(0.3, 1.5)
    to = _destination(p[0], p[1], g.uniform(0, 360), g.uniform(0.5, 4.0))
    v.dark(hours=gap_h, to=to)
    old_mmsi, old_name, old_cs = v.mmsi, v.name, v._who.callsign
    if mmsi_change:
        group = _flag_group(old_mid)
        new_mid = int(g.rng.choice([m for m in (667, 671, 616, 613, 457, 511) if m not in group]))
        v.remmsi(g.ids.mmsi(new_mid)).rename(callsign=g.ids.callsign(new_mid))
        g.row("identity_change", "anomaly", v.mmsi, ts, _to_s(v.clock), p, geo.name,
              f"new MMSI {v.mmsi} (MID {new_mid}) replaces {old_mmsi} (MID {old_mid}), "
              f"same IMO {v.imo}", other=old_mmsi)
    else:
        new_name = g.ids.name("english" if g.rng.random() < 0.5 else "korean")
        change_cs = i % 4 == 1
        v.rename(name=new_name, callsign=g.ids.callsign(old_mid) if change_cs else None)
        what = f"name {old_name} -> {new_name}"
        if change_cs:
            what += f", call sign {old_cs} -> {v._who.callsign}"
        # the new name is first broadcast by the first report after the rename
        g.row("identity_change", "anomaly", v.mmsi, ts, _to_s(v.clock) + int(2 * g.every), p,
              geo.name, what)
    g.leave(v, geo, g.uniform(8, 12))


def _port_call(g: _Gen, geo: _Geo, benign: bool, with_tug: bool) -> None:
    """A ship arriving from sea: anchorage wait (benign) then berth, escorted by a tug."""
    anch = geo.anchorages[int(g.rng.integers(len(geo.anchorages)))]
    spot = _destination(anch.lat, anch.lon, g.uniform(0, 360), g.uniform(0, 0.6 * anch.radius_km))
    berth = _destination(geo.port.lat, geo.port.lon, g.uniform(0, 360), g.uniform(0.2, 1.0))
    mid = int(g.rng.choice(geo.local_mids))
    t_in = g.t0 + int(g.uniform(-6, 18) * 3600)
    gate = geo.gates[int(g.rng.integers(len(geo.gates)))]
    v = g.new_vessel(mid, str(g.rng.choice(["cargo", "cargo", "tanker"])),
                     "korean" if mid == 445 else "english", gate, t_in)
    for wp in geo.approach:
        v.sail(to=wp, speed_kn=g.uniform(9, 12))
    v.sail(to=spot, speed_kn=g.uniform(5, 7))
    if benign:
        wait_h = g.uniform(3, 12)
        t_a = _to_s(v.clock)
        v.anchor(hours=wait_h)
        g.row("anchorage_wait", "benign", v.mmsi, t_a, _to_s(v.clock), spot, geo.name,
              f"at anchor {wait_h:.1f} h in {anch.name}")
    brg = _bearing_deg(geo.port.lat, geo.port.lon, *v.position)
    pilot = _destination(geo.port.lat, geo.port.lon, brg, 3.0)
    v.sail(to=pilot, speed_kn=g.uniform(5, 7))
    t_pilot = _to_s(v.clock)
    tug_wait_h = g.uniform(0.3, 0.6)
    v.wait(hours=tug_wait_h, nav_status=UNDER_WAY)
    in_h = g.uniform(0.7, 1.0)
    v.sail(to=berth, hours=in_h, nav_status=UNDER_WAY)
    t_berth = _to_s(v.clock)
    stay_h = g.uniform(6, 30)
    v.moor(hours=stay_h)
    # the call begins with the stop at the pilot point (3 km out), waiting for the tug
    g.row("port_call", "anomaly", v.mmsi, t_pilot, _to_s(v.clock), berth, geo.name,
          f"pilot wait, then berth in {geo.port.name} {stay_h:.1f} h")
    if benign:
        g.row("berth_stay", "benign", v.mmsi, t_berth, _to_s(v.clock), berth, geo.name,
              f"moored {stay_h:.1f} h in {geo.port.name}")
    if with_tug and benign:
        base = _destination(geo.port.lat, geo.port.lon, 90.0, 0.6)
        off_brg, off_m = g.uniform(0, 360), g.uniform(30, 80)
        meet = _destination(*pilot, off_brg, off_m / 1000)
        run_s = int(haversine_km(*base, *meet) / (8 * _KN_TO_KMH) * 3600)
        tug_start = min(g.t0 - 3600, t_pilot - run_s - 1800)
        tug = g.new_vessel(445, "tug", "tug", base, tug_start, imo=False)
        tug.moor(until=_ts(t_pilot - run_s)).sail(to=meet, until=_ts(t_pilot))
        tug.wait(until=_ts(t_pilot + int(round(tug_wait_h * 3600))), nav_status=UNDER_WAY)
        tug.sail(to=_destination(*berth, off_brg, off_m / 1000), until=_ts(t_berth))
        tug.wait(hours=0.25, nav_status=UNDER_WAY)
        g.row("tug_alongside", "benign", tug.mmsi, t_pilot, t_berth + 900, pilot, geo.name,
              f"tug {off_m:.0f} m from arriving ship for "
              f"{(t_berth + 900 - t_pilot) / 3600:.1f} h", other=v.mmsi)
        _hold(tug.sail(to=base, speed_kn=8), g.t_end + 3600, tug.moor)


def _departure(g: _Gen, geo: _Geo, benign: bool) -> None:
    berth = _destination(geo.port.lat, geo.port.lon, g.uniform(0, 360), g.uniform(0.2, 1.0))
    mid = int(g.rng.choice(geo.local_mids))
    t_from = g.t0 - int(g.uniform(0, 12) * 3600)
    v = g.new_vessel(mid, str(g.rng.choice(["cargo", "tanker"])),
                     "korean" if mid == 445 else "english", berth, t_from)
    stay_until = g.t0 + int(g.uniform(1, 18) * 3600)
    v.moor(until=_ts(stay_until))
    g.row("port_call", "anomaly", v.mmsi, t_from, stay_until, berth, geo.name,
          f"berth in {geo.port.name}, then sails")
    if benign:
        g.row("berth_stay", "benign", v.mmsi, t_from, stay_until, berth, geo.name,
              f"moored in {geo.port.name}, then sails")
    for wp in reversed(geo.approach):
        v.sail(to=wp, speed_kn=g.uniform(8, 12))
    g.leave(v, geo, g.uniform(9, 12))


def _transit(g: _Gen, geo: _Geo, pad: str | None) -> None:
    a, b = (geo.gates[int(k)] for k in g.rng.choice(len(geo.gates), 2, replace=False))
    via = _in_box(g.rng, geo.event_box)
    mid = int(g.rng.choice(geo.local_mids + _CHINA + _SKOREA))
    speed = g.uniform(9, 14)
    to_via = haversine_km(*a, *via) / (speed * _KN_TO_KMH) * 3600
    start = int(g.uniform(g.t0 + 3600, g.t_end - 3600) - to_via)
    style = "english" if pad != "recase" else "fishing_kp"
    v = g.new_vessel(mid, str(g.rng.choice(["cargo", "tanker", "passenger"])), style, a, start)
    v.sail(to=via, speed_kn=speed)
    if pad is not None:
        old = v.name or ""
        t_c = _to_s(v.clock)
        if pad == "pad":
            v.pad_name()
        else:
            v.rename(name=old.title())
        if g.t0 <= t_c < g.t_end:
            g.row("padded_name", "benign", v.mmsi, t_c, t_c, via, geo.name,
                  f"name {old!r} -> {v.name!r} (same normalised name)")
    v.sail(to=b, speed_kn=speed)


def _fleet(g: _Gen, geo: _Geo, n: int, benign: bool) -> None:
    centre = _in_box(g.rng, geo.event_box)
    mid = int(g.rng.choice([445, 412] if geo.name == "Nampo" else [445, 273]))
    style = "fishing_cn" if mid == 412 else "fishing_kp"
    speed = g.uniform(1.8, 3.0)
    for _ in range(n):
        at = _destination(*centre, g.uniform(0, 360), g.uniform(0.5, 3.0))
        start = g.t0 - int(g.uniform(0, 2) * 3600)
        v = g.new_vessel(mid, "fishing", style, at, start, imo=False)
        v.trawl(hours=(g.t_end - start) / 3600 + 1, speed_kn=speed, around=centre)
        if benign:
            g.row("fishing", "benign", v.mmsi, g.t0, g.t_end, centre, geo.name,
                  f"fleet of {n} trawling ~{speed:.1f} kn")


def _hole(g: _Gen, geo: _Geo) -> tuple[LatLon, float, int, float]:
    centre = _destination(*geo.hole_centre, g.uniform(0, 360), g.uniform(0, 5))
    nearest = min((float(haversine_km(*centre, *p)) for p in g.event_points[geo.name]),
                  default=1e9)
    radius = float(np.clip(min(g.uniform(40, 80), nearest - 5.0), 40.0, 80.0))
    hours = g.uniform(3, 6)
    start = int(g.uniform(g.t0 + 2 * 3600, g.t_end - (hours + 1) * 3600)) // 60 * 60
    g.sc.reception_hole(center=centre, radius_km=radius, start=_ts(start), hours=hours)
    return centre, radius, start, hours


def generate(seed: int, start: str = "2026-01-05", days: int = 1, n_background: int = 60,
             report_every_s: int = 120, events_per_type: int = 3, benign: bool = True,
             areas: Sequence[str] = ("Nampo", "Najin"), coverage: bool = True,
             identity_games: bool = True, sparse_meetups: int = 1
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate days of AIS traffic around Nampo and/or Najin with injected anomalies.

    Background: port calls (gate -> approach lane -> anchorage wait -> berth with a tug),
    departures, transits through open water, fishing fleets trawling at 1-4 kn. Anomalies
    (``events_per_type`` of each, alternating between the areas, all in open water >= 25 km
    from ports and anchorages): loitering, dark periods (one still dark at the end when
    ``events_per_type >= 3``), meetups and identity changes (name/call sign, and new MMSI with
    a new flag and the same IMO).

    Args:
        seed: Seed of every random draw; the same seed gives identical output.
        start: First day (UTC).
        days: Number of days of data.
        n_background: Number of background vessels (tugs and fishing boats included).
        report_every_s: Nominal reporting interval of every vessel.
        events_per_type: Anomalies of each of the four types.
        benign: Add the benign look-alikes (anchorage waits, tugs alongside, fishing fleets,
            a reception hole per area, padded/re-cased names) and record them in the truth with
            kind "benign". Without them the background is port calls and transits only.
        areas: Which areas to populate: "Nampo", "Najin" or both.
        coverage: Make it look like foreign data (:mod:`ais.synth.coverage`): a regional
            extract whose edges vessels cross, satellite reporters, a receiver hole, harbour
            nights, and a sparse loitering and meetup among the anomalies.
        identity_games: Add :mod:`ais.synth.identity`'s fleet on an unallocated MID with
            static-only, cut-short and duplicated identity reports, its net buoys and a yacht
            with two transponders (with ``benign`` only: the buoys are look-alikes).
        sparse_meetups: Meetups of two satellite reporters (with ``coverage``); each one
            beyond the first comes with a look-alike pair drifting 800-1,200 m apart (with
            ``benign``). 1 (the default) draws nothing more.

    Returns:
        ``(pings, truth)``: pings with the :data:`COLUMNS` contract clipped to the days asked
        for, and one truth row per event with :data:`TRUTH_COLUMNS`.

    Example:
        >>> pings, truth = generate(seed=1, n_background=10, events_per_type=1)
        >>> sorted(truth.loc[truth["kind"] == "anomaly", "event_type"].unique())
        ['dark_meetup', 'dark_period', 'identity_change', 'loitering', 'meetup', 'port_call']
    """
    unknown = [a for a in areas if a not in _GEO]
    if unknown or not areas:
        raise ValueError(f"areas must be among {sorted(_GEO)}, got {list(areas)}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if sparse_meetups < 1:
        raise ValueError(f"sparse_meetups must be >= 1, got {sparse_meetups}")
    rng = np.random.default_rng(seed)
    g = _Gen(rng=rng, sc=Scenario(seed=seed, report_every_s=report_every_s),
             ids=_Ids(np.random.default_rng([seed, 3])), t0=_to_s(start),
             t_end=_to_s(start) + days * 86_400, every=float(report_every_s))
    geos = [_GEO[a] for a in areas]
    for geo in geos:
        g.event_points[geo.name] = []

    for k in range(events_per_type):
        _loitering(g, geos[k % len(geos)], k)
    for k in range(events_per_type):
        _dark(g, geos[(k + 1) % len(geos)], k, still_dark=(k == 2))
    for k in range(events_per_type):
        _meetup(g, geos[k % len(geos)], k)
    for k in range(events_per_type):
        _identity(g, geos[(k + 1) % len(geos)], k)

    shares = np.array([0.6, 0.4][: len(geos)])
    counts = np.floor(n_background * shares / shares.sum()).astype(int)
    counts[0] += n_background - counts.sum()
    for geo, n in zip(geos, counts, strict=True):
        _background(g, geo, int(n), benign)

    lookalikes = synth_ports.add(g, geos, seed) if benign else synth_ports.Plan()
    synth_calls.add(g, geos, seed)
    sparse = synth_coverage.add(g, geos, benign, sparse_meetups) if coverage else []
    holes = []
    if benign:
        holes = [(geo, *_hole(g, geo)) for geo in geos]
    heard = (synth_identity.add(g, geos) if identity_games and benign
             else (lambda pings: pings))
    cols, hits = g.sc._render(_ts(g.t0), _ts(g.t_end))
    if coverage:
        cols = synth_coverage.cut(cols, geos, sparse, g.rng)
    for (geo, centre, radius, start_s, hours), mm in zip(holes, hits, strict=True):
        for m in mm:
            g.row("reception_hole", "benign", int(m), start_s, start_s + int(round(hours * 3600)),
                  centre, geo.name, f"reception hole r={radius:.0f} km, {hours:.1f} h, "
                  f"{len(mm)} vessels quiet")
    pings = heard(synth_ports.finish(_frame(cols), lookalikes, seed))
    synth_calls.incidental_meetups(pings, g.truth)
    return pings, _truth_frame(g.truth, g.t0, g.t_end)


def _background(g: _Gen, geo: _Geo, n: int, benign: bool) -> None:
    if n <= 0:
        return
    n_fish = int(round(0.35 * n)) if benign and n >= 3 else 0
    n_fish = max(n_fish, 3) if n_fish else 0
    n_calls = int(round(0.2 * n))
    n_tugs = n_calls if benign else 0
    n_dep = int(round(0.15 * n))
    n_transit = max(n - n_fish - n_calls - n_tugs - n_dep, 0)
    if n_transit == 0 and n_calls + n_tugs + n_dep + n_fish > n:
        n_fish = max(n - n_calls - n_tugs - n_dep, 0)
    if n_fish:
        n_fleets = max(1, int(round(n_fish / 6)))
        for k in np.array_split(np.arange(n_fish), n_fleets):
            _fleet(g, geo, len(k), benign)
    for _ in range(n_calls):
        _port_call(g, geo, benign, with_tug=benign)
    for _ in range(n_dep):
        _departure(g, geo, benign)
    n_pad = min(2, n_transit) if benign else 0
    for j in range(n_transit):
        _transit(g, geo, ("pad", "recase")[j] if j < n_pad else None)


def _truth_frame(rows: list[dict[str, Any]], t0: int, t_end: int) -> pd.DataFrame:
    kept = []
    for r in rows:
        end = r["end_time"]
        if r["start_time"] >= t_end or (end is not None and end < t0):
            continue
        r = dict(r, start_time=max(r["start_time"], t0))
        if end is not None:
            r["end_time"] = min(end, t_end)
        kept.append(r)
    df = pd.DataFrame(kept, columns=list(TRUTH_COLUMNS))
    df["mmsi"] = df["mmsi"].astype("int64")
    df["other_mmsi"] = pd.array(
        [None if x is None or pd.isna(x) else int(x) for x in df["other_mmsi"]], dtype="Int64")
    for c in ("start_time", "end_time"):
        s = [pd.NaT if x is None or pd.isna(x) else _ts(int(x)) for x in df[c]]
        df[c] = pd.Series(pd.DatetimeIndex(s, dtype="datetime64[ns, UTC]"), index=df.index)
    for c in ("lat", "lon"):
        df[c] = df[c].astype("float64")
    for c in ("event_type", "kind", "area", "note"):
        df[c] = df[c].astype(object)
    df = df.sort_values(["kind", "start_time", "event_type", "mmsi"], kind="mergesort")
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Benchmarks: many rows fast
# ---------------------------------------------------------------------------------------------


def generate_pings(n_rows: int, seed: int, start: str = "2026-01-05",
                   report_every_s: int = 120) -> pd.DataFrame:
    """Exactly ``n_rows`` plain pings for benchmarks, fully vectorised (~10 M rows in seconds).

    Vessels shuttle back and forth along straight lines across the two sea areas, each
    reporting about a day's worth of pings. No injected events, no benign details.

    Returns:
        A canonical DataFrame (see :data:`COLUMNS`), sorted by (timestamp, mmsi).
    """
    rng = np.random.default_rng(seed)
    n_rows = int(n_rows)
    n_v = max(1, n_rows // 720)
    ids = _Ids(np.random.default_rng([seed, 3]))
    mids = rng.choice(np.array(_FOC + (445, 445, 445, 412, 273, 440)), n_v)
    mmsi = np.array([ids.mmsi(int(m)) for m in mids], dtype=np.int64)
    words = np.array(_ENGLISH, dtype=object)[rng.integers(0, len(_ENGLISH), n_v)]
    ends = np.array(_ENGLISH_END, dtype=object)[rng.integers(0, len(_ENGLISH_END), n_v)]
    pairs = enumerate(zip(words, ends, strict=True))
    names = np.array([f"{w} {e} {i % 97 + 1}" for i, (w, e) in pairs], dtype=object)
    calls = np.array([ids.callsign(int(m)) for m in mids], dtype=object)
    imos = np.array([ids.imo() for _ in range(n_v)], dtype=object)
    types = rng.choice(np.array(["cargo", "tanker", "fishing", "tug", "passenger"], dtype=object),
                       n_v)
    boxes = np.array([_GEO["Nampo"].far_box, _GEO["Najin"].far_box])
    box = boxes[rng.integers(0, 2, n_v)]
    lat_a = rng.uniform(box[:, 0], box[:, 1])
    lon_a = rng.uniform(box[:, 2], box[:, 3])
    lat_b = rng.uniform(box[:, 0], box[:, 1])
    lon_b = rng.uniform(box[:, 2], box[:, 3])
    speed = rng.uniform(0.0, 14.0, n_v)
    length_km = np.maximum(haversine_km(lat_a, lon_a, lat_b, lon_b), 1.0)
    brg = _compass((lon_b - lon_a) * np.cos(np.radians(lat_a)), lat_b - lat_a)

    per = np.full(n_v, n_rows // n_v)
    per[: n_rows - per.sum()] += 1
    vid = np.repeat(np.arange(n_v), per)
    steps = np.rint(report_every_s * rng.uniform(0.8, 1.2, n_rows))
    csum = np.cumsum(steps)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    rel = csum - np.repeat(csum[first] - steps[first], per) - steps
    t = _to_s(start) + np.repeat(rng.integers(0, 3600, n_v), per) + rel.astype(np.int64)
    # triangle wave along the line a-b: back and forth at constant speed
    s = (rel / 3600.0) * speed[vid] * _KN_TO_KMH / length_km[vid]
    f = np.abs((s % 2.0) - 1.0)
    f = 1.0 - f
    backward = (s % 2.0) >= 1.0
    lat = lat_a[vid] + f * (lat_b - lat_a)[vid] + rng.normal(0, 1e-4, n_rows)
    lon = lon_a[vid] + f * (lon_b - lon_a)[vid] + rng.normal(0, 1.4e-4, n_rows)
    cog = np.where(backward, (brg[vid] + 180.0) % 360.0, brg[vid]) + rng.normal(0, 1.5, n_rows)
    heading = cog + rng.normal(0, 2, n_rows)
    sog = speed[vid] + rng.normal(0, 0.15, n_rows)
    # Sort once on integers, then gather every column (object columns only once: they are slow).
    order = np.lexsort((mmsi[vid], t))
    vid = vid[order]
    cols = {
        "t": t[order].astype(np.int64),
        "mmsi": mmsi[vid],
        "lat": np.round(lat[order], 6),
        "lon": np.round(lon[order], 6),
        "sog": np.round(np.clip(sog[order], 0, None), 1),
        "cog": np.round(np.mod(cog[order], 360.0), 1) % 360.0,
        "heading": np.rint(np.mod(heading[order], 360.0)) % 360.0,
        "name": names[vid],
        "callsign": calls[vid],
        "imo": imos[vid],
        "ship_type": types[vid],
        "nav_status": np.full(n_rows, UNDER_WAY, dtype=object),
    }
    return _frame(cols, presorted=True)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

#: The committed fixtures: file stem -> keyword arguments of :func:`generate`.
FIXTURES: dict[str, dict[str, Any]] = {
    "nampo_day": dict(seed=1, days=1, n_background=50, areas=("Nampo",), coverage=False),
    "najin_day": dict(seed=2, days=1, n_background=40, areas=("Najin",), coverage=False),
    "quickstart": dict(seed=3, days=1, n_background=8, events_per_type=1, areas=("Nampo",),
                       coverage=False),
}


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_pings(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write pings as Parquet (zstd) with deterministic bytes (no wall-clock metadata).

    Returns:
        The path written.
    """
    p = Path(path)
    table = pa.Table.from_pandas(df, preserve_index=False)
    _write_atomic(p, lambda tmp: pq.write_table(table, tmp, compression="zstd",
                                               compression_level=9))
    return p


def write_truth(truth: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a truth table as CSV with ISO 8601 ``Z`` timestamps.

    Returns:
        The path written.
    """
    out = truth.copy()
    for c in ("start_time", "end_time"):
        out[c] = [x.strftime("%Y-%m-%dT%H:%M:%SZ") if not pd.isna(x) else "" for x in out[c]]
    p = Path(path)
    _write_atomic(p, lambda tmp: out.to_csv(tmp, index=False, lineterminator="\n"))
    return p


def read_truth(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ``.truth.csv`` back with the dtypes :func:`generate` returns.

    Returns:
        The truth table.
    """
    df = pd.read_csv(path, dtype={"other_mmsi": "Int64", "mmsi": "int64"},
                     keep_default_na=False, na_values={"other_mmsi": [""], "end_time": [""]})
    for c in ("start_time", "end_time"):
        df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
    for c in ("event_type", "kind", "area", "note"):
        df[c] = df[c].astype(object)
    return df[list(TRUTH_COLUMNS)]


def write_scenario(out_dir: str | os.PathLike[str], seed: int, name: str | None = None,
                   **generate_kwargs: Any) -> tuple[Path, Path]:
    """Generate a scenario and write ``<name>.parquet`` and ``<name>.truth.csv``.

    Args:
        out_dir: Directory (created if missing).
        seed: Seed passed to :func:`generate`.
        name: File stem; default ``scenario_seed<seed>``.
        **generate_kwargs: Other arguments of :func:`generate`.

    Returns:
        ``(parquet_path, truth_path)``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or f"scenario_seed{seed}"
    pings, truth = generate(seed=seed, **generate_kwargs)
    return (write_pings(pings, out / f"{stem}.parquet"),
            write_truth(truth, out / f"{stem}.truth.csv"))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ais.synth OUT_DIR``: regenerate the committed fixtures into OUT_DIR.

    Returns:
        The process exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: python -m ais.synth OUT_DIR\n"
                         "Regenerate the fixture scenarios "
                         f"({', '.join(FIXTURES)}) into OUT_DIR.\n")
        return 0 if args and args[0] in ("-h", "--help") else 2
    for stem, kwargs in FIXTURES.items():
        kw = dict(kwargs)
        seed = kw.pop("seed")
        for p in write_scenario(args[0], seed, name=stem, **kw):
            sys.stdout.write(f"{p}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
