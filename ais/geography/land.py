"""Where the land is, and what a vessel's positions say about its transmitter.

The land mask is the GLOBE 30-arc-second (about 1 km) grid shipped by the ``global-land-mask``
package, read once per process, down to the southernmost latitude asked about, and kept as
bits (at most 117 MB instead of 0.9 GB; 35 MB and under a second for Korea). At 1 km a coast, an
estuary or a harbour basin can fall in a land cell (Nampo's port position on the Taedong estuary
does, and so do the two unverified Nampo anchorage positions of ``ais.geography.places``), so a
position counts as **inland** only when it and the four points ``margin_km`` (5 km) north,
south, east and west of it are all land, it lies more than 15 km from every port (of the
configuration and of the shipped table, :mod:`ais.geography.ports`) and configured anchorage,
and it is inside a watch area (elsewhere a land cell may be a river or lake
with honest traffic). A ship cannot be there: the position is spoofed or the GPS is faulty.

:func:`vessel_signals` sums, per MMSI, the signs that its reports are not one honest ship:
positions inland, several ships broadcasting the MMSI at once (tracks of their own), and
single positions far off the track (teleports). :func:`spoofing_sentences` turns them into
words for the events' reasons; :func:`at_sea_only` takes loitering and meetups placed on land
out of the rule (they are artefacts of bad positions, not of behaviour at sea).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ais.config import Config
from ais.geography.geo import consecutive_km, haversine_km, nearest_place, watch_area
from ais.geography.places import WatchArea
from ais.geography.ports import nearest_port
from ais.tracking.tracks import CHUNK_ROWS, epoch_ns

INLAND_MARGIN_KM = 5.0
PLACE_BUFFER_KM = 15.0  # harbour channels and estuaries the 1 km grid calls land
MIN_SHIP_PINGS = 10  # a shorter track is a glitch, not a second ship
MIN_JUMPS = 3  # one odd position is a receiver glitch (1 in 2,000 MarineCadastre vessels)
_KM_PER_DEG = 111.32
_MASK_FILE = "globe_combined_mask_compressed.npz"


_BLOCK = 1024  # grid rows decompressed and packed at a time
_GRID = (21600, 43200, 90.0, -1 / 120, -180.0, 1 / 120)  # rows, columns, lat0, dlat, lon0, dlon


def _grid_file() -> Path:
    # find the data file without importing the package (its import unpacks the whole grid)
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("global-land-mask is not installed: pip install -e .")
    return Path(next(iter(spec.submodule_search_locations))) / _MASK_FILE


_LAND: list[np.ndarray] = []  # the most grid rows unpacked so far in this process
_LAND_LOCK = threading.Lock()


def _mask(blocks: int) -> np.ndarray:
    """Land bits of at least the first ``blocks`` blocks of rows (from 90 N southwards;
    columns from 180 W eastwards), unpacked once per process and shared by threads."""
    with _LAND_LOCK:
        rows_wanted = min(blocks * _BLOCK, _GRID[0])
        if not _LAND or len(_LAND[0]) < rows_wanted:
            _LAND[:] = [_unpack(rows_wanted)]
        return _LAND[0]


_CACHE_PREFIX = "land-bits-"


def _grid_hash(grid: Path) -> str:
    """The first 16 hex digits of the grid file's SHA-256: the same grid gives the same
    cache name whatever its path or time stamp (a reinstall copies the same bytes)."""
    import hashlib

    digest = hashlib.sha256()
    with open(grid, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _cache_file(grid: Path) -> Path | None:
    """Where the unpacked bits of ``grid`` are kept between runs (``$XDG_CACHE_HOME/ais`` or
    ``~/.cache/ais``): one file named after the grid's content hash; None without a home
    directory or when the grid cannot be read."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "ais" / f"{_CACHE_PREFIX}{_grid_hash(grid)}.npy"
    except (RuntimeError, OSError):
        return None


def _remove_stale_caches(keep: Path) -> None:
    """Delete our other land-bit caches (of an older grid, or of the older naming by size
    and time): at most one cache file stays."""
    for old in keep.parent.glob(f"{_CACHE_PREFIX}*.npy"):
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()


def _unpack(rows_wanted: int) -> np.ndarray:
    """The first ``rows_wanted`` grid rows as bits, from the cache of an earlier run (a
    memory map, read in no time) or unpacked from the grid and cached (0.7 s near Korea).
    The cache holds as many rows as any run needed so far; one that holds fewer is replaced.
    A cache that cannot be read or written is left aside, never an error."""
    grid = _grid_file()
    cache = _cache_file(grid)
    if cache is not None and cache.exists():
        with contextlib.suppress(OSError, ValueError):
            bits = np.load(cache, mmap_mode="r")
            if bits.ndim == 2 and bits.shape[0] >= rows_wanted \
                    and bits.shape[1] == _GRID[1] // 8 and bits.dtype == np.uint8:
                return bits[:rows_wanted]
    bits = _unpack_grid(grid, rows_wanted)
    if cache is not None:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, bits)
            os.replace(tmp, cache)
            _remove_stale_caches(cache)
    return bits


