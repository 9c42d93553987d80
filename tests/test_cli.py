"""End-to-end CLI scenarios: the CSV contract, exit codes, determinism, help everywhere."""

from __future__ import annotations

import csv
import pickle

import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.judging.scoring import MODEL_FILE
from ais.nightly.state import State
from ais.views.output import CSV_COLUMNS

from .conftest import FIXTURES, write_parquet

QUICK = FIXTURES / "quickstart.parquet"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_every_command_has_help():
    assert run("--help").exit_code == 0
    for name, command in main.commands.items():
        assert command.help, f"{name} has no help text"
        result = run(name, "-h")
        assert result.exit_code == 0 and "Usage" in result.output


def test_version():
    assert run("--version").exit_code == 0


def test_scan_writes_the_contract_header_and_ranked_explained_rows(tmp_path):
    out = tmp_path / "flagged.csv"
    result = run("scan", str(QUICK), "-o", str(out))
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0][: len(CSV_COLUMNS)]) == CSV_COLUMNS
    frame = pd.read_csv(out)
    assert len(frame) >= 4
    first = frame.iloc[0]
    assert first["event_type"] in {"loitering", "dark_period", "meetup", "identity_change"}
    assert first["start_time"].endswith("Z")
    assert 0 <= first["anomaly_score"] <= 1 and first["reason"]
    assert first["event_id"][:3] in {"LOI", "DRK", "MTG", "IDC"}
    assert frame["anomaly_score"].is_monotonic_decreasing
    assert "flagged" in result.output and str(out) in result.output


def test_scanning_twice_gives_byte_identical_csvs(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("scan", str(QUICK), "-o", str(a), "-q").exit_code == 0
    assert run("scan", str(QUICK), "-o", str(b), "-q").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_quiet_scan_prints_nothing(tmp_path):
    result = run("scan", str(QUICK), "-o", str(tmp_path / "q.csv"), "-q")
    assert result.exit_code == 0 and result.output == ""


def test_nothing_flagged_still_exits_zero_with_a_header(tmp_path):
    calm = pd.DataFrame({
        "mmsi": [412000001] * 30,
        "timestamp": pd.date_range("2026-01-05", periods=30, freq="2min", tz="UTC"),
        "lat": [38.3 + i * 0.003 for i in range(30)], "lon": [124.6] * 30, "sog": [10.0] * 30,
    })
    out = tmp_path / "calm.csv"
    result = run("scan", str(write_parquet(tmp_path / "calm.parquet", calm)), "-o", str(out))
    assert result.exit_code == 0
    assert pd.read_csv(out).empty
    assert list(pd.read_csv(out).columns[: len(CSV_COLUMNS)]) == list(CSV_COLUMNS)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["scan"], id="no-paths"),
        pytest.param(["scan", "x.parquet"], id="no-output"),
        pytest.param(["scan", "--bogus"], id="unknown-option"),
    ],
)
def test_usage_errors_exit_one_or_two(args):
    assert run(*args).exit_code in (1, 2)  # click's own usage errors exit 2


def test_bad_file_exits_one_names_it_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("mmsi,lat\n1,2\n")
    out = tmp_path / "out.csv"
    result = run("scan", str(bad), "-o", str(out))
    assert result.exit_code == 1
    assert "Error:" in result.output and str(bad) in result.output
    assert not out.exists()


