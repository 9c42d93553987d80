"""The detector stage on a Dask cluster (``ais scan --cluster``): same jobs, same result.

``--cluster local`` or ``local:N`` starts a ``distributed.LocalCluster`` of N single-threaded
worker processes (default 2) for the scan and closes it after; ``--cluster tcp://HOST:PORT``
connects to a running scheduler (``dask scheduler``; ``dask worker tcp://HOST:PORT`` on each
machine, with ``ais`` installed). Dask is imported only here, and only when ``--cluster`` is
given: a scan without it never imports Dask.

How the detector stage is cut: :mod:`ais.runtime.partitions` (every job on partitions of
whole hull groups placed by where they are, with the halos some types read). A partition and
its halos are sent to one worker, the workers in turn (:func:`run_jobs`).

Each worker reads its own share of the input and builds its tracks
(:func:`read_on_workers`, :func:`build_share_tracks`, :mod:`ais.runtime.shares`), and the
tracks stay there (:class:`OnWorkers`): the partitions are cut from the shares on the
workers (:meth:`OnWorkers.cut`), and then are the tracks the scan holds, until it ends.
Everything the client does after the tracks asks them where they are
(:mod:`ais.runtime.held`): per-vessel answers (the learned anchorages' still pings, the
data window's cells, the hull keys, the pings per tile, the halos' grouped reports and
boxes, display identities, the carry), the paired types' vessels (a few columns), the
flagged events' pings. The client never holds a copy of every ping; the meetups' halos
(whole vessels) are put together on the workers too. When the workers do not see the input
files as the client does, the client reads them, holds the tracks (:class:`ais.runtime.
held.Here`) and sends the partitions, as before.

DuckDB's memory limit (``--memory-limit``, :func:`ais.db.memory_limit`) holds on the
workers too (the reads as well): each job runs under the client's limit
(:func:`under_memory_limit`), spilling to a temporary folder of the worker's own, removed
after the job (the client's spill folder may not exist on the worker's machine). As on the
client, the limit is per DuckDB connection: a worker of several threads may open one per
thread.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import os
import socket
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ais.config import Config
from ais.errors import ClusterError, InputError
from ais.inputs.ingest import CleaningReport
from ais.runtime import shares as sh
from ais.runtime.partitions import (
    PARTITIONED,
    SIGNALS,
    WITH_HALO,
    by_whole_vessels,
    combine,
    combine_signals,
    evidence_halos,
    halo_frames_here,
    halo_places,
    halos,
    held_groups,
    join_evidence,
    vessel_places,
)
from ais.tracking.coverage import DataWindow

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
    """Twice as many partitions as the cluster has workers (at least 2). (More, smaller
    partitions do not lower a worker's peak where vessels crowd: 12 partitions of the 30 M
    default shape on 2 workers, 6.9 GB against 5.6 GB with 4; the meetups' halos of whole
    vessels grow with the number of partition edges.)"""
    return max(2, 2 * len(client.scheduler_info(n_workers=-1)["workers"]))


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


def run_jobs(client: Any, jobs: Sequence[str], held: Any, cfg: Config, window: DataWindow,
             known: pd.DataFrame, notes: list[str] | None = None
             ) -> dict[str, tuple[object, float]]:
    """Each job's result and its seconds of work on the workers (a per-vessel type: the sum
    over its partitions), gathered in the order of ``jobs`` (see the module docstring).
    ``held``: the tracks, here (:class:`ais.runtime.held.Here`: the partitions are sent from
    them) or on the workers (:class:`OnWorkers`: the partitions are cut there, once).

    A worker lost on the way (killed, out of memory, its machine gone) costs one more run of
    the stage, said in a note appended to ``notes``; lost again, a :class:`ClusterError`,
    before anything is written (``tests/test_cluster.py`` SIGKILLs workers mid-stage)."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    lost: list[str] = []
    for attempt in range(RETRIES_AFTER_LOST_WORKER + 1):
        try:
            out = _run_jobs_once(client, jobs, held, cfg, window, known)
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


