"""A user's ordinary bad day, second round: many small files, a file name with brackets,
newer Arrow string types, two columns for one field, a window given backwards, another
program's DuckDB file as the state, a scan stopped by SIGTERM or Ctrl-C, and the memory
limit on every thread. Each case ends as the user would expect, with an exact message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.errors import InputError
from ais.inputs.ingest import ingest
from ais.nightly.state import MARKER_TABLE, SCHEMA_VERSION, State, StateError

from .conftest import FIXTURES

QUICK = FIXTURES / "quickstart.parquet"
MMSI_A, MMSI_B = 412345671, 412345682


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def ais_command() -> list[str]:
    script = Path(sys.executable).with_name("ais")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ais.cli"]


def run_child(args: list[object], env: dict | None = None) -> tuple[int, float, float, str]:
    """``ais ARGS`` in a fresh process: (exit code, wall s, peak RSS GB, stderr).

    The peak is the child's own high-water mark (``VmHWM`` of /proc, read every 20 ms
    while it runs), not ``ru_maxrss``: Linux carries a parent's peak into a child across
    fork and exec, so a test process that grew (pytest runs many tests in each worker) would
    lend its own peak to every child it starts."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(ais_command() + [str(a) for a in args], stderr=err,
                                stdout=subprocess.DEVNULL, text=True,
                                env={**os.environ, **(env or {})})
        peak_kib = 0
        status_file = Path(f"/proc/{proc.pid}/status")
        while True:
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            try:
                for line in status_file.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
            except (OSError, ValueError):  # no /proc (not Linux), or the child just ended
                pass
            time.sleep(0.02)
        err.seek(0)
        peak = peak_kib / 2**20 if peak_kib else usage.ru_maxrss / 2**20
        return (os.waitstatus_to_exitcode(status), time.perf_counter() - t0, peak, err.read())


def pings(mmsi: int = MMSI_A, n: int = 6, start: str = "2026-01-05T00:00Z",
          every: str = "10min") -> pd.DataFrame:
    return pd.DataFrame({
        "mmsi": np.int64(mmsi), "timestamp": pd.date_range(start, periods=n, freq=every,
                                                            tz="UTC"),
        "lat": 38.5 + np.arange(n) * 1e-3, "lon": 124.6 + np.arange(n) * 1e-3,
    })


def write(path: Path, table: pa.Table | pd.DataFrame) -> Path:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


# ---------------------------------------------------------------- many small files

def marinecadastre_files(folder: Path, n_files: int, rows: int = 3,
                         name=lambda i: f"AIS_{i:05d}.parquet") -> int:
    """``n_files`` small files in MarineCadastre's columns (300 vessels); returns rows."""
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    for i in range(n_files):
        mmsi = 412345000 + i % 300 * 7 + 101
        times = [(t0 + pd.Timedelta(seconds=30 * (i + k * n_files))).strftime(
            "%Y-%m-%dT%H:%M:%S") for k in range(rows)]
        write(folder / name(i), pa.table({
            "MMSI": [mmsi] * rows, "BaseDateTime": times,
            "LAT": [38.5 + (i % 300) * 1e-3] * rows,
            "LON": [124.6 + k * 1e-3 for k in range(rows)], "SOG": [5.0] * rows,
            "COG": [90.0] * rows, "Heading": [90.0] * rows,
            "VesselName": [f"SHIP {mmsi}"] * rows, "IMO": [f"IMO{9000000 + i % 300}"] * rows,
            "CallSign": ["ABCD"] * rows, "VesselType": [70] * rows, "Status": [0] * rows,
            "Length": [100.0] * rows, "Width": [20.0] * rows, "Draft": [7.5] * rows,
            "Cargo": [70] * rows, "TransceiverClass": ["A"] * rows}))
    return n_files * rows


@pytest.mark.slow  # the suite stays under 5 min on 2 cores; `pytest -m slow` runs it
def test_two_thousand_files_of_three_rows_scan_in_seconds_under_1_gb(tmp_path):
    # before: one DuckDB subquery per file, 42 s and 1.25 GB here (13.7 GB in the issue)
    rows = marinecadastre_files(tmp_path / "in", 2000)
    code, wall, peak_gb, err = run_child(["scan", tmp_path / "in", "-o", tmp_path / "f.csv",
                                          "--no-state"])
    assert code == 0, err
    assert f"read {rows:,} rows from 2000 file(s); kept {rows:,}" in err
    # speed is the benchmark's to measure (bench/run.py); a wall-clock limit here fails
    # under load (34 s once at load 16), memory does not
    assert peak_gb < 1.0, (wall, peak_gb)


