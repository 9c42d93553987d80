"""`ais scan --cluster` (#18): the detector stage on a Dask cluster gives the same CSV.

One LocalCluster of two single-threaded worker processes (what ``--cluster local:2``
starts) serves the module; the scans reach it as ``--cluster tcp://...``, the fixture days
(and, under ``pytest -m slow``, a scan by day) start their own with ``--cluster local:2``. At
the end, workers are SIGKILLed mid-stage.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from click.testing import CliRunner  # noqa: E402

from ais.cli import main  # noqa: E402
from ais.config import Config  # noqa: E402
from ais.nightly.state import State  # noqa: E402
from ais.runtime import cluster, partitions  # noqa: E402

from .conftest import FIXTURES, GFW, MARINECADASTRE, need, write_parquet  # noqa: E402
from .test_nightly import DAY1, DAY2, state_tables, two_days  # noqa: E402

DAYS = [str(FIXTURES / "nampo_day.parquet"), str(FIXTURES / "najin_day.parquet")]

# one test process runs the whole module (pytest-xdist's loadgroup), so its LocalCluster and
# its module fixtures are made once, not once in each test process
pytestmark = pytest.mark.xdist_group("cluster")


@pytest.fixture(scope="module")
def scheduler():
    """The address of a running LocalCluster of two worker processes."""
    with distributed.LocalCluster(**cluster.local_cluster_options(2)) as local:
        yield local.scheduler_address


def _scan(tmp_path, name: str, paths: list[str], *extra: str) -> bytes:
    out = tmp_path / f"{name}.csv"
    result = CliRunner().invoke(main, ["scan", *paths, "-o", str(out), "--no-state", "-q",
                                       *extra])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.fixture
def reads_on_workers(monkeypatch) -> list[object]:
    """What each ais.runtime.cluster.read_on_workers call answered (None: read here)."""
    answers: list[object] = []
    real = cluster.read_on_workers

    def counted(*args, **kwargs):
        answers.append(real(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(cluster, "read_on_workers", counted)
    return answers


@pytest.fixture
def fetched(monkeypatch) -> list[tuple[str, int]]:
    """Each answer the client got back from the tracks held on the workers
    (``OnWorkers.map``: the question asked, the rows of its largest frame)."""
    got: list[tuple[str, int]] = []
    real = cluster.OnWorkers.map

    def counted(self, fn, *args):
        answers = real(self, fn, *args)
        for answer in answers:
            items = answer if isinstance(answer, tuple) else (answer,)
            got.append((fn.__name__, max(len(i) if isinstance(i, pd.DataFrame) else 0
                                         for i in items)))
        return answers

    monkeypatch.setattr(cluster.OnWorkers, "map", counted)
    return got


@pytest.fixture
def read_once(monkeypatch) -> list[bool]:
    """For each read on the workers: whether each file was read once (runs of files, the
    rows shuffled by share: ais.runtime.cluster._read_once) rather than by every worker."""
    seen: list[bool] = []
    real = cluster._read_once

    def counted(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(cluster, "_read_once", counted)
    return seen


def test_the_fixture_days_on_a_cluster_give_the_same_csv(tmp_path, scheduler,
                                                          reads_on_workers, fetched, read_once):
    """(On the module's running cluster; ``--cluster local:2`` itself: the by-day test
    under ``pytest -m slow``, and the cluster's start in ais.runtime.cluster.connect.)
    The client holds answers, never the tracks: what it fetches back from the workers is
    per vessel, per cell or per flagged event, never a copy of the pings."""
    alone = _scan(tmp_path, "alone", DAYS)
    assert alone.count(b"\n") > 10
    assert _scan(tmp_path, "local", DAYS, "--cluster", scheduler) == alone
    # the workers read the files, each its share (Parquet: a worker's read skips what it
    # does not keep), and built its share's tracks
    assert read_once == [False]
    [shares] = reads_on_workers
    assert isinstance(shares, cluster.Shares) and shares.n == 2
    pings = shares.report.rows_out
    assert shares.report.rows_in == sum(f.report.rows_in for f in shares.facts) > 80_000
    assert all(f.report.rows_in > 10_000 for f in shares.facts)
    asked = {name for name, _ in fetched}
    assert {"still", "window_facts", "hull_links", "halo_places", "halo_boxes", "rows_of"} <= asked
    assert not asked & {"whole", "halo_evidence", "evidence_halos"}
    # 2026-12-06: 6,267 rows in all for 87,719 pings, the largest answer 941 rows (the
    # paired types' vessels); the whole tracks put together on the client would be 87,719
    assert sum(rows for _, rows in fetched) < pings / 8, sorted(fetched, key=lambda f: -f[1])



@pytest.mark.slow  # suite time (17 s): tests/test_shares.py checks the same read in one process
def test_text_files_are_read_once_across_the_workers_and_give_the_same_csv(
        tmp_path, scheduler, read_once):
    """CSV and NMEA inputs, which a worker would otherwise parse or decode in full: each
    file is read by one worker, its rows sent on by share; the same CSV as one process."""
    from .formats import write_marinecadastre_csv, write_nmea

    day = pd.read_parquet(FIXTURES / "quickstart.parquet")
    vessels = np.sort(day["mmsi"].unique())
    paths = [str(write_marinecadastre_csv(day[day["mmsi"].isin(vessels[:len(vessels) // 2])],
                                          tmp_path / "AIS_a.csv")),
             str(write_nmea(day[day["mmsi"].isin(vessels[len(vessels) // 2:])],
                            tmp_path / "receiver-b.nmea.gz"))]
    alone = _scan(tmp_path, "alone", paths)
    assert alone.count(b"\n") > 2
    assert _scan(tmp_path, "local", paths, "--cluster", scheduler) == alone
    assert read_once == [True]


@pytest.mark.slow  # suite time: two scans of three files
def test_a_bad_file_among_the_files_is_reported_as_one_read_reports_it(
        tmp_path, scheduler, read_once):
    """--skip-bad-files with a broken file between two good ones: the run that meets it
    gives the read up to every worker reading every file, so the CSV and the summary (the
    bad file named, the counts) are those of the scan without --cluster."""
    from .formats import write_marinecadastre_csv

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    day = pd.read_parquet(FIXTURES / "quickstart.parquet")
    paths = [DAYS[0], str(broken), str(write_marinecadastre_csv(day, tmp_path / "AIS_q.csv"))]
    outputs = {}
    for name, extra in (("alone", ()), ("local", ("--cluster", scheduler))):
        result = CliRunner().invoke(main, ["scan", *paths, "-o", str(tmp_path / f"{name}.csv"),
                                           "--no-state", "--skip-bad-files", *extra])
        assert result.exit_code != 1, result.output
        outputs[name] = ([line for line in result.output.splitlines()
                          if "broken.parquet" in line or line.startswith("read ")],
                         (tmp_path / f"{name}.csv").read_bytes())
    assert read_once == [False]
    assert outputs["local"] == outputs["alone"]
    assert any("broken.parquet" in line for line in outputs["alone"][0])


def test_workers_that_do_not_see_the_input_as_the_scan_does_leave_the_reading_to_it(
        tmp_path, scheduler, monkeypatch, reads_on_workers):
    """A relative path the workers (another working folder, as on other machines) do not
    find: the scan reads the file itself, says so in a note, and gives the same CSV."""
    shutil.copy(FIXTURES / "quickstart.parquet", tmp_path / "day.parquet")
    monkeypatch.chdir(tmp_path)
    alone = _scan(tmp_path, "alone", ["day.parquet"])
    result = CliRunner().invoke(main, ["scan", "day.parquet", "-o", "tcp.csv", "--no-state",
                                       "--cluster", scheduler])
    assert result.exit_code == 0, result.output
    assert reads_on_workers == [None]
    assert "the Dask workers do not see the input files as this machine does" in result.output
    assert "absolute paths on a shared file system" in result.output
    assert (tmp_path / "tcp.csv").read_bytes() == alone


@pytest.mark.slow  # the suite stays under 5 min on 2 cores; `pytest -m slow` runs it
def test_the_gfw_sample_on_a_running_scheduler_gives_the_same_csv(tmp_path, scheduler):
    paths = [str(need(GFW))]
    alone = _scan(tmp_path, "alone", paths, "--everywhere")
    assert alone.count(b"\n") > 10
    assert _scan(tmp_path, "tcp", paths, "--everywhere", "--cluster", scheduler) == alone


@pytest.mark.slow  # suite time (the CSV tests and the one-kill test stay in it)
def test_per_vessel_types_on_partitions_answer_as_the_whole_frame():
    """Every job of the detector stage runs per partition of whole hull groups (the shuffle
    by hull key; meetups and dark periods with their halo), put back together, equal the
    one-frame result, row order and index included (the cluster's run, on partitions placed
    by where the vessels are: the CSV tests above). Cut by MMSI alone, the fixture days lose
    identity changes (handovers between the MMSIs of one hull)."""
    from ais.geography import anchorages as anch
    from ais.inputs.ingest import ingest
    from ais.pipeline import DEFAULT_MODELS, detect_job
    from ais.tracking.coverage import data_window
    from ais.tracking.tracks import build_tracks

    cfg = dataclasses.replace(Config(), everywhere=True)
    tracks = build_tracks(ingest(DAYS, cfg.clean).pings, cfg.tracks)
    known = anch.combine(anch.load(DEFAULT_MODELS), anch.learn(tracks, cfg))
    window = data_window(tracks)
    by_mmsi = partitions.partition(tracks, 4)
    assert len(partitions.run_parts("identity_change", by_mmsi, cfg, window, known)) < len(
        detect_job("identity_change", tracks, cfg, window, known)[0])
    parts = partitions.partition(tracks, 4, partitions.hull_groups(tracks, cfg))
    assert len(parts) == 4 and sum(map(len, parts)) == len(tracks)
    assert all(p["mmsi"].nunique() > 1 for p in parts)
    for name in partitions.PARTITIONED:
        whole = detect_job(name, tracks, cfg, window, known)[0]
        around = _halos(tracks, name, cfg, window) if name in partitions.WITH_HALO else None
        on_parts = partitions.run_parts(name, parts, cfg, window, known, around)
        if name == partitions.SIGNALS:  # the spoofing signs per MMSI, and the gear
            assert whole[0]["mmsi"].nunique() > 1 and len(whole[1]) > 0
            for got, want in zip(on_parts, whole, strict=True):
                pd.testing.assert_frame_equal(got, want)
            continue
        assert whole["mmsi"].nunique() > 1, name
        pd.testing.assert_frame_equal(on_parts, whole)
        if name in partitions.WITH_HALO:  # without its halo, a partition answers otherwise
            alone = partitions.run_parts(name, parts, cfg, window, known)
            assert len(alone) != len(whole) or not alone.equals(whole), name


def _halos(tracks, name, cfg, window) -> list[pd.DataFrame]:
    """Each partition's halo (as partitions.partition(tracks, 4, hull groups) cuts them)."""
    key = partitions.partition_keys(tracks, 4, partitions.hull_groups(tracks, cfg))
    return list(partitions.halo_frames(tracks, key, 4, name, cfg, window))


def _on_hashed_partitions(sample: str, name: str):
    """Type ``name`` on a sample: (the whole frame's result, four hashed partitions' results
    alone, with their halos)."""
    from ais.inputs.ingest import ingest
    from ais.pipeline import detect_job
    from ais.tracking.coverage import data_window
    from ais.tracking.tracks import build_tracks

    cfg = dataclasses.replace(Config(), everywhere=True)
    paths = DAYS if sample == "fixture days" else [str(need(GFW))]
    tracks = build_tracks(ingest(paths, cfg.clean).pings, cfg.tracks)
    window = data_window(tracks)
    known = pd.DataFrame()
    parts = partitions.partition(tracks, 4, partitions.hull_groups(tracks, cfg))
    around = _halos(tracks, name, cfg, window)
    assert 0 < sum(map(len, around)) < 3 * len(tracks)  # a halo, not every other ping
    return (detect_job(name, tracks, cfg, window, known)[0],
            partitions.run_parts(name, parts, cfg, window, known),
            partitions.run_parts(name, parts, cfg, window, known, around))


@pytest.mark.slow  # the fixture days: test_per_vessel_types_on_partitions_...
@pytest.mark.parametrize("sample", ["fixture days", "gfw"])
def test_meetups_on_partitions_with_their_halo_answer_as_the_whole_frame(sample):
    """A meeting's two vessels may lie in two partitions: alone, a partition misses it;
    given its halo (the whole vessels of other partitions whose slots may come within reach
    of its own), each partition reports the meetings of its own (smaller) MMSIs, and they
    are the whole scan's."""
    whole, alone, with_halo = _on_hashed_partitions(sample, "meetup")
    assert len(alone) < len(whole) and len(whole) >= 5
    pd.testing.assert_frame_equal(with_halo, whole)


@pytest.mark.slow  # the fixture days: test_per_vessel_types_on_partitions_...
@pytest.mark.parametrize("sample", ["fixture days", "gfw"])
def test_dark_periods_on_partitions_with_their_halo_answer_as_the_whole_frame(sample):
    """A silence is judged by who else was heard near it: on a partition alone the counts of
    neighbours are wrong; given its halo (the other vessels' reports near its silences, in
    their hours), every row equals the whole scan's."""
    whole, alone, with_halo = _on_hashed_partitions(sample, "dark_period")
    assert len(alone) == len(whole) > 20
    assert (alone["neighbours_reporting"] != whole["neighbours_reporting"]).sum() > 10
    pd.testing.assert_frame_equal(with_halo, whole)


def test_a_lost_worker_costs_one_more_run_then_a_clear_error(monkeypatch):
    """The tracks scattered to a worker that dies are gone with it (Dask cannot recompute
    them), so the stage runs again once from the start, and says so; lost twice, one
    ClusterError. (Workers really killed: the tests at the end of this file.)"""
    from concurrent.futures import CancelledError

    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) < 2:
            raise CancelledError("lost")
        return {"loitering": (None, 0.0)}

    monkeypatch.setattr(cluster, "_run_jobs_once", flaky)
    notes: list[str] = []
    assert cluster.run_jobs(None, ("loitering",), None, None, None, None, notes) == {
        "loitering": (None, 0.0)}
    assert len(calls) == 2
    assert notes == ["note: the Dask cluster lost a worker during the detector stage "
                     "(CancelledError); the stage ran again from the start and finished"]
    calls.clear()
    monkeypatch.setattr(cluster, "_run_jobs_once", lambda *a: (_ for _ in ()).throw(
        distributed.comm.CommClosedError("in <TCP (closed)>")))
    with pytest.raises(cluster.ClusterError, match="lost a worker during the detector stage 2"):
        cluster.run_jobs(None, ("loitering",), None, None, None, None)


