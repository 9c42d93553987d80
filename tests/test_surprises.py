"""No silent surprises: what an operator under cron and an analyst must be told."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.config import Config
from ais.nightly.carry import reconcile
from ais.nightly.state import Night
from ais.synth.world import vessel

from .conftest import FIXTURES, write_parquet

QUICK = FIXTURES / "quickstart.parquet"
REPO = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def gulf_of_mexico(tmp_path_factory) -> Path:
    """A feed of the wrong region: ships off Louisiana, nowhere near a watch area."""
    a = vessel(367123451, "GULF ONE", at=(28.5, -90.5)).sail((28.9, -89.6), hours=10)
    b = vessel(367123452, "GULF TWO", at=(28.0, -91.0)).drift(hours=8)
    frame = pd.concat([a.pings(), b.pings()], ignore_index=True)
    return write_parquet(tmp_path_factory.mktemp("gulf") / "gulf.parquet", frame)


# -- a feed with no ping in any watch area -----------------------------------------------------

def test_no_ping_in_a_watch_area_warns_in_the_summary_and_the_log(gulf_of_mexico, tmp_path):
    out = tmp_path / "flagged.csv"
    result = run("scan", str(gulf_of_mexico), "-o", str(out), "--no-state")
    assert result.exit_code == 0
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "--everywhere" in warning[0] and "watch area" in warning[0]
    assert "Nampo" in warning[0] and "Najin" in warning[0]
    log = (tmp_path / "ais-scan.log").read_text()
    assert re.search(r" warning text='none of the [\d,]+ pings lies in a watch area", log)
    assert "--everywhere" in log


def test_a_scan_by_day_of_the_wrong_region_warns_once(tmp_path):
    a = vessel(367123453, "GULF THREE", at=(28.5, -90.5)).sail((29.5, -88.0), hours=40)
    path = write_parquet(tmp_path / "two_days.parquet", a.pings())
    result = run("scan", str(path), "-o", str(tmp_path / "f.csv"), "--by-day", "--no-state")
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "--everywhere" in warnings[0] and "2 days" in warnings[0]


def test_everywhere_or_a_feed_of_the_watch_areas_gives_no_warning(gulf_of_mexico, tmp_path):
    result = run("scan", str(gulf_of_mexico), "-o", str(tmp_path / "a.csv"), "--no-state",
                 "--everywhere")
    assert "warning:" not in result.output
    result = run("scan", str(QUICK), "-o", str(tmp_path / "b.csv"), "--no-state")
    assert "warning:" not in result.output


def test_a_ping_inside_an_area_is_found_whatever_the_rest():
    from ais.judging.surprises import pings_in_watch_areas

    cfg = Config()
    far = pd.DataFrame({"lat": [28.0] * 5, "lon": [-90.0] * 5})
    near_box_only = pd.DataFrame({"lat": [39.95], "lon": [126.8]})  # in Nampo's box corner
    inside = pd.DataFrame({"lat": [38.6], "lon": [125.1]})
    assert not pings_in_watch_areas(far, cfg)
    assert not pings_in_watch_areas(pd.concat([far, near_box_only]), cfg)
    assert pings_in_watch_areas(pd.concat([far, inside, far]), cfg)


# -- models fitted on a synthetic baseline ----------------------------------------------------

def test_scoring_with_the_shipped_synthetic_models_says_so(tmp_path):
    result = run("scan", str(QUICK), "-o", str(tmp_path / "f.csv"), "--no-state")
    assert "fitted on a synthetic baseline" in result.output
    assert "ais train" in result.output
    assert re.search(r" note text=.the models were fitted on a synthetic baseline",
                     (tmp_path / "ais-scan.log").read_text())


@pytest.mark.slow  # trains twice (5 s); the suite stays under 5 min on 2 cores
def test_models_trained_on_real_files_carry_no_synthetic_note(tmp_path):
    real = tmp_path / "real" / "day.parquet"  # the same pings, without the synth truth beside
    real.parent.mkdir()
    shutil.copy(FIXTURES / "nampo_day.parquet", real)
    assert run("train", str(real), "--models", str(tmp_path / "m"), "-q").exit_code == 0
    assert '"baseline": "real"' in (tmp_path / "m" / "ais-forests.json").read_text()
    result = run("scan", str(QUICK), "-o", str(tmp_path / "f.csv"), "--no-state", "--models",
                 str(tmp_path / "m"))
    assert "synthetic baseline" not in result.output
    synth_models = tmp_path / "s"
    assert run("train", str(FIXTURES / "nampo_day.parquet"), "--models", str(synth_models),
               "-q").exit_code == 0
    assert '"baseline": "synthetic' in (synth_models / "ais-forests.json").read_text()


# -- first_reported is the night the event was seen in ----------------------------------------

def _event(event_id: str, start: str, end: str) -> dict:
    return {"event_id": event_id, "event_type": "loitering", "mmsi": 1, "other_mmsi": None,
            "start_time": pd.Timestamp(start, tz="UTC"), "end_time": pd.Timestamp(end, tz="UTC"),
            "duration_h": 1.0, "is_open": False}


def test_first_reported_is_the_night_of_the_event_not_the_first_ping_of_the_input():
    night = Night(pd.Timestamp("2014-01-01T00:00", tz="UTC"),
                  pd.Timestamp("2021-03-06T00:00", tz="UTC"))
    events = pd.DataFrame([_event("A", "2021-03-05T14:00", "2021-03-05T20:00"),
                           _event("B", "2014-01-01T03:00", "2014-01-01T09:00")])
    got = reconcile(events, pd.DataFrame(), night).set_index("event_id")["first_reported"]
    assert got["A"] == pd.Timestamp("2021-03-05", tz="UTC")
    assert got["B"] == pd.Timestamp("2014-01-01", tz="UTC")


def test_an_event_carried_from_before_the_window_is_first_reported_at_its_start():
    night = Night(pd.Timestamp("2026-01-05T06:00", tz="UTC"),
                  pd.Timestamp("2026-01-06T06:00", tz="UTC"))
    events = pd.DataFrame([_event("A", "2026-01-05T02:00", "2026-01-05T09:00")])
    got = reconcile(events, pd.DataFrame(), night)
    assert got["first_reported"].iloc[0] == night.start and got["status"].iloc[0] == "new"


# -- the log: a run id on every line, the exit code on the last -------------------------------

def test_every_log_line_carries_its_scans_run_id(tmp_path):
    log = tmp_path / "shared.log"
    for name in ("a", "b"):
        assert run("scan", str(QUICK), "-o", str(tmp_path / f"{name}.csv"), "--no-state",
                   "--log", str(log), "-q").exit_code == 0
    lines = log.read_text().splitlines()
    ids = [re.match(r"\S+ run=([0-9a-f]{12}) \S", line) for line in lines]
    assert all(ids), [line for line, m in zip(lines, ids, strict=True) if not m]
    runs = {m[1] for m in ids}
    assert len(runs) == 2
    for run_id in runs:
        mine = [line for line in lines if f"run={run_id} " in line]
        assert " scan-start " in mine[0] and " scan-done exit=0 " in mine[-1]


# -- evaluate checks that the truth file is a truth file --------------------------------------

def test_evaluate_refuses_a_flagged_csv_given_as_the_truth(tmp_path):
    out = tmp_path / "flagged.csv"
    assert run("scan", str(QUICK), "-o", str(out), "-q", "--no-state").exit_code == 0
    result = CliRunner().invoke(main, ["evaluate", str(out), "--truth", str(out)])
    assert result.exit_code == 1
    assert f"{out} is a flagged-events CSV, not a truth table" in result.output
    assert "truth.csv" in result.output
    swapped = CliRunner().invoke(main, ["evaluate", str(FIXTURES / "quickstart.truth.csv"),
                                        "--truth", str(FIXTURES / "quickstart.truth.csv")])
    assert swapped.exit_code == 1 and "not a flagged-events CSV" in swapped.output
    good = run("evaluate", str(out), "--truth", str(FIXTURES / "quickstart.truth.csv"))
    assert good.exit_code == 0 and "precision" in good.output


# -- show | head --------------------------------------------------------------------------------

def test_show_into_a_pipe_closed_early_exits_quietly(tmp_path):
    out = tmp_path / "flagged.csv"
    assert run("scan", str(QUICK), "-o", str(out), "-q").exit_code == 0
    event_id = pd.read_csv(out)["event_id"].iloc[0]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ais.cli import main; main()", "show", event_id,
         "--csv", str(out), "--png", str(tmp_path / "map.png")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.readline()  # like `head -1`: read a line, then go away
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr and stderr == ""
    assert (tmp_path / "map.png").stat().st_size > 10_000  # the map was written first


# -- one rule for the state's default place ---------------------------------------------------

def test_show_and_history_find_the_state_beside_the_csv_like_export_and_report(
        tmp_path, monkeypatch):
    out = tmp_path / "night" / "flagged.csv"
    assert run("scan", str(QUICK), "-o", str(out), "-q").exit_code == 0
    monkeypatch.chdir(tmp_path)  # elsewhere: no state in the current folder
    monkeypatch.delenv("AIS_STATE", raising=False)
    flagged = pd.read_csv(out)
    event_id, mmsi = flagged["event_id"].iloc[0], int(flagged["mmsi"].iloc[0])
    shown = run("show", event_id, "--csv", str(out), "--png", str(tmp_path / "m.png"))
    assert shown.exit_code == 0 and event_id in shown.output
    assert run("history", str(mmsi), "--csv", str(out)).exit_code == 0
    assert run("export", str(out), "--format", "geojson").exit_code == 0
    missing = CliRunner().invoke(main, ["show", event_id])
    assert missing.exit_code == 1 and "--csv" in missing.output
    helps = {name: run(name, "--help").output for name in
             ("scan", "show", "history", "export", "report")}
    for name, text in helps.items():
        assert "beside the flagged CSV" in " ".join(text.split()), name


# -- the quickstart leaves the checkout clean -------------------------------------------------

@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_the_quickstarts_files_are_ignored_by_git(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(REPO / ".gitignore", checkout / ".gitignore")
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    monkeypatch.chdir(checkout)
    monkeypatch.delenv("AIS_STATE", raising=False)
    assert run("scan", str(QUICK), "-o", "flagged.csv", "-q").exit_code == 0
    event_id = pd.read_csv("flagged.csv")["event_id"].iloc[0]
    assert run("show", event_id).exit_code == 0
    for fmt in ("kml", "geojson", "xlsx"):
        assert run("export", "flagged.csv", "--format", fmt).exit_code == 0
    assert run("report", "flagged.csv").exit_code == 0
    written = {p.name for p in checkout.iterdir()} - {".git", ".gitignore"}
    assert {"flagged.csv", "ais-state.duckdb", "ais-scan.log", f"{event_id}.png"} <= written
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    assert [line for line in status if line and ".gitignore" not in line] == []
