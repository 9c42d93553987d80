"""End-to-end speed and scale of ``ais scan`` on synthetic traffic, against movingpandas.

    python bench/run.py --rows 1e6 1e7 3e7            # the speed table (medians of --repeat)
    python bench/run.py --rows 1e6 --crowding --month  # + crowded anchorage, + a month
    python bench/run.py --shape dense-day --rows 1e6 3e6 --everywhere   # one dense day

``--shape default`` (the default) is plain traffic of ~1 k vessels, 1 M pings a day over as
many days as it takes; ``--shape dense-day`` is ONE day from ~1 k vessels per million pings
(55 % in transit, 30 % anchored in ~40 anchorages, 13 % slow, 2 % ship-to-ship pairs, one
in ten dark for hours) in reception order (:mod:`ais.synth.dense`). Every run prints its peak
RSS in bytes per ping (``B/ping``): the target is <= 300 at 10 M on both shapes.
``--everywhere`` and ``--no-state`` are passed to ``ais scan``.

For each size the script generates plain synthetic traffic with ``ais.synth.world.generate_pings``
(one day of the same fleet per million pings, written day by day and cached under
``--cache``), runs ``ais scan FILE -o OUT --timings`` in a fresh process ``--repeat`` times as
a user would, and prints the medians: wall seconds, pings/s, peak RSS of the scan process and
the seconds of each stage as ``ais scan --timings`` reports them.

``--movingpandas`` (on by default) times what a user would write with movingpandas on the
1 M-ping input: ``TrajectoryCollection`` -> ``ObservationGapSplitter`` (1 h) ->
``TrajectoryStopDetector`` (2 kn-ish stops: 1 km diameter, 4 h). It is slow (about 10-20 k
pings/s), so it runs on the first ``--mp-rows`` pings' vessels and is extrapolated linearly
to 1 M; the table says so.

``--crowding`` runs ``bench/crowding.py`` (2,000 ships anchored for a day within 10 km).
``--month`` scans 100 M pings hive-partitioned by day (``day=YYYY-MM-DD/part.parquet``) with
``ais scan --by-day --memory-limit`` (one day in memory at a time) and reports its peak RSS.
``--by-day`` scans the sizes that way too (time should then grow linearly with the days).
``--cluster local:2`` (or ``tcp://HOST:PORT``) scans every size, and the month, a second time
with ``ais scan --cluster``, right after the one-process run, and prints those rows in a second
table; their peak RSS is the scan process and all its worker processes summed (sampled every
0.2 s with psutil, which comes with Dask's ``distributed``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PER_DAY = 1_000_000
START = "2026-01-05"
_STAGE = re.compile(r"^\s+(\S+)\s+([0-9.]+) s$")
_TOTAL = re.compile(r"^\s+total \(wall\)\s+([0-9.]+) s$")
#: Peak RSS of ``ais scan`` per ping, measured at 10 M pings (2.9 GB): pings live in pandas.
GB_PER_PING = 3.0e-7


# ---------------------------------------------------------------- inputs (cached)

def _day(i: int) -> str:
    import pandas as pd

    return (pd.Timestamp(START) + pd.Timedelta(days=i)).strftime("%Y-%m-%d")


def _day_table(rows: int, day: int):
    import pyarrow as pa

    from ais.synth.world import generate_pings

    return pa.Table.from_pandas(generate_pings(rows, seed=7, start=_day(day)),
                                preserve_index=False)


def _atomic_dir_or_file(path: Path, build) -> Path:
    """Build into a temporary sibling and rename, so an interrupted run leaves no cache."""
    if path.exists():
        return path
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
    build(tmp)
    os.replace(tmp, path)
    return path


def single_file(n: int, cache: Path) -> Path:
    """``n`` pings in one Parquet file: consecutive days of the same fleet, 1 M per day."""
    import pyarrow.parquet as pq

    def build(tmp: Path) -> None:
        writer, left, day = None, n, 0
        while left > 0:
            table = _day_table(min(PER_DAY, left), day)
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            left -= table.num_rows
            day += 1
        if writer is not None:
            writer.close()

    return _atomic_dir_or_file(cache / f"pings_{n}.parquet", build)


def dense_file(n: int, cache: Path) -> Path:
    """``n`` pings of one dense day (:func:`ais.synth.dense.dense_day`) in one Parquet file,
    built in a child process so the generator's arrays never sit in this one."""
    def build(tmp: Path) -> None:
        subprocess.run([sys.executable, __file__, "--dense-child", str(n), str(tmp)],
                       check=True)

    return _atomic_dir_or_file(cache / f"dense_{n}.parquet", build)