def test_a_bad_file_among_many_is_named(tmp_path):
    marinecadastre_files(tmp_path / "in", 300)
    bad = tmp_path / "in" / "AIS_00137.parquet"
    bad.write_bytes(bad.read_bytes()[:-40])  # truncated footer
    result = run("scan", tmp_path / "in", "-o", tmp_path / "f.csv", "--no-state")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: not a readable Parquet file")
    result = run("scan", tmp_path / "in", "-o", tmp_path / "f.csv", "--no-state",
                 "--skip-bad-files")
    assert result.exit_code == 3 and "read 897 rows from 299 file(s)" in result.output


def test_a_file_that_fails_only_when_its_pages_are_read_is_found_among_many(tmp_path):
    for i in range(64):
        write(tmp_path / "in" / f"p{i:02d}.parquet", pings(MMSI_A + i, 20))
    target = tmp_path / "in" / "p41.parquet"
    data = bytearray(target.read_bytes())
    data[8:200] = b"\xff" * 192  # the footer is intact, the first data pages are not
    target.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        ingest([tmp_path / "in"])
    assert str(info.value).startswith(f"{target}: cannot be read")
    report = ingest([tmp_path / "in"], skip_bad_files=True).report
    assert [p for p, _ in report.bad_files] == [str(target)] and len(report.files) == 63


@pytest.mark.slow
def test_a_year_of_hourly_hive_files_is_an_ordinary_input(tmp_path):
    hours = pd.date_range("2025-01-01", periods=24 * 365, freq="h", tz="UTC")
    for i, hour in enumerate(hours):
        part = tmp_path / "ais" / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"
        frame = pings(MMSI_A + i % 50, 2, start=hour.isoformat(), every="20min")
        write(part / "part-0.parquet", frame)
    code, wall, peak_gb, err = run_child(["scan", tmp_path / "ais", "-o", tmp_path / "f.csv",
                                          "--no-state", "--memory-limit", "2GB"])
    assert code == 0, err
    assert "read 17,520 rows from 8760 file(s)" in err
    assert peak_gb < 2.0, (wall, peak_gb)


# ---------------------------------------------------------------- paths and columns

def test_a_file_name_with_brackets_is_read_as_it_is(tmp_path):
    path = write(tmp_path / "ais [2026-01-05] (1).parquet", pings())
    result = run("scan", path, "-o", tmp_path / "f.csv", "--no-state")
    assert result.exit_code == 0, result.output  # was: "the pattern matches no file"
    assert "read 6 rows from 1 file(s); kept 6" in result.output
    write(tmp_path / "ais 2 (1).parquet", pings(MMSI_B))  # what the name matches as a glob
    read = ingest([path])
    assert read.report.files == [str(path)] and set(read.pings["mmsi"]) == {MMSI_A}


def test_a_file_name_duckdb_would_take_for_a_glob_is_read_alone(tmp_path):
    odd = write(tmp_path / "in" / "ais*.parquet", pings())
    write(tmp_path / "in" / "ais-other.parquet", pings(MMSI_B, 4))  # the glob would add it
    report = ingest([odd]).report
    assert (report.files, report.rows_in) == ([str(odd)], 6)
    assert ingest([tmp_path / "in"]).report.rows_in == 10


def test_a_glob_is_still_a_glob_when_no_such_file_exists(tmp_path):
    for i in range(3):
        write(tmp_path / f"day{i}.parquet", pings(MMSI_A + i))
    assert ingest([tmp_path / "day*.parquet"]).report.rows_in == 18
    result = run("scan", tmp_path / "night*.parquet", "-o", tmp_path / "f.csv", "--no-state")
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path / 'night*.parquet'}: no such file, and as a "
                             "pattern it matches no file\n")


STRING_TYPES = {
    "string": pa.string(), "large_string": pa.large_string(),
    "string_view": pa.string_view(), "dictionary": pa.dictionary(pa.int32(), pa.string()),
}