def _unpack_grid(file: Path, rows_wanted: int) -> np.ndarray:
    """The first ``rows_wanted`` grid rows of ``file`` as bits. The zip is read in order, so
    a scan near Korea stops a third of the way down the grid instead of unpacking all of it."""
    n_rows, n_cols = _GRID[:2]
    land = np.empty((rows_wanted, n_cols // 8), dtype=np.uint8)
    with zipfile.ZipFile(file) as zf, zf.open("mask.npy") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if major == 1
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        if shape != (n_rows, n_cols) or fortran or dtype != np.bool_:
            raise ValueError(f"unexpected land grid {shape} {dtype} in {file}")
        for start in range(0, rows_wanted, _BLOCK):
            rows = min(_BLOCK, rows_wanted - start)
            block = np.frombuffer(fh.read(rows * n_cols), dtype=np.bool_)
            land[start:start + rows] = np.invert(np.packbits(block.reshape(rows, -1), axis=1))
    return land


def _area_boxes(areas: Sequence[WatchArea]) -> list[tuple[float, float, float, float]]:
    """(lat_min, lat_max, lon_min, lon_max) around each watch area, a little generous (a
    degree of latitude is at least 110.5 km; the box of an area across 180 E is all
    longitudes)."""
    boxes = []
    for area in areas:
        if area.geometry is not None:
            lon_lo, lat_lo, lon_hi, lat_hi = area.geometry.bounds
            boxes.append((lat_lo, lat_hi, lon_lo, lon_hi))
            continue
        dlat = area.radius_km / 110.0
        lat_lo, lat_hi = max(area.lat - dlat, -90.0), min(area.lat + dlat, 90.0)
        widest = max(abs(lat_lo), abs(lat_hi))
        dlon = (360.0 if widest >= 89.0
                else area.radius_km / (110.0 * np.cos(np.radians(widest))))
        lon_lo, lon_hi = area.lon - dlon, area.lon + dlon
        if lon_lo < -180.0 or lon_hi > 180.0:
            lon_lo, lon_hi = -180.0, 180.0
        boxes.append((lat_lo, lat_hi, lon_lo, lon_hi))
    return boxes


def near_areas(lat: np.ndarray, lon: np.ndarray, areas: Sequence[WatchArea]) -> np.ndarray:
    """True for points inside the bounding box of a watch area (a cheap superset of
    :func:`ais.geography.geo.watch_area`'s points)."""
    out = np.zeros(len(lat), dtype=bool)
    for lat_lo, lat_hi, lon_lo, lon_hi in _area_boxes(areas):
        out |= (lat >= lat_lo) & (lat <= lat_hi) & (lon >= lon_lo) & (lon <= lon_hi)
    return out


def warm(cfg: Config) -> None:
    """Unpack the grid rows that the watch areas of ``cfg`` need (a scan calls this in the
    background while it reads its input)."""
    boxes = _area_boxes(cfg.areas)
    if boxes:
        south = min(b[0] for b in boxes) - INLAND_MARGIN_KM / 110.0
        n_rows, _, lat0, dlat = _GRID[:4]
        row = int(np.clip((max(south, -90.0) - lat0) / dlat, 0, n_rows - 1))
        _mask(row // _BLOCK + 1)


def is_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where the 1 km cell holding the point is land (lakes count as land)."""
    n_rows, n_cols, lat0, dlat, lon0, dlon = _GRID
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    i = np.clip(((np.where(ok, lat, 90.0) - lat0) / dlat).astype(np.int64), 0, n_rows - 1)
    j = np.clip(((np.where(ok, lon, 0.0) - lon0) / dlon).astype(np.int64), 0, n_cols - 1)
    if not ok.any():
        return ok
    land = _mask(int(i[ok].max()) // _BLOCK + 1)
    bits = (land[np.minimum(i, len(land) - 1), j >> 3] >> (7 - (j & 7)).astype(np.uint8)) & 1
    return ok & (bits == 1)


def inland(lat: np.ndarray, lon: np.ndarray, margin_km: float = INLAND_MARGIN_KM) -> np.ndarray:
    """True where the point and the points ``margin_km`` N, S, E and W of it are all land."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    out = is_land(lat, lon)
    idx = np.flatnonzero(out)  # only the few on land need the margin test
    if len(idx):
        la, lo = lat[idx], lon[idx]
        dlat = margin_km / _KM_PER_DEG
        dlon = margin_km / (_KM_PER_DEG * np.maximum(np.cos(np.radians(la)), 0.01))
        keep = np.ones(len(idx), dtype=bool)
        for a, b in ((dlat, 0.0), (-dlat, 0.0), (0.0, dlon), (0.0, -dlon)):
            keep &= is_land(np.clip(la + a, -90, 90), ((lo + b + 180) % 360) - 180)
        out[idx] = keep
    return out


def inland_outside_places(lat: np.ndarray, lon: np.ndarray, cfg: Config) -> np.ndarray:
    """Inland (see :func:`inland`), inside a watch area, and more than ``PLACE_BUFFER_KM``
    from every port and anchorage.

    The 1 km grid cannot resolve harbour channels, estuaries and rivers (the channel between
    Nampo's anchorages and its port is land in it), and most lakes are land: outside the watch
    areas, whose coasts we know, a land cell may be an inland waterway with honest traffic.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    out = np.zeros(len(lat), dtype=bool)
    near = np.flatnonzero(near_areas(lat, lon, cfg.areas))  # the grid is read only there
    for a in range(0, len(near), CHUNK_ROWS):  # a million at a time: the grid lookup's
        rows = near[a:a + CHUNK_ROWS]  # temporaries are several arrays as long as its input
        out[rows] = inland(lat[rows], lon[rows])
    idx = np.flatnonzero(out)
    if len(idx):
        _, dist, inside = nearest_place(lat[idx], lon[idx], cfg.places, ("port", "anchorage"))
        _, port_km, in_port = nearest_port(lat[idx], lon[idx], cfg)  # the table's too
        area = watch_area(lat[idx], lon[idx], cfg.areas)
        out[idx[inside | in_port | (np.minimum(dist, port_km) <= PLACE_BUFFER_KM)
                | (area == "")]] = False
    return out


def _jumps(tracks: pd.DataFrame, t_h: np.ndarray, cfg: Config) -> np.ndarray:
    """Pings the ship could neither have reached from the MMSI's previous ping nor left for
    its next one, while the previous and next ping are within reach of each other: a single
    position far off the track (pings sorted by mmsi, timestamp)."""
    n = len(tracks)
    if n < 3:
        return np.zeros(n, dtype=bool)
    mmsi = tracks["mmsi"].to_numpy()
    t = t_h
    lat = tracks["lat"].to_numpy(float)
    lon = tracks["lon"].to_numpy(float)
    tc = cfg.tracks

    def reachable(km: np.ndarray, hours: np.ndarray) -> np.ndarray:
        return km <= np.maximum(tc.jump_tolerance_km, tc.max_speed_kn * 1.852 * hours)

    # each ping to the next: one distance per ping; the previous-to-next distance is needed
    # only where a ping is unreachable both ways (rare)
    # a million steps at a time (consecutive_km's temporaries are column-sized)
    step = np.concatenate([
        reachable(consecutive_km(lat[a:a + CHUNK_ROWS + 1], lon[a:a + CHUNK_ROWS + 1]),
                  np.diff(t[a:a + CHUNK_ROWS + 1]))
        for a in range(0, n - 1, CHUNK_ROWS)])
    same = (mmsi[:-2] == mmsi[1:-1]) & (mmsi[1:-1] == mmsi[2:])
    mid = same & ~step[:-1] & ~step[1:]
    rows = np.flatnonzero(mid)
    if len(rows):
        mid[rows] = reachable(haversine_km(lat[rows], lon[rows], lat[rows + 2], lon[rows + 2]),
                              t[rows + 2] - t[rows])
    return np.r_[False, mid, False]


def vessel_signals(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Per MMSI: ``positions_on_land`` (inland, see :func:`inland_outside_places`),
    ``position_jumps`` (see :func:`_jumps`) and ``ships_on_mmsi``: tracks of at least
    ``MIN_SHIP_PINGS`` pings (jumps aside) that report during the same hours, i.e. several
    ships at once (one ship silent for days and back elsewhere is not two)."""
    cols = ("mmsi", "positions_on_land", "ships_on_mmsi", "position_jumps")
    if tracks.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in cols})
    t_ns = epoch_ns(tracks["timestamp"])
    mmsi = tracks["mmsi"].to_numpy()
    if len(mmsi) > 1 and not np.all((mmsi[1:] > mmsi[:-1])
                                    | ((mmsi[1:] == mmsi[:-1]) & (t_ns[1:] >= t_ns[:-1]))):
        order = np.lexsort((t_ns, mmsi))
        tracks, t_ns = tracks.iloc[order], t_ns[order]
    mmsi = tracks["mmsi"].to_numpy()
    track = tracks["track"].to_numpy()
    on_land = inland_outside_places(tracks["lat"].to_numpy(float),
                                    tracks["lon"].to_numpy(float), cfg)
    jump = _jumps(tracks, t_ns / 3.6e12, cfg)
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]])  # rows are by mmsi now
    per_mmsi = pd.DataFrame({
        "positions_on_land": np.add.reduceat(on_land.astype(np.int64), starts),
        "position_jumps": np.add.reduceat(jump.astype(np.int64), starts),
        "ships_on_mmsi": 1}, index=pd.Index(mmsi[starts], name="mmsi"))
    # several ships at once: only MMSIs with more than one track can have them
    several = np.maximum.reduceat(track, starts) > 0
    rows = ~jump & np.repeat(several, np.diff(np.r_[starts, len(mmsi)]))
    if rows.any():
        steady = pd.DataFrame({"mmsi": mmsi[rows], "track": track[rows],
                               "timestamp": t_ns[rows]})
        spans = steady.groupby(["mmsi", "track"], sort=True).agg(
            n=("timestamp", "size"), start=("timestamp", "min"), end=("timestamp", "max"))
        ships = spans[spans["n"] >= MIN_SHIP_PINGS].reset_index()
        shared = ships[ships.duplicated("mmsi", keep=False)]
        pairs = shared.merge(shared, on="mmsi", suffixes=("", "_b"))
        pairs = pairs[(pairs["track"] != pairs["track_b"]) & (pairs["start"] <= pairs["end_b"])
                      & (pairs["start_b"] <= pairs["end"])]
        at_once = pairs.groupby("mmsi")["track"].nunique()
        per_mmsi["ships_on_mmsi"] = at_once.reindex(per_mmsi.index).fillna(1)
    return per_mmsi.reset_index()[list(cols)].astype({c: "int64" for c in cols})