def test_a_missing_scheduler_is_one_error_line_naming_it_and_the_fix(tmp_path):
    result = CliRunner().invoke(main, ["scan", DAYS[0], "-o", str(tmp_path / "x.csv"),
                                       "--no-state", "--cluster", "tcp://127.0.0.1:1"])
    assert result.exit_code == 1
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: --cluster tcp://127.0.0.1:1: no Dask scheduler")
    assert "dask scheduler" in error and "local:2" in error
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("args, says", [
    (["--cluster", "local:zero"], "the worker count must be a whole number"),
    (["--cluster", "http://x:8786"], "expected local, local:N"),
])
def test_cluster_values_that_cannot_work_fail_before_the_scan(tmp_path, args, says):
    result = CliRunner().invoke(main, ["scan", DAYS[0], "-o", str(tmp_path / "x.csv"),
                                       "--no-state", *args])
    assert result.exit_code == 1 and says in result.output, result.output


def test_parse():
    assert cluster.parse("local") == ("local", 2)
    assert cluster.parse("local:3") == ("local", 3)
    assert cluster.parse("tcp://10.0.0.5") == ("tcp", "tcp://10.0.0.5:8786")
    assert cluster.parse("tcp://[::1]:9000") == ("tcp", "tcp://[::1]:9000")