def test_a_failed_scan_leaves_the_previous_csv_untouched(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("yesterday\n")
    result = run("scan", str(tmp_path / "missing.parquet"), "-o", str(out))
    assert result.exit_code == 1
    assert out.read_text() == "yesterday\n"
    # no temporary file is left; the run log and the state's run log say it failed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ais-scan.log", "ais-state.duckdb", "out.csv"]
    assert "scan-failed" in (tmp_path / "ais-scan.log").read_text()
    with State.open(tmp_path / "ais-state.duckdb", read_only=True) as state:
        runs = state.runs()
    assert list(runs["status"]) == ["failed"] and "missing.parquet" in runs["notes"].iloc[0]


def test_train_then_scan_with_those_models(tmp_path):
    models = tmp_path / "models"
    result = run("train", str(FIXTURES / "nampo_day.parquet"), "--models", str(models))
    assert result.exit_code == 0, result.output
    assert (models / MODEL_FILE).exists() and (models / "ais-forests.json").exists()
    out = tmp_path / "f.csv"
    result = run("scan", str(QUICK), "-o", str(out), "--models", str(models))
    assert result.exit_code == 0 and f"models in {models}" in result.output


def test_a_pickled_model_is_refused_without_running_it(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / MODEL_FILE).write_bytes(pickle.dumps({"forest": "anything"}))
    result = run("scan", str(QUICK), "-o", str(tmp_path / "x.csv"), "--models", str(models))
    assert result.exit_code == 1
    assert "not a readable ais model file" in result.output


def test_evaluate_prints_precision_and_recall_per_type(tmp_path):
    out = tmp_path / "f.csv"
    run("scan", str(FIXTURES / "nampo_day.parquet"), "-o", str(out), "-q")
    result = run("evaluate", str(out), "--truth", str(FIXTURES / "nampo_day.truth.csv"))
    assert result.exit_code == 0
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[1:6]}
    for event_type in ("loitering", "dark_period", "meetup", "identity_change"):
        precision, recall = float(lines[event_type][4]), float(lines[event_type][5])
        assert recall >= 0.9 and precision >= 0.9, result.output


def test_since_and_until_limit_the_scan_window(tmp_path):
    out = tmp_path / "w.csv"
    result = run("scan", str(QUICK), "-o", str(out), "--since", "2026-01-05T06:00Z",
                 "--until", "2026-01-05T12:00Z")
    assert result.exit_code == 0, result.output
    assert "outside_time_window" in result.output
    frame = pd.read_csv(out)
    if len(frame):
        assert (frame["start_time"] >= "2026-01-05T06:00:00Z").all()


def test_a_bad_since_is_a_usage_error(tmp_path):
    result = run("scan", str(QUICK), "-o", str(tmp_path / "x.csv"), "--since", "yesterday-ish")
    assert result.exit_code == 1 and "not a date" in result.output


def test_a_scan_under_a_small_memory_limit_gives_the_same_csv(tmp_path):
    """DuckDB gets the limit (and a spill directory) in every connection of the scan."""
    import duckdb

    from ais.db import connect, memory_limit

    with memory_limit("300MB"):
        con = connect()
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        con.close()
    assert limit == "286.1 MiB" and "ais-duckdb-spill" in spill  # 300 MB in MiB
    assert duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0] \
        != limit  # outside the block: DuckDB's default again
    small, default = tmp_path / "small.csv", tmp_path / "default.csv"
    assert run("scan", str(QUICK), "-o", str(small), "--no-state", "--memory-limit",
               "300MB").exit_code == 0
    assert run("scan", str(QUICK), "-o", str(default), "--no-state").exit_code == 0
    assert small.read_bytes() == default.read_bytes()


def test_a_memory_limit_that_is_not_a_size_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["scan", str(QUICK), "-o", str(tmp_path / "f.csv"),
                                       "--no-state", "--memory-limit", "lots"])
    assert result.exit_code == 1 and "8GB" in result.output
    assert not (tmp_path / "f.csv").exists()


def test_the_rules_a_baseline_was_found_with_are_settable_and_recorded_with_its_models(
        tmp_path):
    """The coverage, identity and loitering rules that were module constants are in the
    config: a TOML file sets them, and `ais train` records every threshold beside the
    forests (so a scan with other rules can be told from the models' own)."""
    import json

    conf = tmp_path / "rules.toml"
    conf.write_text("[dark_period]\nsilence_intervals = 12\nharbour_land_km = 3.5\n\n"
                    "[identity_change]\npair_h = 2.0\n\n[loitering]\nfixed_radius_km = 0.01\n")
    models = tmp_path / "models"
    result = run("train", str(FIXTURES / "nampo_day.parquet"), "--models", str(models),
                 "--config", str(conf))
    assert result.exit_code == 0, result.output
    recorded = json.loads((models / "ais-forests.json").read_text())["rules"]
    assert recorded["dark_period"]["silence_intervals"] == 12
    assert recorded["dark_period"]["harbour_land_km"] == 3.5
    assert recorded["dark_period"]["min_gap_h"] == 2.0  # the defaults too
    assert recorded["identity_change"]["pair_h"] == 2.0
    assert recorded["loitering"]["fixed_radius_km"] == 0.01
    assert "places" not in recorded and "areas" not in recorded