def spoofing_sentences(mmsi: pd.Series, signals: pd.DataFrame) -> pd.Series:
    """For each MMSI, a sentence naming its spoofing signs, or "" when it has none."""
    s = signals.set_index("mmsi").reindex(pd.to_numeric(mmsi, errors="coerce"))
    land = s["positions_on_land"].fillna(0).astype(int).to_numpy()
    ships = s["ships_on_mmsi"].fillna(0).astype(int).to_numpy()
    jumps = s["position_jumps"].fillna(0).astype(int).to_numpy()
    parts = [
        np.where(land > 0, [f"{n} position{'s' if n != 1 else ''} reported inland"
                            for n in land], ""),
        np.where(ships > 1, [f"MMSI broadcast by {n} ships at once" for n in ships], ""),
        np.where(jumps >= MIN_JUMPS, [f"{n} positions far off its track" for n in jumps], ""),
    ]
    out = []
    for signs in zip(*parts, strict=True):
        found = [x for x in signs if x]
        out.append("Spoofing signs: " + "; ".join(found) + "." if found else "")
    return pd.Series(out, index=mmsi.index, dtype=object)


def at_sea_only(candidates: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Loitering or meetup candidates placed inland fail the rule, with the context saying so
    (a bad position cannot make a ship-to-ship transfer or loitering at sea)."""
    if candidates.empty:
        return candidates
    on_land = inland_outside_places(candidates["lat"].to_numpy(float),
                                    candidates["lon"].to_numpy(float), cfg)
    if not on_land.any():
        return candidates
    out = candidates.copy()
    out.loc[on_land, "passes_rule"] = False
    out.loc[on_land, "context"] = "on land (spoofed or faulty positions)"
    return out


def signal_notes(signals: pd.DataFrame | None, show: int = 5) -> list[str]:
    """Summary lines naming the vessels with spoofing signs (flagged or not)."""
    if signals is None or signals.empty:
        return []
    out = []
    for column, what in (("positions_on_land", "reported positions inland (spoofed or faulty "
                                                "GPS)"),
                         ("ships_on_mmsi", "are broadcast by more than one ship at once "
                                           "(shared or spoofed MMSI)")):
        limit = 1 if column == "ships_on_mmsi" else 0
        hit = signals[signals[column] > limit].sort_values([column, "mmsi"],
                                                           ascending=[False, True])
        if len(hit):
            names = ", ".join(f"{m} ({n})" for m, n in zip(hit["mmsi"][:show],
                                                          hit[column][:show], strict=True))
            more = f" and {len(hit) - show} more" if len(hit) > show else ""
            out.append(f"{len(hit)} MMSI(s) {what}: {names}{more}")
    return out