def test_a_scan_without_cluster_starts_no_dask_machinery(tmp_path):
    """Neither ais.runtime.cluster nor distributed is imported. (Dask itself may be: when it
    is installed, scikit-learn's array-API shim imports dask.array while skops lists the
    estimators it trusts to load the models, about 0.15 s on the prefetch thread.)"""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom ais.cli import main\n"
            f"r = CliRunner().invoke(main, ['scan', {str(FIXTURES / 'quickstart.parquet')!r}, "
            f"'-o', {str(tmp_path / 'q.csv')!r}, '--no-state', '-q'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'distributed' "
            "or m == 'ais.runtime.cluster'))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "[]"


# --- --memory-limit on the workers ---------------------------------------------------------


def _duckdb_settings(name, *args, **kwargs):
    """A stand-in for ais.pipeline.detect_job, sent to the workers: what a DuckDB connection
    opened by a job there gets (memory limit, spill folder), and where it ran."""
    import os

    from ais.db import connect

    con = connect()
    limit, spill = con.execute("SELECT current_setting('memory_limit'), "
                               "current_setting('temp_directory')").fetchone()
    con.close()
    return {"limit": limit, "spill": spill, "spill_there": os.path.isdir(spill),
            "pid": os.getpid()}, 0.0


def test_the_jobs_on_the_workers_run_under_the_scans_memory_limit(scheduler, monkeypatch):
    """Inside --memory-limit's block on the client, each job's DuckDB connections on a worker
    get the same limit, spilling to a folder of the worker's own that is gone after the job;
    outside one, DuckDB's default."""
    import os

    import ais.pipeline
    from ais.db import connect, memory_limit
    from ais.runtime.held import Here

    monkeypatch.setattr(ais.pipeline, "detect_job", _duckdb_settings)
    frame = pd.DataFrame({"mmsi": [1]})
    # a job of no partitioned type: one task over the whole tracks, its result returned as
    # it is (the stand-in answers any name)
    jobs = ("a_whole_tracks_job",)
    with distributed.Client(scheduler) as client:
        with memory_limit("300MB"):
            here = connect().execute("SELECT current_setting('memory_limit'), "
                                     "current_setting('temp_directory')").fetchone()
            limited = cluster.run_jobs(client, jobs, Here(frame), None, None, None)
        default = cluster.run_jobs(client, jobs, Here(frame), None, None, None)
    for name in jobs:
        seen = limited[name][0]
        assert seen["pid"] != os.getpid()  # on a worker
        assert seen["limit"] == here[0]  # 300MB, as DuckDB writes it (286.1 MiB)
        assert seen["spill_there"] and seen["spill"] != here[1]
        assert "ais-duckdb-spill-" in seen["spill"] and not os.path.exists(seen["spill"])
        assert default[name][0]["limit"] != here[0]


