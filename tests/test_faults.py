"""Faults around a scan: a read-only output folder, a disk that fills mid-write, a SIGKILL at a
random moment, a state database held by a concurrent scan or damaged. In every case the
previous CSV and state survive, no temporary file is left behind, and the next run completes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.nightly.state import State

from .conftest import FIXTURES

QUICK = FIXTURES / "quickstart.parquet"


def scan(*args: object, catch: bool = False):
    return CliRunner().invoke(main, ["scan", *map(str, args)], catch_exceptions=catch)


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only for this process, even as root (immutable attribute)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root where the immutable attribute is not available")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> bytes:
    """The CSV an undisturbed scan of the quickstart scenario writes."""
    out = tmp_path_factory.mktemp("ref") / "flagged.csv"
    assert scan(QUICK, "-o", out, "--no-state", "-q").exit_code == 0
    return out.read_bytes()


@pytest.mark.parametrize("with_state", [False, True], ids=["no-state", "state"])
def test_a_read_only_output_folder_fails_clearly_and_keeps_yesterdays_csv(tmp_path, with_state):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "flagged.csv"
    out.write_text("yesterday\n")
    (folder / "ais-scan.log").write_text("")  # yesterday's log: appending still works
    state = ["--state", str(folder / "s.duckdb")] if with_state else ["--no-state"]
    with read_only(folder):
        result = scan(QUICK, "-o", out, *state)
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert str(folder) in line
    assert ("cannot write (" in line) or ("cannot open the state database" in line), line
    assert out.read_text() == "yesterday\n"
    assert temporaries(tmp_path) == []


def test_a_read_only_folder_without_a_log_names_the_log_and_the_fix(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with read_only(folder):
        result = scan(QUICK, "-o", folder / "flagged.csv", "--no-state")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {folder / 'ais-scan.log'}: cannot write the scan "
                                    "log (")
    assert "pass --log with another file" in result.output


def test_the_csv_cannot_be_written_into_a_missing_folder_on_a_read_only_parent(tmp_path):
    with read_only(tmp_path):
        result = scan(QUICK, "-o", tmp_path / "new" / "flagged.csv", "--no-state",
                      "--log", "/dev/null")
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'new' / 'flagged.csv'}: cannot write (" in result.output


def _disk_fills_after(monkeypatch, n_bytes: int) -> None:
    """The CSV writer writes ``n_bytes`` and then the disk is full."""
    def to_csv(frame, path, *args, **kwargs):
        Path(path).write_bytes(frame.to_string().encode()[:n_bytes])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)


def test_disk_full_mid_write_keeps_the_previous_csv_and_leaves_no_temporary(
        tmp_path, monkeypatch, reference):
    out = tmp_path / "flagged.csv"
    out.write_bytes(b"yesterday\n")
    _disk_fills_after(monkeypatch, 100)
    result = scan(QUICK, "-o", out, "--no-state")
    assert result.exit_code == 1
    assert (f"Error: {out}: cannot write (No space left on device); check that {tmp_path} "
            "exists, is writable and has free space, or write elsewhere") in result.output
    assert out.read_bytes() == b"yesterday\n"
    assert temporaries(tmp_path) == []
    monkeypatch.undo()
    assert scan(QUICK, "-o", out, "--no-state", "-q").exit_code == 0
    assert out.read_bytes() == reference


@contextlib.contextmanager
def tiny_disk(folder: Path, size_kb: int = 64):
    """A real, small file system at ``folder`` (a tmpfs; needs root and mount)."""
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as fh:
        while True:
            fh.write(b"x" * 1024)
    return filler


def test_a_really_full_disk_fails_clearly_and_the_next_run_completes(tmp_path, reference):
    with tiny_disk(tmp_path / "disk") as disk:
        out = disk / "flagged.csv"
        out.write_text("yesterday\n")
        filler = _fill(disk)
        result = scan(QUICK, "-o", out, "--no-state", "--log", str(tmp_path / "scan.log"))
        assert result.exit_code == 1, result.output
        assert f"Error: {out}: cannot write (No space left on device)" in result.output
        assert out.read_text() == "yesterday\n"
        assert temporaries(disk) == []
        filler.unlink()
        assert scan(QUICK, "-o", out, "--no-state", "-q", "--log",
                    str(tmp_path / "scan.log")).exit_code == 0
        assert out.read_bytes() == reference


def test_disk_full_while_saving_models_keeps_the_previous_models(tmp_path, monkeypatch):
    import skops.io as sio

    from ais.judging.scoring import MODEL_FILE

    models = tmp_path / "models"
    assert CliRunner().invoke(main, ["train", str(QUICK), "--models", str(models),
                                     "-q"]).exit_code == 0
    before = (models / MODEL_FILE).read_bytes()

    def full(obj, file, **kwargs):
        Path(file).write_bytes(b"PK\x03\x04partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))

    monkeypatch.setattr(sio, "dump", full)
    result = CliRunner().invoke(main, ["train", str(QUICK), "--models", str(models)])
    assert result.exit_code == 1
    assert "cannot write (No space left on device)" in result.output
    assert (models / MODEL_FILE).read_bytes() == before
    assert temporaries(tmp_path) == []


def test_a_state_commit_that_fails_leaves_the_state_usable_and_a_rerun_completes(
        tmp_path, monkeypatch, reference):
    state, out = tmp_path / "s.duckdb", tmp_path / "flagged.csv"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(State, "commit_night", full)
    result = scan(QUICK, "-o", out, "--state", state, catch=True)
    assert result.exit_code != 0
    monkeypatch.undo()
    with State.open(state, read_only=True) as st:
        assert set(st.runs()["status"]) <= {"failed", "running", "interrupted"}
    result = scan(QUICK, "-o", out, "--state", state, "-q")
    assert result.exit_code == 0, result.output
    assert temporaries(tmp_path) == []
    with State.open(state, read_only=True) as st:
        assert "ok" in set(st.runs()["status"])


# ---------------------------------------------------------------- SIGKILL at random moments

def _scan_process(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ais.cli", "scan", str(QUICK), "-o", str(out),
                             "-q", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_at_random_moments(tmp_path: Path, reference: bytes, kills: int, seed: int,
                            duration: float | None = None) -> None:
    """Kill ``kills`` scans at random moments of a run (timed here unless ``duration``)."""
    out = tmp_path / "flagged.csv"
    out.write_bytes(b"yesterday\n")
    if duration is None:
        t0 = time.monotonic()
        assert _scan_process(tmp_path / "timing.csv", "--no-state").wait() == 0
        duration = time.monotonic() - t0
    rng = random.Random(seed)
    for kill in range(kills):
        proc = _scan_process(out, "--no-state")
        time.sleep(rng.uniform(0.0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # either yesterday's file or a complete new one: never a torn CSV
        assert out.read_bytes() in (b"yesterday\n", reference), f"seed {seed}, kill {kill}"
    proc = _scan_process(out, "--no-state")
    assert proc.wait() == 0, proc.stderr.read().decode()
    assert out.read_bytes() == reference
    assert temporaries(tmp_path) == []  # the next run removed what killed writers left


@pytest.mark.slow  # 5-12 s; test_nightly's kill tests and the others here stay fast
def test_sigkill_at_random_moments_never_tears_the_csv_and_the_next_run_completes(
        tmp_path, reference):
    _kill_at_random_moments(tmp_path, reference, kills=2, seed=int(time.time()), duration=4.0)


@pytest.mark.slow
def test_sigkill_at_many_random_moments(tmp_path, reference):
    _kill_at_random_moments(tmp_path, reference, kills=20, seed=20260105)


# ---------------------------------------------------------------- the state under contention

def test_two_scans_started_together_on_one_state_one_runs_and_the_other_exits_4(tmp_path):
    state = tmp_path / "s.duckdb"
    a = _scan_process(tmp_path / "a.csv", "--state", str(state))
    b = _scan_process(tmp_path / "b.csv", "--state", str(state))
    codes = sorted((a.wait(), b.wait()))
    errors = a.stderr.read().decode() + b.stderr.read().decode()
    if codes == [0, 0]:  # the first finished before the second looked: nothing to test
        pytest.skip("the scans did not overlap on this machine")
    assert codes == [0, 4], errors
    assert f"Error: {state}: the state database is in use by another scan" in errors
    [written] = [p for p in (tmp_path / "a.csv", tmp_path / "b.csv") if p.exists()]
    with State.open(state, read_only=True) as st:
        assert list(st.runs()["status"]) == ["ok"]
    assert pd.read_csv(written).columns[0] == "event_id" and len(pd.read_csv(written)) >= 4


@pytest.mark.slow
def test_a_second_scan_with_wait_runs_after_the_first_and_the_state_holds_both(tmp_path):
    state = tmp_path / "s.duckdb"
    a = _scan_process(tmp_path / "a.csv", "--state", str(state), "--wait", "120")
    b = _scan_process(tmp_path / "b.csv", "--state", str(state), "--wait", "120")
    assert (a.wait(), b.wait()) == (0, 0), a.stderr.read() + b.stderr.read()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()  # a re-run
    with State.open(state, read_only=True) as st:
        assert list(st.runs()["status"]) == ["ok", "ok"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b"this is not a database\n" * 100, id="text"),
        pytest.param(lambda b: b[: len(b) // 3], id="truncated"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_a_damaged_state_file_is_refused_clearly_and_left_alone(tmp_path, damage):
    state, out = tmp_path / "s.duckdb", tmp_path / "flagged.csv"
    assert scan(QUICK, "-o", out, "--state", state, "-q").exit_code == 0
    state.write_bytes(damage(state.read_bytes()))
    damaged = state.read_bytes()
    out.write_text("yesterday\n")
    result = scan(QUICK, "-o", out, "--state", state)
    if result.exit_code == 0:  # DuckDB accepted it as an empty database: a fresh state
        assert damaged == b""
        return
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: {state}: ")
    assert state.read_bytes() == damaged
    assert out.read_text() == "yesterday\n"