@pytest.mark.parametrize("typ", STRING_TYPES.values(), ids=STRING_TYPES.keys())
def test_numeric_mmsi_strings_of_every_arrow_string_type_are_read(tmp_path, typ):
    frame = pings()
    table = pa.Table.from_pandas(frame.assign(mmsi=frame["mmsi"].astype(str)),
                                 preserve_index=False)
    table = table.set_column(0, "mmsi", table.column("mmsi").cast(typ))
    result = ingest([write(tmp_path / "f.parquet", table)])
    assert result.report.rows_out == 6 and set(result.pings["mmsi"]) == {MMSI_A}


DISAGREEING = {
    "MMSI and mmsi": ({"MMSI": MMSI_A, "mmsi": MMSI_B}, "MMSI", "mmsi"),
    "mmsi and ssvid": ({"mmsi": MMSI_A, "ssvid": MMSI_B}, "mmsi", "ssvid"),
    "lat and Latitude": ({"Latitude": 12.0}, "lat", "Latitude"),
}


@pytest.mark.parametrize("columns, first, second", DISAGREEING.values(), ids=DISAGREEING.keys())
def test_two_columns_for_one_field_that_disagree_are_an_error_naming_both(
        tmp_path, columns, first, second):
    frame = pings()
    table = pa.Table.from_pandas(frame.drop(columns=[c for c in ("mmsi",) if c in
                                                     {k.lower() for k in columns}]),
                                 preserve_index=False)
    for name, value in columns.items():
        table = table.append_column(name, pa.array([value] * len(frame)))
    path = write(tmp_path / "two.parquet", table)
    result = run("scan", path, "-o", tmp_path / "f.csv", "--no-state")
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"Error: {path}: columns {first!r} and {second!r} both hold ")
    assert "disagree" in line and "drop or rename the other" in line
    assert not (tmp_path / "f.csv").exists()


def test_two_columns_for_one_field_that_agree_are_read_as_one(tmp_path):
    frame = pings()
    table = pa.Table.from_pandas(frame.rename(columns={"mmsi": "MMSI"}), preserve_index=False)
    partial = [None, MMSI_A, None, MMSI_A, MMSI_A, None]  # nulls are no disagreement
    table = table.append_column("mmsi", pa.array(partial, pa.int64()))
    result = ingest([write(tmp_path / "two.parquet", table)])
    assert result.report.rows_out == 6 and set(result.pings["mmsi"]) == {MMSI_A}


# ---------------------------------------------------------------- the window

def test_since_after_until_is_a_usage_error(tmp_path):
    result = run("scan", QUICK, "-o", tmp_path / "f.csv", "--since", "2026-01-06",
                 "--until", "2026-01-05")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --since/--until: since 2026-01-06 is not before until 2026-01-05, so the "
        "window holds no time at all; swap them, or give an earlier since (the window is "
        "since <= t < until)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no state


def test_by_day_with_since_after_the_first_day_scans_the_rest(tmp_path):
    frames = [pings(MMSI_A, 24, start=f"2026-01-0{d}T00:00Z", every="h") for d in (5, 6, 7)]
    path = write(tmp_path / "three.parquet", pd.concat(frames, ignore_index=True))
    result = run("scan", path, "-o", tmp_path / "f.csv", "--by-day", "--since", "2026-01-06")
    assert result.exit_code == 0, result.output
    assert "scanned 2 days one at a time" in result.output
    assert "read 48 rows" in result.output


# ---------------------------------------------------------------- the state file

def foreign_database(path: Path) -> bytes:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER, status VARCHAR, amount DOUBLE)")
    con.execute("INSERT INTO invoices VALUES (1, 'paid', 12.5)")
    con.close()
    return path.read_bytes()


def test_another_programs_duckdb_file_is_refused_untouched(tmp_path):
    state = tmp_path / "accounts.duckdb"
    before = foreign_database(state)
    result = run("scan", QUICK, "-o", tmp_path / "f.csv", "--state", state)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {state}: a DuckDB database of another program (tables: invoices), not an ais "
        "state; it was left as it was. Pass --state with a new file name (or --no-state)\n")
    assert state.read_bytes() == before
    assert not (tmp_path / "f.csv").exists()
    for command in (["history", "412345671"], ["show", "LOI-000000000000"]):
        result = run(*command, "--state", state)
        assert result.exit_code == 1 and "another program" in result.output
    assert state.read_bytes() == before