# --- a scan by day (or by window) on one cluster ----------------------------------------------


@pytest.fixture
def stages_on_cluster(monkeypatch) -> list[int]:
    """One entry per detector stage run on a cluster (by ais.runtime.cluster.run_jobs)."""
    runs: list[int] = []
    real = cluster.run_jobs

    def counted(*args, **kwargs):
        runs.append(len(runs))
        return real(*args, **kwargs)

    monkeypatch.setattr(cluster, "run_jobs", counted)
    return runs


@pytest.fixture(scope="module")
def by_day_alone(nights, tmp_path_factory) -> tuple[bytes, dict[str, pd.DataFrame]]:
    """The CSV and the state tables of the two nights in one file scanned --by-day through a
    state, without --cluster."""
    out = tmp_path_factory.mktemp("alone")
    _by_day(nights["both"], out, "--by-day")
    csv, tables = (out / "f.csv").read_bytes(), state_tables(out / "s.duckdb")
    assert csv.count(b"\n") > 3 and len(tables["events"]) > 3
    return csv, tables


def _by_day(path: Path, out: Path, *extra: str) -> str:
    """Scan ``path`` one day at a time through a state in ``out``; the summary."""
    result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out / "f.csv"),
                                       "--state", str(out / "s.duckdb"), *extra])
    assert result.exit_code == 0, result.output
    assert "scanned 2 days one at a time" in result.output
    return result.output