def _run_jobs_once(client: Any, jobs: Sequence[str], held: Any, cfg: Config,
                   window: DataWindow, known: pd.DataFrame
                   ) -> dict[str, tuple[object, float]]:
    import distributed

    from ais.db import scoped_memory_limit
    from ais.pipeline import detect_job

    limit = scoped_memory_limit()  # the scan's --memory-limit, for each job on its worker
    started: list[Any] = []
    try:
        # a job of a type not run on partitions gets the whole tracks on one worker, and is
        # held to it (none today: every type declares how it is partitioned)
        whole, holder = None, None
        if any(name not in PARTITIONED for name in jobs):
            whole = (client.scatter(held.frame, broadcast=False, hash=False)
                     if not isinstance(held, OnWorkers)
                     else client.submit(sh.whole, held.futures, held.categories, pure=False))
            started.append(whole)
            distributed.wait([whole])
            holder = sorted(client.who_has([whole]).get(whole.key, ())) or None
        pieces: list[Any] = []
        around: dict[str, list[Any]] = {name: [] for name in jobs if name in WITH_HALO}
        if any(name in PARTITIONED for name in jobs):
            parts, of_vessel, n = _partitions(client, held, cfg, holder, started)
            halo_of = {name: _halos(client, held, of_vessel, n, name, cfg, window, started)
                       for name in around}
            for k, piece in sorted(parts.items()):
                pieces.append(piece)
                # its halos go where it is (a worker lost since: anywhere)
                to = sorted(client.who_has([piece]).get(piece.key, ())) or None
                for name in around:  # each partition's halo, sent once, to its worker
                    halo = halo_of[name][k]
                    if isinstance(halo, pd.DataFrame):
                        halo = client.scatter(halo, hash=False, workers=to)
                        started.append(halo)
                    around[name].append(halo)
            del halo_of
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
    finally:  # a failure or a stop leaves nothing running or held on the cluster (but the
        # tracks: the partitions cut on the workers stay, as the held tracks, for after)
        with contextlib.suppress(Exception):
            client.cancel(started)


def _halos(client: Any, held: Any, of_vessel: pd.Series, n: int, name: str, cfg: Config,
           window: DataWindow, started: list[Any]) -> list[Any]:
    """Each partition's halo of type ``name`` (see :func:`ais.runtime.partitions.halos`):
    a frame to send from here (tracks held here), or a future of one made on the workers
    from the parts they hold (:class:`OnWorkers`: the meetups' whole vessels, the dark
    periods' grouped reports near the partition's places, each part's pieces put together
    on a worker; only the places, the boxes and which vessels go where pass the client)."""
    if not isinstance(held, OnWorkers):
        return halo_frames_here(held, of_vessel, n, name, cfg, window)
    if by_whole_vessels(name):
        out = [held.vessels_future(client, mmsis)
               for mmsis in halos(held, of_vessel, n, name, cfg, window)]
    else:
        places = halo_places(held, of_vessel, name, cfg, window)
        per_part = [client.submit(evidence_halos, f, of_vessel, n, name, cfg, places,
                                  pure=False) for f in held.futures]
        out = [client.submit(join_evidence, [client.submit(operator.getitem, p, k, pure=False)
                                             for p in per_part], pure=False)
               for k in range(n)]
    started.extend(out)
    return out


