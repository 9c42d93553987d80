"""How the detector stage is cut into partitions of whole vessels, and put back together.

Used by ``ais scan --cluster`` (:mod:`ais.runtime.cluster` sends each partition and its
halos to a worker); pure pandas and numpy, no Dask here, so the tests run the same cuts in
one process (:func:`run_parts`).

* the per-vessel types (:data:`PER_VESSEL`: loitering, port calls and identity changes;
  each event belongs to one MMSI, or to the MMSIs of one hull, and given the whole scan's
  data window a partition of whole vessels answers as the whole, ``tests/test_protocol.py``)
  run on partitions of whole hull groups: the shuffle by hull key. Each MMSI's group
  (:func:`hull_groups`: MMSIs whose track ends share an IMO, or a name with a call sign)
  goes whole to one partition, placed by where it is (:func:`place_keys`; tests also cut
  by a hash, :func:`partition_keys`), each vessel's rows contiguous in the tracks' order;
  the partial results are put back in the order of the one-frame result (:func:`combine`);
* the dark periods (:data:`WITH_HALO`) run on the same partitions, each given its halo:
  the other vessels' reports near its silences in their hours, the reception evidence the
  detector reads (its ``halo_places``, ``halo_km`` and ``halo_evidence``;
  :mod:`ais.runtime.halo`), so each partition's silences are judged as in the whole scan;
* the meetups (:data:`WITH_HALO` too) run on the same partitions, each given the whole
  vessels of the other partitions whose slots may come within reach of its own
  (``meetup.halo_boxes``: boxes per time bin); a partition reports the meetings of its own
  (smaller) MMSIs;
* the spoofing signs and the fishing gear (per MMSI) run on the same partitions too
  (:func:`combine_signals`). No job needs the whole tracks any more: no worker holds a
  copy of every ping (a job of a type not listed here would still get them, scattered to
  one worker and held there).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ais.config import Config
from ais.tracking.coverage import DataWindow

#: Types found from the tracks whose events each belong to one vessel, or to the MMSIs of
#: one hull (identity changes): run on partitions of whole hull groups.
PER_VESSEL = ("loitering", "port_call", "identity_change")
#: Types whose events each belong to one vessel but read the other vessels nearby (a
#: module with ``HALO``: ``"evidence"``, the dark periods' reception, or ``"vessels"``, the
#: meetups' other vessel): run on the same partitions, each given its halo
#: (:mod:`ais.runtime.halo`).
WITH_HALO = ("dark_period", "meetup")
#: Per-MMSI facts found beside the types (the spoofing signs and the fishing gear to set
#: aside, ``detect_job("signals", ...)``): run on the same partitions too.
SIGNALS = "signals"
#: Jobs run on partitions (any other runs once over the whole tracks, on one worker).
PARTITIONED = PER_VESSEL + WITH_HALO + (SIGNALS,)


def partition(tracks: pd.DataFrame, n: int, groups: pd.DataFrame | None = None
              ) -> list[pd.DataFrame]:
    """The tracks cut into at most ``n`` frames of whole vessels by a hash of the MMSI (or of
    its hull group, see :func:`partitions`), each vessel's rows in the tracks' order (empty
    frames left out; the empty tracks stay one frame)."""
    parts = list(partitions(tracks, n, groups))
    return [p for p in parts if len(p)] or [tracks]


def partitions(tracks: pd.DataFrame, n: int, groups: pd.DataFrame | None = None
               ) -> Iterator[pd.DataFrame]:
    """:func:`partition`'s frames one at a time (empty ones too; the empty tracks: one frame),
    so a caller that sends each away holds one partition's copy at a time, not all.

    ``groups`` (``mmsi`` -> ``group``, every MMSI of the tracks,
    :func:`ais.detectors.identity_change.hull_groups`) hashes each vessel's group instead of
    its MMSI: the shuffle by hull key, which keeps the MMSIs of one hull in one partition."""
    if tracks.empty:
        yield tracks
        return
    key = partition_keys(tracks, n, groups)
    for k in range(n):
        yield tracks[key == k].reset_index(drop=True)


def _group_of_rows(tracks: pd.DataFrame, groups: pd.DataFrame | None) -> np.ndarray:
    """Each row's hull group (its MMSI when ``groups`` is None)."""
    mmsi = tracks["mmsi"].to_numpy(np.int64)
    if groups is None:
        return mmsi
    order = np.argsort(groups["mmsi"].to_numpy(np.int64), kind="stable")
    sorted_mmsi = groups["mmsi"].to_numpy(np.int64)[order]
    at = np.searchsorted(sorted_mmsi, mmsi)
    return groups["group"].to_numpy(np.int64)[order][at]