def _same_as(out: Path, alone: tuple[bytes, dict[str, pd.DataFrame]]) -> None:
    assert (out / "f.csv").read_bytes() == alone[0]
    for table, frame in state_tables(out / "s.duckdb").items():
        pd.testing.assert_frame_equal(frame, alone[1][table], obj=table)


@pytest.mark.slow  # suite time (13 s); in the fast suite, the killed-worker test scans night 2
# of a --state sequence on the cluster and compares its CSV and state with one process's
def test_an_input_over_the_memory_limit_goes_by_day_on_the_cluster(
        nights, by_day_alone, scheduler, tmp_path, monkeypatch, stages_on_cluster):
    """The two nights in one file, over --memory-limit (as tests/test_nightly.py makes it,
    with a large cost per ping), with --cluster: scanned one day at a time, each day's
    detector stage on the cluster; the CSV and the state of --by-day without it."""
    import ais.nightly.byday

    monkeypatch.setattr(ais.nightly.byday, "BYTES_PER_PING", 6_000)  # both: 25 MB, a day 13
    monkeypatch.setattr(ais.nightly.byday, "BASE_BYTES", 0)
    _by_day(nights["both"], tmp_path, "--memory-limit", "20MB", "--cluster", scheduler)
    assert "by-day reason=" in (tmp_path / "ais-scan.log").read_text()
    assert len(stages_on_cluster) == 2
    _same_as(tmp_path, by_day_alone)