def _partitions(client: Any, held: Any, cfg: Config, holder: list[str] | None,
                started: list[Any]) -> tuple[dict[int, Any], pd.Series, int]:
    """The detector stage's partitions (k -> future; empty ones left out), each MMSI's
    partition, and their count. On the workers (:class:`OnWorkers`) they are cut there, once
    (:meth:`OnWorkers.cut`; a rerun after a lost worker finds them made: Dask makes a lost
    one again); else sent from the frame here, a partition at a time, the workers in turn
    (other than ``holder``'s)."""
    if isinstance(held, OnWorkers):
        if held.of_vessel is None:
            n = n_partitions(client)
            held.cut(client, vessel_places(held, n, held_groups(held, cfg)), n)
        assert held.of_vessel is not None
        return dict(zip(held.keys, held.futures, strict=True)), held.of_vessel, held.n_parts
    n = n_partitions(client)
    tracks = held.frame
    of_vessel = vessel_places(held, n, held_groups(held, cfg))
    key = of_vessel.reindex(tracks["mmsi"].to_numpy(np.int64)).to_numpy(np.int64)
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    targets = [w for w in workers if w not in (holder or ())] or workers
    out: dict[int, Any] = {}
    for k in range(n):
        frame = tracks[key == k].reset_index(drop=True) if len(tracks) else tracks
        if not (len(frame) or (tracks.empty and k == 0)):  # as partition()
            continue
        # a partition and its halos go to one worker, in turn: its jobs run there
        out[k] = client.scatter(frame, hash=False, workers=[targets[len(out) % len(targets)]])
        started.append(out[k])
        del frame
    return out, of_vessel, n


# ------------------------------------------------------------ workers read their own share

@dataclass
class Shares:
    """The input as the workers read it: one share per worker (:mod:`ais.runtime.shares`),
    held there as futures; the client has each share's facts and the one read's report."""

    n: int
    reads: list[Any]
    facts: list[sh.ShareFacts]
    report: CleaningReport

    @property
    def first(self) -> Any:
        times = [f.first for f in self.facts if f.first is not None]
        return min(times) if times else None

    @property
    def last(self) -> Any:
        times = [f.last for f in self.facts if f.last is not None]
        return max(times) if times else None

    def release(self, client: Any) -> None:
        """Let the workers drop the shares' pings as read (their tracks are held by
        :class:`OnWorkers`)."""
        with contextlib.suppress(Exception):
            client.cancel(self.reads)
        self.reads = []


def _inputs_seen(paths: list[str], skip_bad_files: bool) -> tuple[str, list[str] | str]:
    """What a worker sees of the input paths: its working folder and the files they name
    (or why it sees none), run on every worker by :func:`read_on_workers`."""
    from ais.inputs.ingest import resolve_inputs

    try:
        files = resolve_inputs(paths, [] if skip_bad_files else None)
    except InputError as exc:
        return os.getcwd(), str(exc)
    return os.getcwd(), [str(f) for f in files]


#: The note of a scan whose workers cannot read the input where the scan reads it.
NOT_SEEN = ("note: the Dask workers do not see the input files as this machine does ({why}); "
            "the scan read them here and sent the workers their partitions. Give paths "
            "every worker reads the same way (absolute paths on a shared file system) to "
            "have each worker read its own share")