def dense_child(n: int, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ais.synth.dense import dense_day

    table = pa.Table.from_pandas(dense_day(n), preserve_index=False)
    pq.write_table(table, path, row_group_size=1_000_000)


def hive_month(n: int, days: int, cache: Path) -> Path:
    """``n`` pings over ``days`` days, one ``day=YYYY-MM-DD/part.parquet`` per day."""
    import pyarrow.parquet as pq

    def build(tmp: Path) -> None:
        per = -(-n // days)
        left = n
        for day in range(days):
            rows = min(per, left)
            if rows <= 0:
                break
            out = tmp / f"day={_day(day)}" / "part.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(_day_table(rows, day), out)
            left -= rows

    return _atomic_dir_or_file(cache / f"month_{n}_{days}d", build)


# ---------------------------------------------------------------- running ais scan

def _ais_command() -> list[str]:
    script = Path(sys.executable).with_name("ais")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ais.cli"]


class TreeRss:
    """The peak of the summed RSS of a process and all its descendants (``ais scan
    --cluster local:N`` starts a nanny and a worker process per worker), sampled every
    ``every`` seconds on a thread (psutil comes with Dask's ``distributed``)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import threading

        import psutil

        self.peak, self._stop = 0, threading.Event()
        #: the peaks of the scan process alone and of its largest other process (a worker)
        self.own_peak, self.largest_child = 0, 0
        self._root = psutil.Process(pid)
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                if p is self._root:
                    self.own_peak = max(self.own_peak, rss)
                else:
                    self.largest_child = max(self.largest_child, rss)
            self.peak = max(self.peak, total)
            self._stop.wait(every)

    def stop(self) -> float:
        """The peak in GB (2**30 bytes)."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**30


def run_child(cmd: list[str], tree: bool = False, split: dict | None = None
              ) -> tuple[float, float, str]:
    """Run ``cmd``; (wall seconds, peak RSS GB of the child, stderr). Raises on failure.
    ``tree``: the peak is that of the child and all its descendants together, sampled
    (:class:`TreeRss`), instead of the child's own from the kernel; ``split`` (a dict) then
    gets the peaks in GB of the child alone (``client``) and of its largest descendant
    (``worker``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        sampler = TreeRss(proc.pid) if tree else None
        status, own_gb = _wait_for_peak(proc.pid)
        tree_gb = sampler.stop() if sampler is not None else 0.0
        if sampler is not None and split is not None:
            split.update(client=max(sampler.own_peak / 2**30, own_gb),
                         worker=sampler.largest_child / 2**30)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr}")
    return wall, max(tree_gb, own_gb) if tree else own_gb, stderr


def _wait_for_peak(pid: int) -> tuple[int, float]:
    """Wait for ``pid``: (its wait status, its own peak RSS in GB). The peak is the child's
    high-water mark (``VmHWM`` of /proc, read every 20 ms), not ``ru_maxrss``, which Linux
    carries from the parent across fork and exec: this script, grown by generating an input,
    would lend its own peak to the scan it starts. Without /proc, ``ru_maxrss``."""
    peak_kib = 0
    status_file = f"/proc/{pid}/status"
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        try:
            with open(status_file) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    return status, (peak_kib or usage.ru_maxrss) / 2**20


def stage_times(stderr: str) -> dict[str, float]:
    """The ``--timings`` block of ``ais scan``'s stderr as {stage: seconds}."""
    lines = stderr.splitlines()
    if "stage timings:" not in lines:
        return {}
    out = {}
    for line in lines[lines.index("stage timings:") + 1:]:
        m = _STAGE.match(line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def total_time(stderr: str) -> float:
    """The ``total (wall)`` line of ``--timings``: first stage start to last stage end (the
    detectors run on two threads, so their stage times overlap)."""
    found = [float(m.group(1)) for m in map(_TOTAL.match, stderr.splitlines()) if m]
    return found[-1] if found else float("nan")


def scan(path: Path, repeat: int, workdir: Path, extra: tuple[str, ...] = ()) -> dict:
    """Median wall, peak RSS and stage times of ``repeat`` runs of ``ais scan path``.

    Each run writes into a fresh directory, so each is a first night: its state database
    (``ais scan`` keeps one beside the CSV by default) starts empty and is written. With
    ``--cluster`` among ``extra`` the RSS is that of the scan and its worker processes
    together (sampled).
    """
    runs = []
    for i in range(repeat):
        out = workdir / f"{path.stem}-run{i}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [*_ais_command(), "scan", str(path), "-o", str(out / "flagged.csv"),
               "--timings", "-q", *extra]
        split: dict = {}
        wall, rss, stderr = run_child(cmd, tree="--cluster" in extra, split=split)
        state = out / "ais-state.duckdb"
        runs.append({"wall": wall, "rss": rss, "stages": stage_times(stderr), **split,
                     "total": total_time(stderr),
                     "state_mb": state.stat().st_size / 2**20 if state.exists() else 0.0})
    names = list(dict.fromkeys(k for r in runs for k in r["stages"]))
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "walls": [r["wall"] for r in runs],
        "rss": statistics.median(r["rss"] for r in runs),
        **{k: statistics.median(r[k] for r in runs) for k in ("client", "worker")
           if all(k in r for r in runs)},
        "total": statistics.median(r["total"] for r in runs),
        "state_mb": statistics.median(r["state_mb"] for r in runs),
        "stages": {k: statistics.median(r["stages"].get(k, 0.0) for r in runs) for k in names},
    }


# ---------------------------------------------------------------- movingpandas reference

def movingpandas_child(path: str, max_rows: int) -> None:
    """Print JSON: pings and seconds of the plain movingpandas pipeline on whole vessels."""
    import warnings
    from datetime import timedelta

    warnings.filterwarnings("ignore")
    import geopandas as gpd
    import movingpandas as mpd
    import pandas as pd

    df = pd.read_parquet(path, columns=["mmsi", "timestamp", "lat", "lon"])
    sizes = df.groupby("mmsi").size().sort_index()
    keep = sizes.index[sizes.cumsum() <= max(max_rows, int(sizes.iloc[0]))]
    df = df[df["mmsi"].isin(keep)]
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).dt.tz_localize(None)
    t0 = time.perf_counter()
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                           crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf, traj_id_col="mmsi", t="timestamp")
    t1 = time.perf_counter()
    segments = mpd.ObservationGapSplitter(tc).split(gap=timedelta(hours=1))
    t2 = time.perf_counter()
    stops = mpd.TrajectoryStopDetector(segments).get_stop_segments(
        min_duration=timedelta(hours=4), max_diameter=1000)
    t3 = time.perf_counter()
    print(json.dumps({"pings": len(df), "collection_s": t1 - t0, "splitter_s": t2 - t1,
                      "stops_s": t3 - t2, "segments": len(segments.trajectories),
                      "stops": len(stops.trajectories)}))