@pytest.mark.slow  # about 12 s alone: a LocalCluster started, two fresh workers, two days
def test_a_scan_by_day_on_a_local_cluster_gives_the_same_csv_and_state(
        nights, by_day_alone, tmp_path, stages_on_cluster):
    """--by-day --cluster local:2 starts the cluster once and runs each day's detector stage
    on it; the CSV and the state are those of --by-day alone. (The test above, in the fast
    suite, runs the same scan by day on a running scheduler.)"""
    _by_day(nights["both"], tmp_path, "--by-day", "--cluster", "local:2")
    assert (tmp_path / "ais-scan.log").read_text().count(" cluster spec=") == 1
    assert len(stages_on_cluster) == 2
    _same_as(tmp_path, by_day_alone)


@pytest.mark.slow  # 15-20 s on the loaded 2-core VM: 8 windows scanned
def test_a_day_over_the_memory_limit_goes_by_window_on_the_cluster(
        nights, scheduler, tmp_path, monkeypatch, stages_on_cluster):
    """Each day over --memory-limit too: two windows of 12 h a day, each window's detector
    stage on the cluster, the CSV of the same scan without it."""
    import ais.nightly.byday

    monkeypatch.setattr(ais.nightly.byday, "BYTES_PER_PING", 12_000)  # a day: 25 MB
    monkeypatch.setattr(ais.nightly.byday, "BASE_BYTES", 0)
    paths = [str(nights["both"])]
    alone = _scan(tmp_path, "alone", paths, "--memory-limit", "20MB")
    assert alone.count(b"\n") > 3 and not stages_on_cluster
    assert _scan(tmp_path, "tcp", paths, "--memory-limit", "20MB",
                 "--cluster", scheduler) == alone
    assert len(stages_on_cluster) == 4