def read_on_workers(client: Any, paths: Sequence[str | Path], cfg: Config,
                    skip_bad_files: bool, window: tuple[str, str] | None,
                    notes: list[str]) -> Shares | None:
    """Each worker reads and cleans its share of the input (:func:`ais.runtime.shares.
    read_share`, under the scan's memory limit), and keeps it; the client gets the shares'
    facts. None, with a note, when some worker does not see the input files as the client
    does (another machine without the same paths): the scan then reads them itself. Errors
    of the input (a missing or bad file) are those of the one-process read."""
    from ais.db import scoped_memory_limit
    from ais.inputs.ingest import resolve_inputs

    texts = [str(p) for p in paths]
    try:
        mine = [str(f) for f in resolve_inputs(texts, [] if skip_bad_files else None)]
    except InputError:
        return None  # the read here says what is wrong, in its own words
    relative = any(not Path(p).is_absolute() for p in texts)
    seen = client.run(_inputs_seen, texts, skip_bad_files)
    for worker, (cwd, files) in sorted(seen.items()):
        why = None
        if files != mine:
            why = (f"worker {worker}: {files}" if isinstance(files, str)
                   else f"worker {worker} finds {len(files)} file(s), this machine "
                        f"{len(mine)}")
        elif relative and cwd != os.getcwd():
            why = f"relative paths, and worker {worker} works in {cwd}"
        if why:
            notes.append(NOT_SEEN.format(why=why))
            return None
    n = len(seen)
    limit = scoped_memory_limit()
    # not held to a worker: a task restricted to a worker address waits for ever once that
    # worker is gone (distributed 2026.8 leaves it "no-worker" even with
    # allow_other_workers), where an unrestricted one is computed again elsewhere
    reads = _read_once(client, mine, cfg, n, skip_bad_files, window, limit)
    if reads is None:  # every worker reads every file, and keeps its share
        reads = [client.submit(under_memory_limit, limit, sh.read_share, texts, cfg, k, n,
                               skip_bad_files, window, pure=False)
                 for k in range(n)]
    try:
        facts = client.gather([client.submit(sh.facts, r, cfg, pure=False) for r in reads])
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(reads)
        raise
    reports = [f.report for f in facts]
    if not sh.same_files(reports):
        client.cancel(reads)
        notes.append(NOT_SEEN.format(why="the workers' reads left out different files"))
        return None
    return Shares(n, reads, facts, sh.combine_reports(reports))


def _read_once(client: Any, files: list[str], cfg: Config, n: int, skip_bad_files: bool,
               window: tuple[str, str] | None, limit: str | None) -> list[Any] | None:
    """Each file read once, when the input holds text files (CSV, NMEA logs), which every
    worker would otherwise parse or decode in full: the files cut into runs of about as
    many bytes, one worker reading each run and cutting its rows by share
    (:func:`ais.runtime.shares.read_part`), each share then cleaned from its rows of every
    run (:func:`ais.runtime.shares.clean_share`; the shuffle by MMSI, worker to worker).
    The shares' futures, or None: Parquet files only (each worker's read of its share
    skips what it does not keep, and costs less than the shuffle of raw rows: 10 day files
    of 10 M pings, ingest 6.9 s against 16.0 s read once), one file (its rows are not
    split), or a run that met a bad or repaired file (then every worker reads every file,
    so that the report and the errors are those of one read, in its order)."""
    from concurrent.futures import CancelledError

    from ais.inputs.readers import PARQUET, format_of

    if len(files) < 2 or n < 2 or all(format_of(Path(f)) == PARQUET for f in files):
        return None
    runs = sh.file_runs(files, [Path(f).stat().st_size for f in files], n)
    parts = [client.submit(under_memory_limit, limit, sh.read_part, run, cfg, n,
                           skip_bad_files, window, pure=False) for run in runs]
    try:
        reports = client.gather([client.submit(sh.report_of, p, pure=False) for p in parts])
    except (InputError, CancelledError):
        client.cancel(parts)
        return None
    if any(r.bad_files or r.repaired_text for r in reports):
        client.cancel(parts)
        return None
    return [client.submit(under_memory_limit, limit, sh.clean_share,
                          [client.submit(sh.table_of, p, k, pure=False) for p in parts],
                          reports, cfg, pure=False)
            for k in range(n)]


def build_share_tracks(client: Any, shares: Shares, carried: pd.DataFrame | None,
                       cfg: Config) -> OnWorkers:
    """Each share's tracks built on its worker (the pings the state carried for its vessels
    sent along) and kept there: the tracks held on the workers (:class:`OnWorkers`), the
    same rows, put together, as one process's tracks."""
    from ais.db import scoped_memory_limit

    limit = scoped_memory_limit()
    pieces: list[pd.DataFrame | None] = [None] * shares.n
    if carried is not None and len(carried):
        share = sh.share_of(carried["mmsi"].to_numpy(), shares.n)
        pieces = [carried[share == k].reset_index(drop=True) for k in range(shares.n)]
    with warnings.catch_warnings():  # the carried pings go in the task, so a lost worker's
        # tracks can be built again: the graph is large on purpose
        warnings.filterwarnings("ignore", message="Sending large graph")
        tracks = [client.submit(under_memory_limit, limit, sh.share_tracks, read, piece, cfg,
                                pure=False)
                  for read, piece in zip(shares.reads, pieces, strict=True)]
    del pieces
    # the pings as read are let go (not cancelled: that would cancel the tracks too); a
    # share's tracks lost with its worker are built again from a read Dask makes again
    shares.reads = []
    outlines = client.gather([client.submit(sh.outline, t, pure=False) for t in tracks])
    return OnWorkers(client, tracks, outlines[0].columns,
                     sh.union_categories([o.categories for o in outlines]))


