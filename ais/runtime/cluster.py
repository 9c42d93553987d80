"""The detector stage on a Dask cluster (``ais scan --cluster``): same jobs, same result.

``--cluster local`` or ``local:N`` starts a ``distributed.LocalCluster`` of N single-threaded
worker processes (default 2) for the scan and closes it after; ``--cluster tcp://HOST:PORT``
connects to a running scheduler (``dask scheduler``; ``dask worker tcp://HOST:PORT`` on each
machine, with ``ais`` installed). Dask is imported only here, and only when ``--cluster`` is
given: a scan without it never imports Dask.

How the detector stage is cut (:func:`run_jobs`):

* the per-vessel types (:data:`PER_VESSEL`: loitering, port calls and identity changes;
  each event belongs to one MMSI, or to the MMSIs of one hull, and given the whole scan's
  data window a partition of whole vessels answers as the whole, ``tests/test_protocol.py``)
  run on partitions of whole hull groups: the shuffle by hull key. Each MMSI's group
  (:func:`hull_groups`: MMSIs whose track ends share an IMO, or a name with a call sign) is
  hashed into twice as many partitions as workers, each vessel's rows contiguous in the
  tracks' order; the partial results are put back in the order of the one-frame result
  (:func:`combine`);
* the dark periods (:data:`WITH_HALO`) run on the same partitions, each given its halo:
  the other partitions' pings near its silences in their hours, the reception evidence
  the detector reads (its ``halo_places`` and ``halo_km``; :mod:`ais.runtime.halo`), so each
  partition's silences are judged as in the whole scan;
* the meetups (:data:`WITH_HALO` too) run on the same partitions, each given the whole
  vessels of the other partitions whose slots may come within reach of its own
  (``meetup.halo_boxes``: boxes per time bin); a partition reports the meetings of its own
  (smaller) MMSIs;
* the spoofing signs and the fishing gear (per MMSI) run on the same partitions too
  (:func:`combine_signals`). No job needs the whole tracks any more: no worker holds a
  copy of every ping (a job of a type not listed here would still get them, scattered to
  one worker and held there).

Everything else (ingest, tracks, learned anchorages, the paired types, the links, scoring,
the state, the CSV) stays on the client, so the client still needs the memory of the whole
scan. DuckDB's memory limit (``--memory-limit``, :func:`ais.db.memory_limit`) holds on the
workers too: each job runs under the client's limit (:func:`under_memory_limit`), spilling
to a temporary folder of the worker's own, removed after the job (the client's spill folder
may not exist on the worker's machine). As on the client, the limit is per DuckDB
connection: a worker of several threads may open one per thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ais.config import Config
from ais.errors import ClusterError
from ais.tracking.coverage import DataWindow

#: Types found from the tracks whose events each belong to one vessel, or to the MMSIs of
#: one hull (identity changes): run on partitions of whole hull groups.
PER_VESSEL = ("loitering", "port_call", "identity_change")
#: Types whose events each belong to one vessel but read the other vessels' pings nearby
#: (a module with ``halo_places`` and ``halo_km``, e.g. the dark periods' reception
#: evidence): run on the same partitions, each given its halo (:mod:`ais.runtime.halo`).
WITH_HALO = ("dark_period", "meetup")
#: Types run on partitions (the others run once over the whole tracks).
#: Per-MMSI facts found beside the types (the spoofing signs and the fishing gear to set
#: aside, ``detect_job("signals", ...)``): run on the same partitions too.
SIGNALS = "signals"
PARTITIONED = PER_VESSEL + WITH_HALO + (SIGNALS,)
#: Workers of ``--cluster local`` without a count.
DEFAULT_LOCAL_WORKERS = 2
#: The port ``dask scheduler`` listens on by default.
DEFAULT_PORT = 8786
#: Seconds to wait for a scheduler to answer, and for it to have a worker.
CONNECT_TIMEOUT_S = 10

_FIX = ("start a scheduler with `dask scheduler` and a worker with `dask worker "
        "tcp://HOST:8786` (with ais installed), or use --cluster local:2")


def parse(spec: str) -> tuple[str, Any]:
    """``("local", n_workers)`` or ``("tcp", "tcp://host:port")`` from a ``--cluster`` value;
    a :class:`ClusterError` naming the accepted forms for anything else."""
    text = spec.strip()
    if text == "local":
        return "local", DEFAULT_LOCAL_WORKERS
    if text.startswith("local:"):
        count = text.split(":", 1)[1]
        if count.isdigit() and 1 <= int(count) <= 256:
            return "local", int(count)
        raise ClusterError(f"--cluster {spec}: the worker count must be a whole number from "
                           "1 to 256 (e.g. --cluster local:2)")
    if text.startswith("tcp://") and len(text) > len("tcp://"):
        host, port = _host_port(text)
        return "tcp", f"tcp://{host if ':' not in host else f'[{host}]'}:{port}"
    raise ClusterError(f"--cluster {spec}: expected local, local:N (N worker processes on "
                       "this machine) or tcp://HOST:PORT (a running Dask scheduler)")


def _host_port(address: str) -> tuple[str, int]:
    rest = address[len("tcp://"):].rstrip("/")
    if rest.startswith("["):  # [::1]:8786
        host, _, tail = rest[1:].partition("]")
        port = tail.lstrip(":")
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host, port = rest, ""
    if port and not port.isdigit():
        raise ClusterError(f"--cluster {address}: the port must be a number "
                           "(e.g. tcp://10.0.0.5:8786)")
    return host, int(port) if port else DEFAULT_PORT


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError("--cluster needs Dask's distributed scheduler: pip install "
                           "'ais[cluster]' (dask[distributed])") from exc
    return distributed


@contextlib.contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A ``distributed.Client`` for ``spec`` (see :func:`parse`); closes what it started (the
    client, and the LocalCluster of ``local[:N]``), whatever happens in the block."""
    kind, arg = parse(spec)
    distributed = _import_distributed()
    if kind == "local":
        try:
            cluster = distributed.LocalCluster(**local_cluster_options(arg))
        except Exception as exc:
            raise ClusterError(f"--cluster {spec}: could not start {arg} local Dask "
                               f"worker(s): {exc}") from exc
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    address = arg
    _reachable(address)
    try:
        client = distributed.Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--cluster {address}: no Dask scheduler answered there "
                           f"({exc}); {_FIX}") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise ClusterError(f"--cluster {address}: the Dask scheduler there has no "
                               f"worker after {CONNECT_TIMEOUT_S} s; start one with `dask "
                               f"worker {address}` (with ais installed)") from exc
        yield client
    finally:
        client.close()