# --- a worker really killed (SIGKILL) in the middle of the detector stage --------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, Path]:
    """The two nights of tests/test_nightly.py (a vessel dark, one loitering and one renamed
    across midnight), one file per night and one of both."""
    root = tmp_path_factory.mktemp("nights")
    pings = two_days()
    day = pings["timestamp"].dt.floor("D")
    day1, day2 = pings[day == DAY1], pings[day == DAY2]
    return {"day1": write_parquet(root / "day1.parquet", day1),
            "day2": write_parquet(root / "day2.parquet", day2),
            "both": write_parquet(root / "both.parquet", pd.concat([day1, day2]))}


@pytest.fixture(scope="module")
def after_night1(nights, tmp_path_factory) -> Path:
    """A state that has seen night 1 (scanned without --cluster), to copy."""
    state = tmp_path_factory.mktemp("night1") / "state.duckdb"
    _night(nights["day1"], state.parent / "night1.csv", state)
    return state


def _night(path: Path, out: Path, state: Path, *extra: str):
    return CliRunner().invoke(main, ["scan", str(path), "-o", str(out), "--state", str(state),
                                     "-q", *extra])


def _killing(job: str, marks: Path, every_time: bool = False):
    """A stand-in for ais.pipeline.detect_job, sent to the workers: asked for ``job``, it
    SIGKILLs the worker process running it (the first time only, or every time), leaving a
    file in ``marks`` for each kill; any other job, and ``job`` after the first kill, is the
    real one. (A closure: Dask pickles it by value, and on the worker ais.pipeline is the
    real module.)"""
    folder = str(marks)

    def job_or_kill(name, *args, **kwargs):
        import os
        import signal

        import ais.pipeline

        if name == job:
            try:  # the first kill claims the file; the others see it (no race)
                with open(os.path.join(folder, "first" if not every_time else
                                       f"kill-{os.getpid()}"), "x"):
                    pass
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return ais.pipeline.detect_job(name, *args, **kwargs)

    return job_or_kill


def test_a_worker_killed_mid_stage_costs_a_rerun_and_gives_the_same_night(
        nights, after_night1, scheduler, tmp_path, monkeypatch):
    """Night 2 with a worker SIGKILLed as it starts the dark periods (the loitering
    partitions running beside it): what it held (its share's tracks, its partitions and
    their halos, all tasks of the workers' own) is made again by Dask on the other worker,
    and the night ends with the CSV and the state of night 2 scanned without --cluster,
    without running the stage again. (Partitions sent from the client, when the workers do
    not see the input, are lost with their worker: then the stage runs again,
    test_a_lost_worker_costs_one_more_run_then_a_clear_error.)"""
    import ais.pipeline

    for name in ("alone", "killed"):
        shutil.copy(after_night1, tmp_path / f"{name}.duckdb")
    result = _night(nights["day2"], tmp_path / "alone.csv", tmp_path / "alone.duckdb")
    assert result.exit_code == 0, result.output
    marks = tmp_path / "kills"
    marks.mkdir()
    monkeypatch.setattr(ais.pipeline, "detect_job", _killing("dark_period", marks))
    result = _night(nights["day2"], tmp_path / "killed.csv", tmp_path / "killed.duckdb",
                    "--cluster", scheduler)
    assert result.exit_code == 0, result.output
    assert [p.name for p in marks.iterdir()] == ["first"]  # one worker was killed
    # nothing was scattered from the client, so nothing was lost for good: no rerun
    assert "lost a worker" not in (tmp_path / "ais-scan.log").read_text()
    alone = (tmp_path / "alone.csv").read_bytes()
    assert alone.count(b"\n") > 3 and b"dark_period" in alone
    assert (tmp_path / "killed.csv").read_bytes() == alone
    expected = state_tables(tmp_path / "alone.duckdb")
    for table, frame in state_tables(tmp_path / "killed.duckdb").items():
        pd.testing.assert_frame_equal(frame, expected[table], obj=table)


