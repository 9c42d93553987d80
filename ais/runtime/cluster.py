"""The detector stage on a Dask cluster (``ais scan --cluster``): same jobs, same result.

``--cluster local`` or ``local:N`` starts a ``distributed.LocalCluster`` of N single-threaded
worker processes (default 2) for the scan and closes it after; ``--cluster tcp://HOST:PORT``
connects to a running scheduler (``dask scheduler``; ``dask worker tcp://HOST:PORT`` on each
machine, with ``ais`` installed). Dask is imported only here, and only when ``--cluster`` is
given: a scan without it never imports Dask.

How the detector stage is cut: :mod:`ais.runtime.partitions` (every job on partitions of
whole hull groups placed by where they are, with the halos some types read). A partition and
its halos are sent to one worker, the workers in turn (:func:`run_jobs`).

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

import pandas as pd

from ais.config import Config
from ais.errors import ClusterError
from ais.runtime.partitions import (
    PARTITIONED,
    SIGNALS,
    WITH_HALO,
    combine,
    combine_signals,
    halo_frames,
    hull_groups,
    place_keys,
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
    """Twice as many partitions as the cluster has workers (at least 2)."""
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