def local_cluster_options(n_workers: int) -> dict[str, Any]:
    """The ``distributed.LocalCluster`` arguments of ``--cluster local:N``: N worker
    processes of one thread each, no dashboard (the scheduler's HTTP server on a free port of
    127.0.0.1, not 8787, which another Dask may hold: a warning on stderr), quiet logs (the
    scheduler runs in this process: a worker it loses is told in the scan's own words, see
    :func:`run_jobs`, not in its log lines on stderr)."""
    return {"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None, "silence_logs": logging.CRITICAL,
            "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"}}


def _reachable(address: str) -> None:
    """Fail at once, naming the address and the fix, when nothing listens there (the Dask
    client would retry until its timeout and then say less)."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ClusterError(f"--cluster {address}: no Dask scheduler reachable there "
                           f"({why}); {_FIX}") from exc


def n_partitions(client: Any) -> int:
    """Twice as many partitions as the cluster has workers (at least 2)."""
    return max(2, 2 * len(client.scheduler_info(n_workers=-1)["workers"]))


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
    they are: each group goes with the :data:`PLACE_TILE_DEG` tile it sent most pings from,
    the tiles are put in Z order (neighbouring tiles mostly next to each other) and cut into
    ``n`` runs of about as many pings. Vessels that meet, or hear each other, mostly share a
    partition, so the halos (:mod:`ais.runtime.halo`) hold the few near a partition's edge,
    not a share of every crowd as a hash would give. A tile busier than a partition's share
    is split between partitions by its groups (a group is never split: one giant hull group
    makes its partition bigger than the others)."""
    if tracks.empty:
        return np.zeros(0, np.int64)
    group = _group_of_rows(tracks, groups)
    cy = np.floor((tracks["lat"].to_numpy(float) + 90.0) / PLACE_TILE_DEG)
    cx = np.floor((tracks["lon"].to_numpy(float) + 180.0) / PLACE_TILE_DEG)
    tile = (_spread_bits(np.nan_to_num(cy).astype(np.int64)) << 1) | _spread_bits(
        np.nan_to_num(cx).astype(np.int64))  # Z order
    counts = (pd.DataFrame({"group": group, "tile": tile})
              .groupby(["group", "tile"], sort=False).size().rename("n").reset_index())
    # each group's busiest tile (a tie: the first in Z order), and its pings
    counts = counts.sort_values(["group", "n", "tile"], ascending=[True, False, True],
                                kind="stable")
    home = counts.drop_duplicates("group").set_index("group")["tile"]
    pings = counts.groupby("group")["n"].sum()
    placed = pd.DataFrame({"tile": home, "n": pings.reindex(home.index)}).sort_values(
        ["tile"], kind="stable")
    before = placed["n"].cumsum().to_numpy() - placed["n"].to_numpy()
    part = np.minimum(before * n // max(int(placed["n"].sum()), 1), n - 1)
    of_group = pd.Series(part.astype(np.int64), index=placed.index)
    return of_group.reindex(group).to_numpy(np.int64)


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


def halo_frames(tracks: pd.DataFrame, key: np.ndarray, n: int, name: str, cfg: Config,
                window: DataWindow) -> Iterator[pd.DataFrame]:
    """Each partition's halo for type ``name`` (``key``: each row's partition,
    :func:`partition_keys`), as it is sent, one partition at a time: the rows of the other
    vessels that take part (meetups: ``halo_boxes``), or what the detector reads of them (dark
    periods: the grouped reports, ``halo_evidence``, of the tracks grouped once, within
    ``halo_km`` of its ``halo_places``). See :mod:`ais.runtime.halo`."""
    from ais.detectors import REGISTRY
    from ais.runtime import halo

    module: Any = REGISTRY[name]
    if module.HALO == "vessels":
        for rows in halo.vessel_rows(tracks, key, n, module.halo_boxes(tracks, cfg)):
            yield tracks.take(rows).reset_index(drop=True)
        return
    reports = module.halo_evidence(tracks, cfg)
    of_vessel = pd.Series(key, index=tracks["mmsi"].to_numpy(np.int64))
    of_vessel = of_vessel[~of_vessel.index.duplicated()]
    part = of_vessel.reindex(reports["mmsi"].to_numpy(np.int64)).to_numpy(np.int64)
    for rows in halo.rows(reports, part, n, module.halo_places(tracks, cfg, window),
                          module.halo_km(cfg)):
        yield reports.take(rows).reset_index(drop=True)


def run_parts(name: str, parts: Sequence[pd.DataFrame], cfg: Config, window: DataWindow,
              known: pd.DataFrame, around: Sequence[pd.DataFrame] | None = None) -> Any:
    """``name`` over each partition in this process (with its halo when ``around`` is
    given), combined (what the cluster does, for tests)."""
    from ais.pipeline import detect_job

    halo_of = list(around) if around is not None else [None] * len(parts)
    found = [detect_job(name, p, cfg, window, known, around=h)[0]
             for p, h in zip(parts, halo_of, strict=True)]
    return combine_signals(found) if name == SIGNALS else combine(found)


_T = TypeVar("_T")


def under_memory_limit(limit: str | None, job: Callable[..., _T], *args: Any,
                       **kwargs: Any) -> _T:
    """``job(*args)`` with every DuckDB connection it opens under ``limit``, spilling to a
    fresh temporary folder of this process, removed afterwards (:func:`ais.db.memory_limit`):
    what a worker runs for each job, so the scan's ``--memory-limit`` holds there too."""
    from ais.db import memory_limit

    with memory_limit(limit):
        return job(*args, **kwargs)


#: Times the detector stage is run again, from the start, after a worker was lost (the tracks
#: scattered to a lost worker are gone with it, so Dask cannot recompute what needs them).
RETRIES_AFTER_LOST_WORKER = 1


def run_jobs(client: Any, jobs: Sequence[str], tracks: pd.DataFrame, cfg: Config,
             window: DataWindow, known: pd.DataFrame, notes: list[str] | None = None
             ) -> dict[str, tuple[object, float]]:
    """Each job's result and its seconds of work on the workers (a per-vessel type: the sum
    over its partitions), gathered in the order of ``jobs`` (see the module docstring).

    A worker lost on the way (killed, out of memory, its machine gone) costs one more run of
    the stage, said in a note appended to ``notes``; lost again, a :class:`ClusterError`,
    before anything is written (``tests/test_cluster.py`` SIGKILLs workers mid-stage)."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    lost: list[str] = []
    for attempt in range(RETRIES_AFTER_LOST_WORKER + 1):
        try:
            out = _run_jobs_once(client, jobs, tracks, cfg, window, known)
        except (CancelledError, KilledWorker, CommClosedError) as exc:
            lost.append(type(exc).__name__)
            if attempt == RETRIES_AFTER_LOST_WORKER:
                raise ClusterError(
                    f"the Dask cluster lost a worker during the detector stage "
                    f"{attempt + 1} times ({type(exc).__name__}: {exc}); the scan stopped "
                    "before writing the CSV or the state, which are as they were") from exc
        else:
            if lost and notes is not None:
                notes.append(f"note: the Dask cluster lost a worker during the detector "
                             f"stage ({', '.join(lost)}); the stage ran again from the start "
                             "and finished")
            return out
    raise AssertionError("unreachable")


def _run_jobs_once(client: Any, jobs: Sequence[str], tracks: pd.DataFrame, cfg: Config,
                   window: DataWindow, known: pd.DataFrame) -> dict[str, tuple[object, float]]:
    from ais.db import scoped_memory_limit
    from ais.pipeline import detect_job

    limit = scoped_memory_limit()  # the scan's --memory-limit, for each job on its worker
    started: list[Any] = []
    try:
        # The whole tracks go to one worker, and the jobs over them are held to it: a job
        # run elsewhere would copy the whole tracks there (on one machine, a copy of every
        # ping per worker). The partitions of the per-vessel types go to the other workers,
        # sent one at a time (the client holds one partition's copy at a time).
        whole, holder = None, None
        if any(name not in PARTITIONED for name in jobs):
            whole = client.scatter(tracks, broadcast=False, hash=False)
            started.append(whole)
            holder = sorted(client.who_has([whole]).get(whole.key, ())) or None
        pieces: list[Any] = []
        around: dict[str, list[Any]] = {name: [] for name in jobs if name in WITH_HALO}
        if any(name in PARTITIONED for name in jobs):
            workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
            others = [w for w in workers if w not in (holder or ())] or None
            n = n_partitions(client)
            key = place_keys(tracks, n, hull_groups(tracks, cfg))
            halo_of = {name: halo_frames(tracks, key, n, name, cfg, window)
                       for name in around}
            targets = others or workers
            for k in range(n):
                frame = tracks[key == k].reset_index(drop=True) if len(tracks) else tracks
                halo = {name: next(frames) for name, frames in halo_of.items()}
                if len(frame) or (tracks.empty and k == 0):  # as partition(): none empty
                    # a partition and its halos go to one worker, in turn: its jobs run
                    # there without moving them
                    to = [targets[len(pieces) % len(targets)]]
                    pieces.append(client.scatter(frame, hash=False, workers=to))
                    started.append(pieces[-1])
                    for name in around:  # each partition's halo, sent once
                        around[name].append(client.scatter(halo[name], hash=False,
                                                           workers=to))
                        started.append(around[name][-1])
                del frame, halo
        futures: dict[str, list[Any]] = {}
        for name in jobs:  # submitted in the given order: the longest first
            if name in PARTITIONED:
                halos_sent = around.get(name, [None] * len(pieces))
                futures[name] = [client.submit(under_memory_limit, limit, detect_job, name,
                                               frame, cfg, window, known, pure=False,
                                               **({} if h is None else {"around": h}))
                                 for frame, h in zip(pieces, halos_sent, strict=True)]
            else:
                where = ({} if holder is None
                         else {"workers": holder, "allow_other_workers": False})
                futures[name] = [client.submit(under_memory_limit, limit, detect_job, name,
                                               whole, cfg, window, known, pure=False, **where)]
            started.extend(futures[name])
        out: dict[str, tuple[object, float]] = {}
        for name in jobs:
            done = client.gather(futures[name])
            if name == SIGNALS:
                out[name] = (combine_signals([r for r, _ in done]), sum(s for _, s in done))
            elif name in PARTITIONED:
                out[name] = (combine([r for r, _ in done]), sum(s for _, s in done))
            else:
                out[name] = done[0]
        return out
    finally:  # a failure or a stop leaves nothing running or held on the cluster
        with contextlib.suppress(Exception):
            client.cancel(started)