@pytest.mark.slow  # suite time (the CSV tests and the one-kill test stay in it)
def test_a_worker_killed_on_every_run_of_the_stage_is_one_error_and_nothing_written(
        nights, after_night1, scheduler, tmp_path, monkeypatch):
    """Every worker that starts the dark periods is SIGKILLed: the stage runs twice, then one
    Error: line (exit 1); last night's CSV and the state are as they were, the run is logged
    as failed."""
    import ais.pipeline

    state, out = tmp_path / "state.duckdb", tmp_path / "flagged.csv"
    shutil.copy(after_night1, state)
    shutil.copy(after_night1.parent / "night1.csv", out)
    before, last_night = state_tables(state), out.read_bytes()
    marks = tmp_path / "kills"
    marks.mkdir()
    monkeypatch.setattr(ais.pipeline, "detect_job",
                        _killing("dark_period", marks, every_time=True))
    result = _night(nights["day2"], out, state, "--cluster", scheduler)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: the Dask cluster lost a worker during the detector stage 2 times"), lines
    assert len(list(marks.iterdir())) >= 2  # at least one kill in each run of the stage
    assert out.read_bytes() == last_night
    for table, frame in state_tables(state).items():
        pd.testing.assert_frame_equal(frame, before[table], obj=table)
    with State.open(state, read_only=True) as st:
        last = st.runs().iloc[-1]
    assert last["status"] == "failed" and "lost a worker" in last["notes"]
    assert list(tmp_path.glob(".flagged.csv.*")) == []  # no temporary CSV left either


@pytest.mark.slow  # the suite stays under 5 min on 2 cores; `pytest -m slow` runs it
def test_partitions_by_place_keep_neighbours_together_and_shrink_the_halos():
    """On a day of the US coast, partitions of whole hull groups placed by where they are
    (Z-ordered 1-degree tiles cut into runs of equal pings) leave far fewer neighbours in
    other partitions than a hash does, and still answer as the whole."""
    from ais.inputs.ingest import ingest
    from ais.pipeline import detect_job
    from ais.tracking.coverage import data_window
    from ais.tracking.tracks import build_tracks

    cfg = dataclasses.replace(Config(), everywhere=True)
    tracks = build_tracks(ingest([str(need(MARINECADASTRE))], cfg.clean).pings, cfg.tracks)
    window = data_window(tracks)
    groups = partitions.hull_groups(tracks, cfg)
    by_place = partitions.place_keys(tracks, 4, groups)
    by_hash = partitions.partition_keys(tracks, 4, groups)
    share = np.bincount(by_place, minlength=4) / len(tracks)
    assert share.min() > 0.2  # about a quarter of the pings each
    assert (pd.DataFrame({"m": tracks["mmsi"], "k": by_place}).groupby("m")["k"].nunique()
            == 1).all()  # whole vessels
    for name in ("dark_period", "meetup"):
        placed = sum(map(len, partitions.halo_frames(tracks, by_place, 4, name, cfg, window)))
        hashed = sum(map(len, partitions.halo_frames(tracks, by_hash, 4, name, cfg, window)))
        assert placed < hashed / 3, name
    parts = [tracks[by_place == k].reset_index(drop=True) for k in range(4)]
    around = list(partitions.halo_frames(tracks, by_place, 4, "dark_period", cfg, window))
    known = pd.DataFrame()
    pd.testing.assert_frame_equal(
        partitions.run_parts("dark_period", parts, cfg, window, known, around),
        detect_job("dark_period", tracks, cfg, window, known)[0])