def movingpandas(path: Path, max_rows: int, total_rows: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--mp-child", str(path),
                          "--mp-rows", str(max_rows)],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    seconds = r["collection_s"] + r["splitter_s"] + r["stops_s"]
    r["seconds"] = seconds
    r["extrapolated_s"] = seconds * total_rows / r["pings"]
    return r


# ---------------------------------------------------------------- crowding

def crowding(vessels: int, hours: float) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "crowding.py"), "--vessels", str(vessels),
                          "--hours", str(hours)], capture_output=True, text=True, check=True)
    fields = {}
    for line in out.stdout.splitlines():
        key, _, value = line.rpartition("  ")
        fields[key.strip()] = value.strip()
    return fields


# ---------------------------------------------------------------- table

def bytes_per_ping(rss_gb: float, rows: int) -> float:
    """Peak RSS (GB, as :func:`run_child` gives it) in bytes per ping."""
    return rss_gb * 2**30 / max(rows, 1)


def _fmt_row(rows: int, r: dict, stages: list[str]) -> str:
    cells = [f"{rows:>12,}", f"{r['wall']:>7.2f}", f"{rows / r['wall']:>11,.0f}",
             f"{r['rss']:>7.2f}", f"{bytes_per_ping(r['rss'], rows):>7,.0f}",
             f"{r.get('state_mb', 0.0):>8.1f}"]
    cells += [f"{r['stages'].get(s, float('nan')):>{max(7, len(s))}.2f}" for s in stages]
    return " ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", type=float, default=[1e6, 1e7, 3e7])
    parser.add_argument("--shape", choices=("default", "dense-day"), default="default",
                        help="default: ~1 k vessels, 1 M pings a day; dense-day: one day of "
                             "~1 k vessels per million pings, in reception order")
    parser.add_argument("--everywhere", action="store_true", help="pass --everywhere")
    parser.add_argument("--no-state", action="store_true", help="pass --no-state")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median)")
    parser.add_argument("--cache", default="/tmp/ais-bench", help="generated inputs")
    parser.add_argument("--no-movingpandas", dest="mp", action="store_false")
    parser.add_argument("--mp-rows", type=int, default=100_000,
                        help="movingpandas runs on this many pings' vessels, extrapolated")
    parser.add_argument("--crowding", action="store_true")
    parser.add_argument("--month", action="store_true", help="scan 100 M pings over 31 days")
    parser.add_argument("--month-rows", type=float, default=1e8)
    parser.add_argument("--month-days", type=int, default=31)
    parser.add_argument("--crowding-vessels", type=int, default=2000)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--max-gb", type=float, default=12.0,
                        help="skip sizes whose scan would need more memory than this; the "
                             "whole scans get it as --memory-limit (so none is split by day)")
    parser.add_argument("--by-day", action="store_true",
                        help="scan the sizes with `ais scan --by-day` (memory of one day)")
    parser.add_argument("--cluster", metavar="SPEC",
                        help="also scan every size (and the month) with `ais scan --cluster "
                             "SPEC` (e.g. local:2) and print those rows below the one-process "
                             "ones; their RSS is the scan's and its workers' together")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--mp-child", help=argparse.SUPPRESS)
    parser.add_argument("--dense-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dense_child:
        dense_child(int(args.dense_child[0]), args.dense_child[1])
        return 0
    if args.mp_child:
        movingpandas_child(args.mp_child, args.mp_rows)
        return 0

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results: dict = {"cpus": os.cpu_count(), "sizes": {}}
    sizes = [int(r) for r in args.rows]
    held = ((lambda n: min(n, PER_DAY)) if args.by_day and args.shape == "default"
            else (lambda n: n))  # noqa: E731
    make_input = single_file if args.shape == "default" else dense_file
    passed = (("--everywhere",) if args.everywhere else ()) + (
        ("--no-state",) if args.no_state else ())
    too_big = [n for n in sizes if held(n) * GB_PER_PING > args.max_gb]
    for n in too_big:
        print(f"skipped {n:,} pings: a scan holds its pings in memory, about "
              f"{n * GB_PER_PING:.0f} GB at the peak, more than --max-gb {args.max_gb:g}")
    sizes = [n for n in sizes if n not in too_big]
    results["skipped"] = too_big
    clustered = ("--cluster", args.cluster) if args.cluster else ()
    if args.cluster:
        results["cluster"] = {}
    with tempfile.TemporaryDirectory(prefix="ais-bench-") as work:
        workdir = Path(work)
        for n in sizes:
            how = (("--by-day",) if args.by_day else
                   ("--memory-limit", f"{args.max_gb:g}GB")) + passed
            results["sizes"][n] = scan(make_input(n, cache), args.repeat, workdir, how)
            results["sizes"][n]["bytes_per_ping"] = bytes_per_ping(
                results["sizes"][n]["rss"], n)
            if args.cluster:  # right after, so both see the same machine
                results["cluster"][n] = scan(make_input(n, cache), args.repeat, workdir,
                                             how + clustered)
                results["cluster"][n]["bytes_per_ping"] = bytes_per_ping(
                    results["cluster"][n]["rss"], n)
        tables = [("", results["sizes"])]
        if args.cluster:
            tables.append((f" --cluster {args.cluster}", results["cluster"]))
        stages = list(dict.fromkeys(s for _, t in tables for r in t.values()
                                    for s in r["stages"]))
        head = [f"{'rows':>12}", f"{'wall s':>7}", f"{'pings/s':>11}", f"{'RSS GB':>7}",
                f"{'B/ping':>7}", f"{'state MB':>8}"]
        head += [f"{s:>{max(7, len(s))}}" for s in stages]
        for label, table in tables:
            print(f"ais scan{' --by-day' if args.by_day else ''}{' '.join(('', *passed))}"
                  f"{label} on the {args.shape} shape, end to end, median of "
                  f"{args.repeat} runs, {os.cpu_count()} cores "
                  "(stage columns: seconds, from `ais scan --timings`"
                  + ("; RSS: the scan and its workers together)" if label else ")"))
            print(" ".join(head))
            for n in sizes:
                print(_fmt_row(n, table[n], stages))
            if label:  # what each process held at its peak (on a cluster: each machine)
                print("  of which: " + "; ".join(
                    f"{n:,}: scan {table[n]['client']:.2f} GB, largest worker "
                    f"{table[n]['worker']:.2f} GB" for n in sizes if "client" in table[n]))
        by_rows = results["sizes"]
        big = [n for n in sizes if n >= 10_000_000]
        if len(big) >= 2:
            a, b = big[0], big[-1]
            ratio = by_rows[b]["wall"] / by_rows[a]["wall"]
            print(f"time growth {b / a:.1f}x rows -> {ratio:.2f}x wall")
            results["growth"] = ratio

        if args.mp:
            n = min(sizes, key=lambda s: abs(s - 1_000_000))
            mp = movingpandas(make_input(n, cache), args.mp_rows, n)
            ours = by_rows[n]["wall"]
            print(f"movingpandas (TrajectoryCollection + ObservationGapSplitter + "
                  f"TrajectoryStopDetector) timed on {mp['pings']:,} pings: "
                  f"{mp['seconds']:.1f} s ({mp['pings'] / mp['seconds']:,.0f} pings/s), "
                  f"extrapolated linearly to {n:,} pings: {mp['extrapolated_s']:.0f} s")
            work = by_rows[n]["total"] - by_rows[n]["stages"].get("state", 0.0)
            mp_rate = mp["pings"] / mp["seconds"]
            print(f"ais scan on {n:,} pings: {ours:.2f} s wall incl. start-up -> "
                  f"{mp['extrapolated_s'] / ours:.0f}x faster; its stages from ingest to "
                  f"output (no start-up, no state) {work:.2f} s -> "
                  f"{mp['extrapolated_s'] / work:.0f}x")
            ratios = {"ratio": mp["extrapolated_s"] / ours,
                      "ratio_stages": mp["extrapolated_s"] / work}
            for big_n in big:
                rate = big_n / by_rows[big_n]["wall"]
                print(f"per ping, ais scan of {big_n:,} pings end to end ({rate:,.0f} pings/s) "
                      f"is {rate / mp_rate:.0f}x movingpandas' {mp_rate:,.0f} pings/s")
                ratios[f"ratio_per_ping_{big_n}"] = rate / mp_rate
            results["movingpandas"] = mp | ratios

        if args.crowding:
            c = crowding(args.crowding_vessels, 24)
            print(f"crowding: {c.get('pings')} pings of {args.crowding_vessels:,} ships anchored "
                  "24 h within 10 km: "
                  f"build_tracks {c.get('build_tracks')}, meetup.detect "
                  f"{c.get('meetup.detect')}, peak RSS {c.get('peak RSS')}")
            results["crowding"] = c

        per_day = args.month_rows / args.month_days
        if args.month and per_day * GB_PER_PING > args.max_gb:
            print(f"month skipped: one day of {per_day:,.0f} pings needs about "
                  f"{per_day * GB_PER_PING:.0f} GB, more than --max-gb {args.max_gb:g}")
        elif args.month:
            month = hive_month(int(args.month_rows), args.month_days, cache)
            # no --by-day: the scan sees that a whole month would pass the limit and goes by day
            for key, extra in (("month", ()), ("month_cluster", clustered)):
                if key == "month_cluster" and not args.cluster:
                    continue
                r = scan(month, 1, workdir, ("--memory-limit", args.memory_limit, *extra))
                print(f"month{' '.join(('', *extra))}: {int(args.month_rows):,} pings, "
                      f"{args.month_days} day partitions, --memory-limit {args.memory_limit}: "
                      f"{r['wall']:.0f} s wall, {args.month_rows / r['wall']:,.0f} pings/s, "
                      f"peak RSS {r['rss']:.2f} GB "
                      f"({bytes_per_ping(r['rss'], int(args.month_rows)):,.0f} B/ping"
                      + (f"; scan {r['client']:.2f} GB, largest worker {r['worker']:.2f} GB"
                         if "client" in r else "") + "); "
                      "stages " + ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))
                results[key] = r
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