def partition_keys(tracks: pd.DataFrame, n: int, groups: pd.DataFrame | None = None
                   ) -> np.ndarray:
    """Each row's partition, 0..n-1, by a hash of its vessel's group (see
    :func:`partitions`)."""
    return (pd.util.hash_array(_group_of_rows(tracks, groups)) % np.uint64(n)
            ).astype(np.int64)


#: Tiles of :func:`place_keys`, in degrees.
PLACE_TILE_DEG = 1.0


def place_keys(tracks: pd.DataFrame, n: int, groups: pd.DataFrame | None = None
               ) -> np.ndarray:
    """Each row's partition, 0..n-1, whole hull groups kept together and placed by where
    they are (:func:`placement` of the frame's :func:`tile_counts`)."""
    if tracks.empty:
        return np.zeros(0, np.int64)
    of_group = placement([tile_counts(tracks, groups)], n)
    return of_group.reindex(_group_of_rows(tracks, groups)).to_numpy(np.int64)


def tile_counts(tracks: pd.DataFrame, groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pings per hull group and :data:`PLACE_TILE_DEG` tile (``group, tile, n``; tiles as
    Z-order keys): what :func:`placement` reads of a frame. Counts of parts of the tracks
    add up to the whole's."""
    group = _group_of_rows(tracks, groups)
    cy = np.floor((tracks["lat"].to_numpy(float) + 90.0) / PLACE_TILE_DEG)
    cx = np.floor((tracks["lon"].to_numpy(float) + 180.0) / PLACE_TILE_DEG)
    tile = (_spread_bits(np.nan_to_num(cy).astype(np.int64)) << 1) | _spread_bits(
        np.nan_to_num(cx).astype(np.int64))  # Z order
    return (pd.DataFrame({"group": group, "tile": tile})
            .groupby(["group", "tile"], sort=False).size().rename("n").reset_index())


def placement(counts: Sequence[pd.DataFrame], n: int) -> pd.Series:
    """Each hull group's partition, 0..n-1 (index: group), from the :func:`tile_counts` of
    the tracks or of their parts: each group goes with the tile it sent most pings from,
    the tiles are put in Z order (neighbouring tiles mostly next to each other) and cut into
    ``n`` runs of about as many pings. Vessels that meet, or hear each other, mostly share a
    partition, so the halos (:mod:`ais.runtime.halo`) hold the few near a partition's edge,
    not a share of every crowd as a hash would give. A tile busier than a partition's share
    is split between partitions by its groups (a group is never split: one giant hull group
    makes its partition bigger than the others)."""
    both = pd.concat(counts, ignore_index=True)
    both = both.groupby(["group", "tile"], sort=False)["n"].sum().reset_index()
    # each group's busiest tile (a tie: the first in Z order), and its pings
    both = both.sort_values(["group", "n", "tile"], ascending=[True, False, True],
                            kind="stable")
    home = both.drop_duplicates("group").set_index("group")["tile"]
    pings = both.groupby("group")["n"].sum()
    placed = pd.DataFrame({"tile": home, "n": pings.reindex(home.index)}).sort_values(
        ["tile"], kind="stable")
    before = placed["n"].cumsum().to_numpy() - placed["n"].to_numpy()
    part = np.minimum(before * n // max(int(placed["n"].sum()), 1), n - 1)
    return pd.Series(part.astype(np.int64), index=placed.index)


def vessel_places(held: Any, n: int, groups: pd.DataFrame | None) -> pd.Series:
    """Each MMSI's partition (index: MMSI, ascending) for the tracks ``held`` where they are
    (:mod:`ais.runtime.held`): :func:`placement` of their :func:`tile_counts`, each vessel
    with its hull group (``groups``, :func:`held_groups`; None: no tracks)."""
    if groups is None or groups.empty:
        return pd.Series(np.zeros(0, np.int64), index=pd.Index([], dtype=np.int64))
    of_group = placement(held.map(tile_counts, groups), n)
    return pd.Series(of_group.reindex(groups["group"].to_numpy(np.int64)).to_numpy(np.int64),
                     index=groups["mmsi"].to_numpy(np.int64))


def vessel_keys(tracks: pd.DataFrame, key: np.ndarray) -> pd.Series:
    """Each MMSI's partition (index: MMSI), from ``key``, each row's partition (a vessel's
    rows all have its one)."""
    of_vessel = pd.Series(key, index=tracks["mmsi"].to_numpy(np.int64))
    return of_vessel[~of_vessel.index.duplicated()]


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """The low 16 bits of ``v`` spread to the even bit positions (for a Z-order key)."""
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def combine(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The per-partition results of a per-vessel type as the one-frame result: rows in the
    MMSI order every such detector gives (loitering: mmsi, track, start_time; port calls:
    mmsi, start; identity changes: mmsi, track, start, end, previous MMSI), each vessel's
    rows in its partition's order, a fresh 0..n-1 index."""
    full = [p for p in parts if len(p)]
    if not full:
        return parts[0]
    out = pd.concat(full, ignore_index=True)
    order = np.argsort(out["mmsi"].to_numpy(np.int64), kind="stable")
    return out.take(order).reset_index(drop=True)


def combine_signals(parts: Sequence[tuple[pd.DataFrame, pd.DataFrame]]
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-partition results of ``"signals"`` (the spoofing signs per MMSI, the gear
    MMSIs with why) as the one-frame result: signs in MMSI order; gear by the order of its
    reasons (:data:`ais.tracking.gear.REASONS`), then MMSI."""
    from ais.tracking.gear import REASONS

    signs = combine([p[0] for p in parts])
    gear = pd.concat([p[1] for p in parts], ignore_index=True)
    rank = gear["why"].map({why: i for i, why in enumerate(REASONS)}).to_numpy()
    order = np.lexsort((gear["mmsi"].to_numpy(np.int64), rank))
    return signs, gear.take(order).reset_index(drop=True)


def hull_groups(tracks: pd.DataFrame, cfg: Config) -> pd.DataFrame | None:
    """Each MMSI's hull group (:func:`ais.detectors.identity_change.hull_groups`), the key
    the per-vessel partitions are cut by; None for empty tracks."""
    from ais.detectors.identity_change import hull_groups as groups

    return None if tracks.empty else groups(tracks, cfg)


def held_groups(held: Any, cfg: Config) -> pd.DataFrame | None:
    """:func:`hull_groups` of the tracks ``held`` where they are (:mod:`ais.runtime.held`):
    each part's MMSIs and hull keys, joined into groups here."""
    from ais.detectors.identity_change import groups_of, hull_links

    parts = held.map(hull_links, cfg)
    mmsis = np.unique(np.concatenate([m for m, _ in parts]))
    if not len(mmsis):
        return None
    links = pd.concat([k for _, k in parts], ignore_index=True)
    return groups_of(mmsis, links.drop_duplicates() if len(parts) > 1 else links)


def halo_frames(tracks: pd.DataFrame, key: np.ndarray, n: int, name: str, cfg: Config,
                window: DataWindow) -> Iterator[pd.DataFrame]:
    """Each partition's halo for type ``name`` as a frame (``key``: each row's partition,
    :func:`partition_keys`), one partition at a time (see :func:`halos`)."""
    from ais.runtime.held import Here

    yield from halo_frames_here(Here(tracks), vessel_keys(tracks, key), n, name, cfg, window)


def halo_frames_here(held: Any, of_vessel: pd.Series, n: int, name: str, cfg: Config,
                     window: DataWindow) -> list[pd.DataFrame]:
    """:func:`halos` as frames, from tracks held in this process (``held.frame``): a
    meetup halo's vessels taken whole from the frame."""
    from ais.runtime.shares import rows_of

    found = halos(held, of_vessel, n, name, cfg, window)
    if not by_whole_vessels(name):
        return found
    return [rows_of(held.frame, mmsis, None) for mmsis in found]


def by_whole_vessels(name: str) -> bool:
    """Whether type ``name``'s halo is whole vessels (``HALO = "vessels"``: the meetups)
    rather than evidence (the dark periods' grouped reports)."""
    from ais.detectors import REGISTRY

    return getattr(REGISTRY[name], "HALO", "") == "vessels"


def halos(held: Any, of_vessel: pd.Series, n: int, name: str, cfg: Config,
          window: DataWindow) -> list[Any]:
    """Each partition's halo for type ``name`` (``of_vessel``: each MMSI's partition,
    :func:`vessel_keys` or :func:`vessel_places`), from the tracks ``held`` where they are:

    * meetups (``HALO = "vessels"``): the MMSIs (ascending) of the other partitions' vessels
      that take part, from their ``halo_boxes`` (:func:`ais.runtime.halo.vessels`); the
      caller takes their rows where the tracks are;
    * dark periods (``"evidence"``): what the detector reads of the others, as frames: the
      grouped reports (``halo_evidence``) within ``halo_km`` of the partition's
      ``halo_places`` (:func:`ais.runtime.halo.rows`).

    See :mod:`ais.runtime.halo`."""
    from ais.detectors import REGISTRY
    from ais.runtime import halo

    module: Any = REGISTRY[name]
    vessels = pd.DataFrame({"mmsi": of_vessel.index.to_numpy(np.int64),
                            "k": of_vessel.to_numpy(np.int64)})
    if by_whole_vessels(name):
        boxes = held.map(module.halo_boxes, cfg)
        return halo.vessels(vessels, n, boxes[0] if len(boxes) == 1
                            else pd.concat(boxes, ignore_index=True))
    places = halo_places(held, of_vessel, name, cfg, window)
    per_part = held.map(evidence_halos, of_vessel, n, name, cfg, places)
    return [join_evidence([halos_of_part[k] for halos_of_part in per_part]) for k in range(n)]


def halo_places(held: Any, of_vessel: pd.Series, name: str, cfg: Config,
                window: DataWindow) -> pd.DataFrame:
    """The places and times type ``name`` reads around the silences of the tracks ``held``
    (its ``halo_places``, each with its vessel's partition ``k`` from ``of_vessel``)."""
    from ais.detectors import REGISTRY

    module: Any = REGISTRY[name]
    parts = held.map(module.halo_places, cfg, window)
    places = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return places.assign(k=of_vessel.reindex(places["mmsi"].to_numpy(np.int64)
                                             ).to_numpy(np.int64) if len(places) else 0)


def evidence_halos(tracks: pd.DataFrame, of_vessel: pd.Series, n: int, name: str,
                   cfg: Config, places: pd.DataFrame) -> list[pd.DataFrame]:
    """What a part of the tracks (whole vessels, in MMSI order) gives each partition's halo
    of type ``name``: its grouped reports (``halo_evidence``) of vessels of other partitions
    within ``halo_km`` of that partition's ``places`` (:func:`halo_places`), in their times
    (:func:`ais.runtime.halo.rows`). Run where the part is held; :func:`join_evidence` puts
    the parts' pieces of one partition together as the whole's."""
    from ais.detectors import REGISTRY
    from ais.runtime import halo

    module: Any = REGISTRY[name]
    reports = module.halo_evidence(tracks, cfg)
    part = of_vessel.reindex(reports["mmsi"].to_numpy(np.int64)).to_numpy(np.int64)
    return [reports.take(rows).reset_index(drop=True)
            for rows in halo.rows(reports, part, n, places, module.halo_km(cfg))]


def join_evidence(pieces: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Pieces of one partition's evidence halo from parts of disjoint vessels
    (:func:`evidence_halos`) as the whole's: each radius's block of reports (as
    ``halo_evidence`` gives them, each block in MMSI order) put together in MMSI order."""
    from ais.runtime.shares import by_vessel

    if len(pieces) == 1:
        return pieces[0]
    full = [p for p in pieces if len(p)]
    if not full:
        return pieces[0]
    radii = pd.unique(pd.concat([p["radius_km"] for p in full]))
    return pd.concat([by_vessel([p[p["radius_km"] == r] for p in full]) for r in radii],
                     ignore_index=True)


def run_parts(name: str, parts: Sequence[pd.DataFrame], cfg: Config, window: DataWindow,
              known: pd.DataFrame, around: Sequence[pd.DataFrame] | None = None) -> Any:
    """``name`` over each partition in this process (with its halo when ``around`` is
    given), combined (what the cluster does, for tests)."""
    from ais.pipeline import detect_job

    halo_of = list(around) if around is not None else [None] * len(parts)
    found = [detect_job(name, p, cfg, window, known, around=h)[0]
             for p, h in zip(parts, halo_of, strict=True)]
    return combine_signals(found) if name == SIGNALS else combine(found)