def test_a_state_gets_a_marker_and_a_version_one_state_is_migrated(tmp_path):
    path = tmp_path / "s.duckdb"
    assert run("scan", QUICK, "-o", tmp_path / "f.csv", "--state", path).exit_code == 0
    con = duckdb.connect(str(path))
    assert dict(con.execute(f"SELECT * FROM {MARKER_TABLE}").fetchall()) == {
        "format": "ais-state", "version": SCHEMA_VERSION}
    # the first format: the same tables, no marker, schema 1
    con.execute(f"DROP TABLE {MARKER_TABLE}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    con.close()
    with State.open(path, read_only=True) as state:  # read as it is
        assert list(state.runs()["status"]) == ["ok"]
    result = run("scan", QUICK, "-o", tmp_path / "f.csv", "--state", path)
    assert result.exit_code == 0, result.output
    assert "already scanned" in result.output  # the old runs were kept
    with State.open(path, read_only=True) as state:
        assert list(state.runs()["status"]) == ["ok", "ok"]
        assert dict(state.con.execute(f"SELECT * FROM {MARKER_TABLE}").fetchall())[
            "version"] == SCHEMA_VERSION


def test_a_state_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "s.duckdb"
    State.open(path).close()
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {MARKER_TABLE} SET value = '99' WHERE key = 'version'")
    con.close()
    with pytest.raises(StateError, match="state version 99 was written by a newer ais"):
        State.open(path)


# ---------------------------------------------------------------- stopped mid-scan

@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    from ais.synth.world import generate_pings

    path = tmp_path_factory.mktemp("big") / "big.parquet"
    write(path, generate_pings(2_000_000, seed=7))
    return path


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_scan_stopped_by_a_signal_ends_cleanly(tmp_path, big_input, signum, code):
    out, state, log = tmp_path / "f.csv", tmp_path / "s.duckdb", tmp_path / "ais-scan.log"
    assert run("scan", QUICK, "-o", out, "--state", state, "-q").exit_code == 0
    before = out.read_bytes()
    spill = tmp_path / "tmp"
    spill.mkdir()
    proc = subprocess.Popen(ais_command() + ["scan", str(big_input), "-o", str(out),
                                             "--state", str(state), "-q"],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(spill)})
    deadline = time.monotonic() + 120
    while not any("stage=ingest" in part for part in log.read_text().split("scan-start")[2:]):
        assert proc.poll() is None and time.monotonic() < deadline, "the scan ended early"
        time.sleep(0.05)
    assert list(spill.glob("ais-duckdb-spill-*"))  # the scan's spill folder exists
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert err.startswith(f"Error: the scan was stopped by {name} (exit code {code})")
    last = log.read_text().splitlines()[-1]
    assert " scan-failed " in last and f"exit={code}" in last and name in last
    assert not list(spill.glob("ais-duckdb-spill-*"))
    assert out.read_bytes() == before
    with State.open(state, read_only=True) as s:
        runs = s.runs()
    assert list(runs["status"]) == ["ok", "failed"] and runs["exit_code"].iloc[-1] == code


def test_a_signal_that_lands_inside_a_duckdb_query_still_ends_as_stopped(tmp_path, monkeypatch):
    """DuckDB turns a signal that arrives while it runs a query into 'RuntimeError: Query
    interrupted' (seen with SIGTERM 1.5 s into a GFW scan); the scan must still end with the
    signal's exit code, and say so in the log and the state (it used to exit 1 with a
    traceback). Whether DuckDB polls for the signal in time is not ours to test: the scan
    below receives SIGTERM and fails the way DuckDB makes it fail."""
    from ais import pipeline
    from ais.runtime.stopping import ScanStopped

    def interrupted_scan(paths, output, cfg, models_dir, *, state=None, **kw):
        run_id, _ = state.begin_run([str(p) for p in paths], str(output))
        try:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises ScanStopped here
            except ScanStopped:
                raise RuntimeError("Query interrupted") from None  # as DuckDB reports it
        except BaseException as exc:
            why = pipeline.stopping.failure(exc)
            state.fail_run(run_id, why.exit_code, str(why))
            raise
        raise AssertionError("the signal did not arrive")

    monkeypatch.setattr(pipeline, "run_scan", interrupted_scan)
    out, state, log = tmp_path / "f.csv", tmp_path / "s.duckdb", tmp_path / "ais-scan.log"
    result = run("scan", QUICK, "-o", out, "--state", state, "-q")
    assert result.exit_code == 143, result.output
    assert "stopped by SIGTERM" in result.output
    last = log.read_text().splitlines()[-1]
    assert " scan-failed " in last and "exit=143" in last and "ScanStopped" in last
    with State.open(state, read_only=True) as s:
        assert s.runs()["exit_code"].iloc[-1] == 143


