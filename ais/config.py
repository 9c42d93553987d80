"""All tunable values in one place: frozen, validated dataclasses with documented defaults.

A TOML file overrides them section by section (``[tracks]``, ``[loitering]``, ...); unknown
keys are errors, so a typo never silently falls back to a default. ``[[areas]]`` and
``[[places]]`` tables add watch areas and ports/anchorages to the defaults (Nampo, Najin);
``default_areas = false`` at the top drops the defaults. An area is a circle
(``name, lat, lon, radius_km``), an inline ``polygon = [[lon, lat], ...]`` or
``geojson = "file.geojson"``; a place is ``name, kind (port|anchorage|sts_site), lat, lon,
radius_km``, with ``source`` and ``uncertainty_km`` recommended.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ais.errors import ConfigError
from ais.geography.places import DEFAULT_AREAS, DEFAULT_PLACES, Place, WatchArea, check_geometry
from ais.validate import check_fields, coerce, toml_value


def _positive(obj: object, *names: str) -> None:
    """Every field of ``obj`` checked against its type and range (``ais.validate``); the
    names are kept for sections that list the fields that must be > 0."""
    check_fields(obj)


def _section(obj: object) -> str:
    return getattr(obj, "SECTION", type(obj).__name__)


@dataclass(frozen=True)
class CleanConfig:
    """Row-level validity rules applied at ingest.

    Attributes:
        earliest: pings before this UTC time are dropped (AIS carriage began ~2002).
        latest: pings at or after this UTC time are dropped (clock faults, e.g. year 2100).
        since / until: the scan window (``--since`` / ``--until``): pings before ``since`` or
            at/after ``until`` are left out and counted as outside the window.
    """

    SECTION = "clean"
    earliest: str = "2000-01-01T00:00:00Z"
    latest: str = "2100-01-01T00:00:00Z"
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        import pandas as pd

        check_fields(self)
        times = {}
        for name in ("earliest", "latest", "since", "until"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                times[name] = pd.Timestamp(value)
                if times[name] is pd.NaT:
                    raise ValueError("not a time")
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"[clean] {name}: {value!r} is not a date or time "
                                  "(use ISO 8601, e.g. 2026-01-05 or 2026-01-05T06:00Z)") from exc
            if times[name].tzinfo is None:
                times[name] = times[name].tz_localize("UTC")  # AIS times without a zone: UTC
        for lo, hi, what in (("earliest", "latest", "[clean] earliest/latest"),
                             ("since", "until", "--since/--until")):
            if lo in times and hi in times and not times[lo] < times[hi]:
                raise ConfigError(
                    f"{what}: {lo} {getattr(self, lo)} is not before {hi} {getattr(self, hi)}, "
                    "so the window holds no time at all; swap them, or give an earlier "
                    f"{lo} (the window is {lo} <= t < {hi})")


@dataclass(frozen=True)
class TrackConfig:
    """How one MMSI's pings become tracks (one per physical ship) and segments.

    Attributes:
        max_speed_kn: a step faster than this over more than ``jump_tolerance_km`` cannot be
            the same ship (GFW's segmenter uses 25-30 kn; we allow fast craft up to 50 kn).
        jump_tolerance_km: steps shorter than this are always plausible (GPS noise,
            near-simultaneous reports).
        lookback_pings: how many earlier pings of the MMSI a ping may attach to directly.
        lookback_h: how far back a ping that starts a new fragment looks for its ship.
        gap_h: a silence longer than this splits a track into segments (movingpandas'
            ``ObservationGapSplitter`` semantics: split where the time step is > gap).
    """

    SECTION = "tracks"
    LIMITS = {"max_speed_kn": (0.1, 1000.0), "lookback_pings": (1, 1000)}
    max_speed_kn: float = 50.0
    jump_tolerance_km: float = 5.0
    lookback_pings: int = 6
    lookback_h: float = 48.0
    gap_h: float = 1.0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LoiteringConfig:
    """Slow runs of one vessel (GFW: hourly mean < 2 kn for >= 2 h; Starboard: > 4 h).

    Attributes:
        max_speed_kn: a run is pings whose hourly rolling mean speed is below this.
        min_duration_h: shortest run kept as a candidate.
        rule_min_duration_h: shortest run the rule flags (GFW carriers / Starboard: 4 h).
        rule_min_port_km: the rule ignores runs closer than this to a port (GFW publishes
            loitering >= 20 nm from shore; we have no coastline, so ports stand in).
        max_gap_h: a silence longer than this ends a run (dark periods are their own events).
        fixed_radius_km: a run that never moves farther than this (5 m) is a fixed
            transmitter or a parked unit, not a ship.
    """

    SECTION = "loitering"
    LIMITS = {"rule_min_port_km": (0.0, None)}
    max_speed_kn: float = 2.0
    min_duration_h: float = 2.0
    rule_min_duration_h: float = 4.0
    rule_min_port_km: float = 20.0
    max_gap_h: float = 1.0
    fixed_radius_km: float = 0.005

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class DarkConfig:
    """Silences in a track (GFW: raw gap > 6 h; 'intentional disabling' >= 12 h; Skylight 6 h).

    Attributes:
        min_gap_h: shortest gap kept as a candidate.
        rule_min_gap_h: shortest gap the rule flags.
        intentional_gap_h: GFW's threshold for likely intentional disabling.
        neighbour_radius_km: other vessels reporting within this distance of the gap's ends
            while it was silent show that reception was good there.
        density_window_h: window before the gap in which the vessel's reporting rate is measured.
        min_neighbours: the rule needs at least this many other vessels reporting nearby
            (fewer means a reception hole or empty sea: not evidence of switching off).

    The coverage and cadence rules (issue #14; ``ais.detectors.dark_period``):

        min_open_track_pings: Tracks with fewer pings are never reported as open (still dark
            at the end of the data).
        min_reports_per_h: The rule needs at least this many reports per hour in the density
            window before the gap.
        silence_intervals: The rule ignores gaps shorter than this many of the track's own
            median intervals: a satellite reporter heard every 30 minutes must be silent 12
            h, one heard every 45 minutes 18 h (a dense reporter is held to
            ``rule_min_gap_h``).
        edge_min_km: A position closer than this to the edge of the data's extent is at its
            edge (the extent is drawn around 0.05-degree cells, so its edge lies up to ~7 km
            beyond the last report) ...
        edge_intervals: ... or closer than the distance the vessel covers in this many of
            its own intervals.
        moving_kn / edge_cone_deg: a vessel moving at least this fast whose course points
            within this angle of the nearest edge, and which could reach it in its silence,
            has sailed out of the data.
        harbour_km / harbour_kn / harbour_land_km: a silence that starts and ends at one spot
            (this close, both ends this slow) within this distance of land is a night in
            harbour, not a dark period at sea.
        edge_margin_h: Neighbour pings count only this far inside the gap (at most a quarter
            of the gap).
        min_neighbour_share: A gap counts only if at least this share of the vessels that
            reported near its start in the hour before it kept reporting during it: when
            nearly everyone goes quiet at once it is reception (or the data: a file holding
            25 minutes of one day), not the vessel.
        min_neighbour_rate_share: ... and their reports per hour during it at least this
            share of the hour before (a few reports at one end of a day-long hole are not
            reception).
        before_window_h: Hours before the silence in which other vessels' reports near its
            start show that reception there is known (no report there before it: reception
            unknown, not evidence).
        way_radius_share: Someone must have been heard within this share of
            ``neighbour_radius_km`` of the middle of a closed gap's way (ends more than
            ``neighbour_radius_km`` apart), at any time from the window before it to its
            end: else the vessel may simply have crossed water no receiver hears (reception
            unknown there is not evidence of switching off).
        sog_window_h: Hours over which ``sog_before_kn`` (median speed before the gap) is
            taken.
    """

    SECTION = "dark_period"
    LIMITS = {"min_neighbours": (0, None)}
    min_gap_h: float = 2.0
    rule_min_gap_h: float = 6.0
    intentional_gap_h: float = 12.0
    neighbour_radius_km: float = 50.0
    density_window_h: float = 6.0
    min_neighbours: int = 1
    min_open_track_pings: int = 3
    min_reports_per_h: float = 1.0
    silence_intervals: float = 24.0
    edge_min_km: float = 10.0
    edge_intervals: float = 2.0
    moving_kn: float = 1.0
    edge_cone_deg: float = 60.0
    harbour_km: float = 1.0
    harbour_kn: float = 1.0
    harbour_land_km: float = 5.0
    edge_margin_h: float = 0.5
    min_neighbour_share: float = 0.25
    min_neighbour_rate_share: float = 0.1
    before_window_h: float = 3.0
    way_radius_share: float = 0.5
    sog_window_h: float = 1.0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class MeetupConfig:
    """Two vessels together at sea (GFW: <= 500 m for >= 2 h, median speed < 2 kn, >= 10 km
    from port, 10-min resampling interpolated only across gaps < 1 h, merged when < 4 h apart).
    """

    SECTION = "meetup"
    LIMITS = {"rule_min_port_km": (0.0, None), "merge_gap_h": (0.0, None),
              "dark_window_h": (0.0, None), "max_interpolation_gap_h": (0.0, None),
              "max_fix_allowance_m": (0.0, 5000.0), "fix_anchor_m": (0.0, 5000.0)}
    max_distance_m: float = 500.0
    min_duration_h: float = 1.0
    rule_min_duration_h: float = 2.0
    max_median_speed_kn: float = 2.0
    rule_min_port_km: float = 10.0
    resample_min: float = 10.0
    max_interpolation_gap_h: float = 1.0
    merge_gap_h: float = 4.0
    dark_window_h: float = 12.0
    # A position estimated between fixes far apart (a satellite reporter heard every 40-100
    # minutes) is uncertain: a vessel drifting at its reported speed (at most
    # max_median_speed_kn) may have wandered that far from the straight line between its
    # fixes, so two such estimates count as together when they are within max_distance_m
    # plus both vessels' drift since (or until) their nearest fix, beyond half a slot. GFW's
    # 500 m is judged on dense tracks resampled every 10 min, i.e. on positions at most
    # 5 min from a fix; those get no allowance, so dense pairs are judged exactly as before.
    # The pair's allowance is capped at this (0 turns it off): together at most 1 km apart
    # for positions an hour from any fix, never farther (bench/sparse_meetups.py, see
    # fix_anchor_m: 250 m passes 107 of 120 close pairs, 500 m 111, 1000 m 112; 6 of 180
    # pairs >= 700 m apart with each).
    max_fix_allowance_m: float = 500.0
    # The drift speed of that allowance is the reported one (SOG, or the implied speed
    # between the fixes if higher), but at most this many times the fastest the track's
    # slow fixes moved apart (distance over time between consecutive slow pings): a ship at
    # anchor reporting 0.3-0.6 kn of GPS noise whose fixes an hour apart lie 50 m apart has
    # not drifted 500 m between them. 2: a vessel drifting in loops moves its fixes apart at
    # half its speed or more across some interval. On 2,000 ships anchored within 10 km of
    # each other (bench/crowding.py's crowd, at sea, thinned to a fix every 40-100 min), the
    # reported speed alone let 545 pairs pass that the dense data does not show and missed
    # 1,729 of its 29,081; with this cap 87 and 735 (the code before allowances: 87, 716).
    drift_moved_factor: float = 2.0
    # A slot judged with an allowance (estimates far from a fix, whether within
    # max_distance_m or only within reach) takes the verdict of the pair's sure moments
    # (both vessels near a real fix: their allowances summing to at most this) nearest to it
    # on each side, within its stretch of consecutive slots within reach: it counts when
    # they were within max_distance_m. Two satellite reporters drifting 800 m apart are
    # within reach whenever both are an hour from a fix, and apart whenever their fixes fall
    # close in time: no meetup. 200 m is within ~6 min (beyond the half slot) of fixes at
    # 1 kn, ~13 min at 0.5 kn. Measured with bench/sparse_meetups.py (satellite pairs heard
    # every 40-100 min, 20 runs per speed and distance): pairs <= 500 m apart pass in 111 of
    # 120 runs, pairs >= 700 m apart in 6 of 180 (the code before allowances and held stops:
    # 108 and 9; held stops alone, max_fix_allowance_m = 0: 109 and 12); with 100 m: 104
    # and 2, 150 m: 109 and 7, 300 m: 110 and 9.
    fix_anchor_m: float = 200.0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class IdentityConfig:
    """Name, call sign, IMO and MMSI changes.

    Attributes:
        handover_max_h: a new MMSI must start within this time of the old one's last ping.
        handover_max_km: ... and within this distance of it.
        min_pings_per_identity: an identity seen in fewer pings is not counted (a single
            garbled static message is not a new name).
        min_identity_h: ... nor one whose pings span less than this (a burst of a garbled
            or another ship's call sign over a few minutes is not a change).
        merge_fields_h: changes of different fields (name, call sign, IMO) within this many
            hours of each other are one change (AIS type 24 sends the name and the call sign
            in two messages).
        shared_max_h / shared_min_kn: another ship of the same MMSI broadcast the same new
            name within this many hours, this far away for the time between them (faster
            than any ship: the tracks' own split speed): a shared MMSI.
        two_transponders_km / pair_h: two MMSIs of one hull identity whose reports within
            ``pair_h`` of each other are this close in median are one hull with two
            transponders.
    """

    SECTION = "identity_change"
    LIMITS = {"min_identity_h": (0.0, None)}
    handover_max_h: float = 6.0
    handover_max_km: float = 30.0
    min_pings_per_identity: int = 2
    min_identity_h: float = 0.5
    merge_fields_h: float = 0.25
    shared_max_h: float = 12.0
    shared_min_kn: float = 50.0
    two_transponders_km: float = 1.0
    pair_h: float = 1.0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class PortsConfig:
    """Where ships wait: the shipped port table, learned anchorages and the shore.

    Attributes:
        table: use the global port table shipped in ``ais/data/ports.csv`` (3,962 ports of
            the ``searoute`` package, Apache-2.0, completed for the DPRK and the Russian Far
            East); configured ``[[places]]`` ports are always used.
        zone_km: radius of a table port's zone (GFW port visits: enter within 3 km of an
            anchorage point; a port point stands for docks spread over a few km).
        berth_shore_km: a slow or silent vessel this close to land ...
        berth_port_km: ... and this close to a port is at a berth, a marina or in a river.
        stationary_kn: a ping slower than this is a vessel sitting still (anchorage learning).
        anchorage_cell_deg: size of the grid cells in which anchorages are learned.
        anchorage_min_vessels: a cell where at least this many distinct MMSIs sat still ...
        anchorage_min_pings: ... each for at least this many pings, is an anchorage.
    """

    SECTION = "ports"
    table: bool = True
    zone_km: float = 5.0
    berth_shore_km: float = 1.5
    berth_port_km: float = 30.0
    stationary_kn: float = 0.5
    anchorage_cell_deg: float = 0.01
    anchorage_min_vessels: int = 4
    anchorage_min_pings: int = 3

    LIMITS = {"anchorage_cell_deg": (0.001, 1.0), "anchorage_min_vessels": (2, None)}

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class PortCallConfig:
    """Port calls (GFW port visits and port stops, ``ais.detectors.port_call``).

    Attributes:
        enter_km: a vessel enters a port zone within this distance of one of the port's
            points (the table's port point, its terminals and piers; GFW: 3 km of an
            anchorage point) ...
        leave_km: ... and leaves it beyond this distance (GFW: 4 km; the band between the two
            keeps a ship swinging at the edge from making many visits).
        stop_start_kn: a stop starts at a ping slower than this (GFW: 0.2 kn) ...
        stop_end_kn: ... and ends at a ping faster than this (GFW: 0.5 kn).
        min_stop_h: a visit is a call when its stopped pings span at least this long.
        min_length_m: a vessel reporting a length below this is port craft (never a call).
        dark_window_h: a dark period ending or starting this close to a call is "next to" it.
        open_within_h: a call whose vessel is last heard in the zone is open ("still in port at
            the end of the data") only when that last ping is this close to the data's end; a
            vessel last heard in port years before the end made a call of unknown length, which
            ends at its last ping (the GFW sample spans 2014-2021: a 2014 call is not 55,922 h).
    """

    SECTION = "port_call"
    enter_km: float = 3.0
    leave_km: float = 4.0
    stop_start_kn: float = 0.2
    stop_end_kn: float = 0.5
    min_stop_h: float = 0.5
    min_length_m: float = 30.0
    dark_window_h: float = 48.0
    open_within_h: float = 24.0

    def __post_init__(self) -> None:
        _positive(self, "enter_km", "leave_km", "stop_start_kn", "stop_end_kn", "min_stop_h",
                  "dark_window_h", "open_within_h")
        if self.leave_km < self.enter_km or self.stop_end_kn < self.stop_start_kn:
            raise ConfigError("[port_call] leave_km must be >= enter_km and stop_end_kn >= "
                              "stop_start_kn")


@dataclass(frozen=True)
class DarkMeetupConfig:
    """Dark meetups and reachable ports (``ais.detectors.dark_meetup``,
    ``ais.detectors.reachable``).

    Attributes:
        detour: sailed distance over the great circle (1.25: the median ratio of sea-lane
            to great-circle distance over short coastal legs is about 1.1-1.3; see
            ``ais.detectors.reachable``).
        min_speed_kn / max_speed_kn: a vessel's top speed is its observed 95th percentile of
            reported speeds, clipped to this range (a ship seen only drifting may still sail
            at 8 kn; none of the tankers and bulkers in question sails faster than 18 kn).
        cover_slack_h: the silence may start or end this much inside the loitering.
        min_loiter_h: the waiting vessel's loitering lasts at least this long.
        port_stay_h: a reachable port must allow a stay of at least this long.
    """

    SECTION = "dark_meetup"
    detour: float = 1.25
    min_speed_kn: float = 8.0
    max_speed_kn: float = 18.0
    cover_slack_h: float = 0.5
    min_loiter_h: float = 2.0
    port_stay_h: float = 1.0

    def __post_init__(self) -> None:
        _positive(self, "detour", "min_speed_kn", "max_speed_kn", "min_loiter_h")


@dataclass(frozen=True)
class ScoringConfig:
    """How candidates become flagged events.

    Attributes:
        threshold: a candidate that passes its type's rule is flagged when its calibrated
            anomaly score (share of baseline candidates less unusual) is at least this.
        decisive: when True, rule-decisive events are flagged whatever their score: dark
            periods >= the intentional-disabling length with others reporting nearby, MMSI
            changes to a new flag, identity changes or meetups involving a DPRK flag.
    """

    SECTION = "scoring"
    threshold: float = 0.5
    decisive: bool = True

    LIMITS = {"threshold": (0.0, 1.0)}

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``Config()`` is the documented default."""

    SECTION = "top level"
    LIMITS = {"seed": (0, 2**32 - 1)}

    clean: CleanConfig = field(default_factory=CleanConfig)
    tracks: TrackConfig = field(default_factory=TrackConfig)
    loitering: LoiteringConfig = field(default_factory=LoiteringConfig)
    dark_period: DarkConfig = field(default_factory=DarkConfig)
    meetup: MeetupConfig = field(default_factory=MeetupConfig)
    identity_change: IdentityConfig = field(default_factory=IdentityConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    port_call: PortCallConfig = field(default_factory=PortCallConfig)
    dark_meetup: DarkMeetupConfig = field(default_factory=DarkMeetupConfig)
    places: tuple[Place, ...] = DEFAULT_PLACES
    areas: tuple[WatchArea, ...] = DEFAULT_AREAS
    everywhere: bool = False
    seed: int = 20260105

    def __post_init__(self) -> None:
        check_fields(self)


def rules(cfg: Config) -> dict[str, dict[str, Any]]:
    """Every threshold of ``cfg`` by section (``{"dark_period": {"min_gap_h": 2.0, ...}}``),
    as ``ais train`` records them beside the forests: the rules the baseline's candidates
    were found with (places and watch areas are not thresholds and are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[f.name] = {k: (list(v) if isinstance(v, tuple) else v)
                           for k, v in dataclasses.asdict(value).items()}
    return out


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _build(cls: type, values: Any, where: str, table: str) -> Any:
    """``cls`` from a TOML table: unknown keys, missing required keys, wrong types and
    values out of range are each a ConfigError naming ``where`` (the file), the table, the
    key and the fix."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: {table} must be a table of key = value lines, not "
                          f"{toml_value(values)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                f"{where}: {table} unknown key {key!r}; known keys: {', '.join(sorted(known))}"
            )
        typ = hints[key]
        if isinstance(typ, type) and dataclasses.is_dataclass(typ):
            kwargs[key] = _build(typ, value, where, f"[{key}]")
        elif isinstance(value, dict):
            raise ConfigError(f"{where}: {table} {key} is a table ([{key}]) but must be a "
                              f"single value, like {key} = {toml_value(getattr(cls(), key))}")
        else:
            kwargs[key] = coerce(value, typ, f"{where}: {table}", key)
    missing = [name for name, f in known.items() if _required(f) and name not in kwargs]
    if missing:
        needed = ", ".join(n for n, f in known.items() if _required(f))
        raise ConfigError(f"{where}: {table} is missing the required key(s) "
                          f"{', '.join(missing)}; each entry needs {needed}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _entries(items: Any, cls: type[Place] | type[WatchArea], where: str, base: Path) -> tuple:
    """The ``[[places]]`` or ``[[areas]]`` entries of a config file."""
    section = cls.SECTION
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{where}: {section} must be an array of tables: write each entry "
                          f"under its own [[{section}]] line")
    out = []
    for i, item in enumerate(items, start=1):
        name = item.get("name")
        table = f"[[{section}]] #{i}" + (f" {toml_value(name)}" if isinstance(name, str) else "")
        item = dict(item)
        if cls is WatchArea:
            item = _area_fields(item, where, table, base)
        out.append(_build(cls, item, where, table))
    names = [e.name for e in out]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"{where}: [[{section}]] name {toml_value(twice[0])} is used twice; "
                          "give each entry its own name")
    return tuple(out)


def _area_fields(item: dict[str, Any], where: str, table: str, base: Path) -> dict[str, Any]:
    """Accept a circle (lat, lon, radius_km), an inline polygon or a GeoJSON file (every
    Polygon and MultiPolygon in it, holes included)."""
    shapes = [k for k in ("geojson", "polygon") if k in item]
    if len(shapes) > 1:
        raise ConfigError(f"{where}: {table} has both geojson and polygon; give one of them")
    if not shapes and not {"lat", "lon", "radius_km"} <= set(item):
        raise ConfigError(f"{where}: {table} needs lat, lon and radius_km (a circle), "
                          "polygon = [[lon, lat], ...] or geojson = \"file.geojson\"")
    geometry = None
    if "geojson" in item:
        raw = item.pop("geojson")
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: {table} geojson = {toml_value(raw)}: must be the path "
                              "of a GeoJSON file, in quotes")
        geometry = read_geojson(_beside(Path(raw), base), f"{where}: {table}")
    elif "polygon" in item:
        from ais.geography.places import polygon_of

        geometry = polygon_of(item["polygon"], f"{where}: {table}")
        item["polygon"] = tuple(geometry.exterior.coords)[:-1]
    if geometry is not None:
        check_geometry(geometry, f"{where}: {table}")
        lon0, lat0, lon1, lat1 = geometry.bounds
        item.setdefault("lat", (lat0 + lat1) / 2)
        item.setdefault("lon", (lon0 + lon1) / 2)
        item.setdefault("radius_km", 0.0)
        item["geometry"] = geometry
    item.setdefault("source", "config file")
    return item


def _beside(path: Path, base: Path) -> Path:
    """A relative path is read beside the config file (else from the working directory)."""
    if path.is_absolute() or (base / path).exists() or not path.exists():
        return path if path.is_absolute() else base / path
    return path


def read_geojson(path: Path, where: str) -> Any:
    """The union of every polygon in a GeoJSON file (a geometry, a Feature or a
    FeatureCollection), holes included, as a shapely (Multi)Polygon.

    Raises:
        ConfigError: the file cannot be read, is not GeoJSON, holds no feature, holds
            something other than polygons, or a polygon is not valid.
    """
    import shapely
    from shapely.geometry import shape

    try:
        geo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read GeoJSON {path}: {exc}") from exc
    if not isinstance(geo, dict):
        raise ConfigError(f"{where}: {path} is not a GeoJSON object")
    kind = geo.get("type")
    if kind == "FeatureCollection":
        features = geo.get("features")
        if not isinstance(features, list) or not features:
            raise ConfigError(f"{where}: {path} is an empty FeatureCollection (no features); "
                              "draw the area as a Polygon feature and save it again")
        geoms = [f.get("geometry") if isinstance(f, dict) else None for f in features]
    elif kind == "Feature":
        geoms = [geo.get("geometry")]
    else:
        geoms = [geo]
    parts = []
    for i, g in enumerate(geoms, start=1):
        what = f"{path}" + (f" feature #{i}" if kind == "FeatureCollection" else "")
        if not isinstance(g, dict):
            raise ConfigError(f"{where}: {what} has no geometry; give it a Polygon")
        try:
            geom = shape(g)
        except (ValueError, TypeError, KeyError, AttributeError,
                shapely.errors.ShapelyError) as exc:
            raise ConfigError(f"{where}: {what} is not a valid GeoJSON geometry ({exc})") from exc
        check_geometry(geom, f"{where}: {what}")
        parts.append(geom)
    geometry = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return geometry


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML file over the defaults; ``None`` gives the defaults.

    Raises:
        ConfigError: the file is missing, is not TOML, or has unknown keys, missing keys,
            values of the wrong type or out of range, or areas that are not valid polygons;
            the message names the file, the key and the fix.
    """
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file does not exist; check the --config path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: config file cannot be read ({exc}); save it as UTF-8 "
                          "text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); values in quotes are text, "
                          "numbers and true/false are written without") from exc
    where = str(path)
    keep_defaults = coerce(data.pop("default_areas", True), bool, f"{where}:", "default_areas")
    places = _entries(data.pop("places", []), Place, where, path.parent)
    areas = _entries(data.pop("areas", []), WatchArea, where, path.parent)
    cfg = _build(Config, data, where, "(top level)")
    return dataclasses.replace(
        cfg,
        places=(DEFAULT_PLACES if keep_defaults else ()) + places,
        areas=(DEFAULT_AREAS if keep_defaults else ()) + areas,
    )