class OnWorkers:
    """The tracks held on the workers of a Dask cluster (:mod:`ais.runtime.held`): frames of
    disjoint vessels, each in MMSI order, first the shares the workers read, then (once the
    detector stage has cut them, :meth:`cut`) its partitions. Questions go to them as tasks
    and come back as answers; the client never holds the pings."""

    def __init__(self, client: Any, futures: list[Any], columns: list[str],
                 categories: dict[str, pd.Index]) -> None:
        self.client, self.futures = client, futures
        self.columns, self.categories = columns, categories
        #: after :meth:`cut`: each MMSI's partition, the partitions' keys and count
        self.of_vessel: pd.Series | None = None
        self.keys: list[int] = []
        self.n_parts = 0

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``fn(frame, *args)`` of each frame, on its worker."""
        return self.client.gather([self.client.submit(fn, f, *args, pure=False)
                                   for f in self.futures])

    def of_vessels(self, mmsis: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every row (``columns``, all when None) of the vessels ``mmsis``, fetched."""
        wanted = np.unique(np.asarray(mmsis, np.int64))
        if columns is not None and "mmsi" not in columns:
            columns = ["mmsi", *columns]
        return sh.by_vessel(self.map(sh.rows_of, wanted, columns), self.categories)

    def around(self, wanted: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """The rows (``columns``) of each wanted vessel in its span, fetched."""
        return sh.by_vessel(self.map(sh.rows_around, wanted, list(columns)), self.categories)

    def vessels_future(self, client: Any, mmsis: np.ndarray) -> Any:
        """A future of every row of the vessels ``mmsis``, put together on a worker."""
        pieces = [client.submit(sh.rows_of, f, mmsis, None, pure=False) for f in self.futures]
        return client.submit(sh.whole, pieces, self.categories, pure=False)

    def cut(self, client: Any, of_vessel: pd.Series, n: int) -> None:
        """Cut the held frames into the ``n`` partitions of the detector stage (``of_vessel``:
        each MMSI's partition; :func:`ais.runtime.shares.split`, then each partition's
        pieces put together, :func:`ais.runtime.shares.whole`): the shuffle by hull key, from
        worker to worker. The partitions are then the held frames (empty ones left out) and
        the shares are let go, not cancelled (which would cancel the partitions made from
        them); Dask places them (no worker restriction: see :func:`read_on_workers`)."""
        import distributed

        cuts = [client.submit(sh.split, t, of_vessel, n, pure=False) for t in self.futures]
        keys = sorted(set(of_vessel.unique().tolist())) or [0]
        parts = [client.submit(sh.whole, [client.submit(operator.getitem, c, k, pure=False)
                                          for c in cuts], self.categories, pure=False)
                 for k in keys]
        # from here the partitions are the tracks held: the shares are let go as soon as
        # they are cut, and the pieces as soon as put together, so a worker holds about two
        # copies of its share at the peak of the shuffle, not three (Dask keeps the tasks,
        # to make a lost partition again, also while this waits)
        del cuts
        self.futures, self.keys, self.of_vessel, self.n_parts = parts, keys, of_vessel, n
        distributed.wait(parts)

    def release(self) -> None:
        """Let the workers drop the tracks."""
        with contextlib.suppress(Exception):
            self.client.cancel(self.futures)
        self.futures = []