# ---------------------------------------------------------------- the memory limit

def test_the_memory_limit_reaches_the_detector_threads(monkeypatch):
    from ais import pipeline
    from ais.db import connect, memory_limit
    from ais.geography import land
    from ais.inputs.ingest import ingest_frame

    seen = []
    real = land.vessel_signals

    def vessel_signals(tracks, cfg):  # runs on a detector thread
        con = connect()
        seen.append(con.execute("SELECT current_setting('memory_limit'), "
                                "current_setting('temp_directory')").fetchone())
        con.close()
        return real(tracks, cfg)

    monkeypatch.setattr(land, "vessel_signals", vessel_signals)
    ingested = ingest_frame(pings())
    with memory_limit("300MB"):
        pipeline.detect_pings(ingested.pings, ingested.report, pipeline.Config())
    ((limit, spill),) = seen
    assert limit == "286.1 MiB" and "ais-duckdb-spill-" in spill


# ---------------------------------------------------------------- any Arrow type in any column

ARROW_TYPES = [
    pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(),
    pa.uint64(), pa.float16(), pa.float32(), pa.float64(), pa.decimal128(18, 3),
    pa.decimal128(38, 0), pa.decimal256(40, 2), pa.bool_(), pa.string(), pa.large_string(),
    pa.string_view(), pa.binary(), pa.large_binary(), pa.binary_view(), pa.binary(9),
    pa.date32(), pa.date64(), pa.time32("s"), pa.time64("us"), pa.timestamp("s"),
    pa.timestamp("ms", tz="UTC"), pa.timestamp("us", tz="Asia/Pyongyang"),
    pa.timestamp("ns"), pa.duration("s"), pa.month_day_nano_interval(),
    pa.dictionary(pa.int8(), pa.string()), pa.dictionary(pa.int32(), pa.large_string()),
    pa.list_(pa.int64()), pa.large_list(pa.float64()), pa.struct([("v", pa.int64())]),
    pa.map_(pa.string(), pa.int64()), pa.null(),
]


def as_type(values: pa.Array, typ: pa.DataType) -> pa.Array:
    """``values`` in ``typ``: cast directly, else through text, else nulls of that type."""
    for through in (None, pa.string()):
        try:
            arr = values if through is None else values.cast(through)
            return arr.cast(typ, safe=False)
        except (pa.ArrowException, NotImplementedError):
            continue
    return pa.nulls(len(values), typ)


BASE_COLUMNS = {
    "mmsi": pa.array([MMSI_A] * 4 + [MMSI_B] * 4, pa.int64()),
    "timestamp": pa.array(pd.date_range("2026-01-05", periods=8, freq="10min", tz="UTC")),
    "lat": pa.array(38.5 + np.arange(8) * 1e-3), "lon": pa.array(124.6 + np.arange(8) * 1e-3),
    "sog": pa.array(np.full(8, 0.4)), "name": pa.array(["A"] * 4 + ["B"] * 4),
    "imo": pa.array(["9123456"] * 8), "ship_type": pa.array(["80"] * 8),
}


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(types=st.fixed_dictionaries({c: st.sampled_from(ARROW_TYPES) for c in BASE_COLUMNS}),
       dropped=st.sets(st.sampled_from(sorted(BASE_COLUMNS))))
def test_no_arrow_type_in_any_column_raises_anything_but_our_errors(tmp_path, types, dropped):
    from ais.errors import AisError
    from ais.tracking.tracks import build_tracks

    table = pa.table({c: as_type(v, types[c]) for c, v in BASE_COLUMNS.items()
                      if c not in dropped})
    path = tmp_path / "any.parquet"
    try:
        pq.write_table(table, path)
    except (pa.ArrowException, NotImplementedError):
        return  # Parquet cannot hold this type: not an input anyone can give us
    try:
        read = ingest([path])
    except AisError as exc:
        assert str(exc).startswith(str(path)) or "no usable input" in str(exc), exc
        return
    build_tracks(read.pings)


# ---------------------------------------------------------------- peak memory under the limit

def _many_vessels(folder: Path) -> Path:
    from ais.synth.world import generate_pings

    return write(folder / "fleet.parquet", generate_pings(3_000_000, seed=11))


def _one_vessel(folder: Path) -> Path:
    n = 4_000_000
    t0 = np.datetime64("2026-01-05T00:00:00", "s")
    along_km = (np.arange(n) * 2 * 8 * 1.852 / 3600) % 60  # 8 kn back and forth, 30 km
    return write(folder / "one.parquet", pd.DataFrame({
        "mmsi": np.full(n, MMSI_A, dtype=np.int64),
        "timestamp": pd.DatetimeIndex(t0 + np.arange(n) * np.timedelta64(1, "s"), tz="UTC"),
        "lat": 38.30 + np.where(along_km < 30, along_km, 60 - along_km) / 111.0,
        "lon": np.full(n, 124.50), "sog": np.full(n, 8.0)}))


def _many_files(folder: Path) -> Path:
    marinecadastre_files(folder / "files", 3000)
    return folder / "files"


def _days_beyond_the_limit(folder: Path) -> Path:
    from ais.synth.world import generate_pings

    for day in range(6):  # 1.8 M pings: about 1.04 GB in one scan, over 1GB: by day
        # the same fleet every day, as nightly files are (a new fleet each day would carry
        # 3 h of every vessel of the last 7 days into each day: see README, by-day)
        frame = generate_pings(300_000, seed=20, start=f"2026-01-{5 + day:02d}")
        write(folder / "days" / f"date=2026-01-{5 + day:02d}" / "part.parquet", frame)
    return folder / "days"


@pytest.mark.slow
@pytest.mark.parametrize("make, limit", [
    pytest.param(_many_files, "2GB", id="3,000 files"),
    pytest.param(_many_vessels, "2GB", id="3 M pings of 4,000 vessels"),
    pytest.param(_one_vessel, "2GB", id="one vessel, 4 M pings"),
    pytest.param(_days_beyond_the_limit, "1GB", id="6 days over the limit, by day"),
])
def test_a_scans_peak_memory_stays_under_the_memory_limit(tmp_path, make, limit):
    """One UTC day of more pings than a budget holds cannot be split further, and a day
    scanned by day also holds the pings carried from the day before; the inputs here are
    what each budget is documented to scan (about 0.5 GB plus 300 bytes a ping)."""
    from ais.db import memory_bytes

    path = make(tmp_path)
    code, wall, peak_gb, err = run_child(["scan", path, "-o", tmp_path / "f.csv",
                                          "--memory-limit", limit, "--timings"])
    assert code == 0, err
    assert peak_gb * 2**30 < memory_bytes(limit), f"peak {peak_gb:.2f} GiB over {limit}\n{err}"
    if make is _days_beyond_the_limit:
        assert "scanned one UTC day at a time" in err


def test_the_memory_limit_reaches_the_state_connection(tmp_path, monkeypatch):
    import ais.nightly.state

    seen = []
    real = ais.nightly.state.connect

    def connect(*args, **kwargs):
        con = real(*args, **kwargs)
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return con

    monkeypatch.setattr(ais.nightly.state, "connect", connect)
    result = run("scan", QUICK, "-o", tmp_path / "f.csv", "--memory-limit", "200MB", "-q")
    assert result.exit_code == 0, result.output
    assert seen == ["190.7 MiB"]
    # a larger limit: the state's DuckDB keeps at most STATE_MEMORY (256MB) of it
    result = run("scan", QUICK, "-o", tmp_path / "g.csv", "--memory-limit", "8GB", "-q")
    assert result.exit_code == 0, result.output
    assert seen[1:] == ["244.1 MiB"]
