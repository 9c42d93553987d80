"""The bad-input corpus through `ais scan`: exit codes, exact error lines, counts dropped.

A bad file stops the scan before anything is written; bad rows are dropped, counted by reason
and never stop it; ``--skip-bad-files`` scans the good files, names the bad ones and exits 3.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.views.output import CSV_COLUMNS

from .badinput import CORPUS, MMSI, N, base, write_all, write_table
from .conftest import FIXTURES

QUICK = FIXTURES / "quickstart.parquet"


def scan(*args: str):
    """`ais scan` on its own (no state: these inputs are about ingest, not about nights)."""
    return CliRunner().invoke(main, ["scan", *map(str, args), "--no-state"],
                              catch_exceptions=False)


def leftovers(folder) -> list[str]:
    """Files a scan must never leave behind: temporary CSVs and state files."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp")
                  or p.suffix in (".duckdb", ".wal"))


def counts(output: str) -> tuple[int, int, dict[str, int]]:
    """(rows read, rows kept, dropped per reason) from the scan's summary lines."""
    head = re.search(r"read ([\d,]+) rows from \d+ file\(s\); kept ([\d,]+), dropped", output)
    assert head, output
    dropped = {m[1]: int(m[0].replace(",", ""))
               for m in re.findall(r"^  dropped ([\d,]+) rows: (\w+) ", output, re.M)}
    return int(head[1].replace(",", "")), int(head[2].replace(",", "")), dropped


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


@pytest.mark.parametrize("case", [c for c in CORPUS if c.exit_code == 1], ids=lambda c: c.name)
def test_a_bad_file_stops_the_scan_with_one_exact_error_and_writes_nothing(tmp_path, case):
    path = case.write(tmp_path)
    out = tmp_path / "flagged.csv"
    result = scan(path, "-o", out)
    assert result.exit_code == 1
    [line] = error_lines(result.output)
    if case.error is not None:
        assert line == case.error.format(path=path)
    else:
        assert line.startswith(case.error_start.format(path=path)), line
        assert line.endswith(case.error_end), line
    assert not out.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", [c for c in CORPUS if c.exit_code == 0], ids=lambda c: c.name)
def test_bad_rows_are_dropped_counted_by_reason_and_the_scan_finishes(tmp_path, case):
    path = case.write(tmp_path)
    out = tmp_path / "flagged.csv"
    result = scan(path, "-o", out)
    assert result.exit_code == 0, result.output
    rows_in, kept, dropped = counts(result.output)
    assert kept == case.kept
    assert dropped == {k: v for k, v in case.dropped.items() if v}
    assert rows_in == kept + sum(dropped.values())
    assert list(pd.read_csv(out).columns[: len(CSV_COLUMNS)]) == list(CSV_COLUMNS)


def test_time_zones_are_converted_to_utc_and_naive_times_are_utc(tmp_path):
    from ais.inputs.ingest import ingest

    [path] = write_all(tmp_path, ["timestamps_1970_2100_zones"]).values()
    times = ingest([path]).pings["timestamp"]
    assert str(times.dt.tz) == "UTC"
    assert pd.Timestamp("2026-01-05T00:30Z") in set(times)  # from +09:00
    assert times.min() == pd.Timestamp("2026-01-05T00:00Z")


def test_epoch_timestamps_in_any_unit_read_the_same(tmp_path):
    from ais.inputs.ingest import ingest

    paths = write_all(tmp_path, ["epoch_seconds", "epoch_milliseconds", "epoch_microseconds",
                                 "epoch_nanoseconds"])
    times = [ingest([p]).pings["timestamp"].tolist() for p in paths.values()]
    assert all(t == times[0] for t in times)
    assert times[0][0] == pd.Timestamp("2026-01-05", tz="UTC")


def test_invalid_utf8_is_repaired_said_and_control_characters_removed(tmp_path):
    from ais.inputs.ingest import ingest

    [path] = write_all(tmp_path, ["non_utf8_and_control_characters"]).values()
    result = scan(path, "-o", tmp_path / "f.csv")
    assert (f"  {path}: text that is not valid UTF-8 was read with the bad bytes replaced by "
            "U+FFFD") in result.output.splitlines()
    names = set(ingest([path]).pings["name"])
    assert names == {"CAF\ufffd", "ABC", "[31mRED", "\u00c4\u00d6 \u6f22"}


def _frame(path) -> pd.DataFrame:
    return pd.read_parquet(path)


def test_unsorted_rows_give_the_same_csv_byte_for_byte(tmp_path):
    shuffled = _frame(QUICK).sample(frac=1.0, random_state=7)
    a, b = tmp_path / "sorted.csv", tmp_path / "shuffled.csv"
    assert scan(QUICK, "-o", a, "-q").exit_code == 0
    assert scan(write_table(tmp_path / "s.parquet", shuffled), "-o", b, "-q").exit_code == 0
    assert len(pd.read_csv(a)) >= 4
    assert a.read_bytes() == b.read_bytes()


def test_every_row_duplicated_gives_the_same_csv_and_counts_each_duplicate(tmp_path):
    frame = _frame(QUICK)
    doubled = pd.concat([frame, frame.iloc[::-1]], ignore_index=True)
    a, b = tmp_path / "once.csv", tmp_path / "twice.csv"
    assert scan(QUICK, "-o", a, "-q").exit_code == 0
    result = scan(write_table(tmp_path / "d.parquet", doubled), "-o", b)
    assert result.exit_code == 0
    rows_in, kept, dropped = counts(result.output)
    assert rows_in == 2 * len(frame) and dropped.get("exact_duplicate") == len(frame)
    assert a.read_bytes() == b.read_bytes()


def test_mmsi_as_spaced_strings_gives_the_same_csv_as_integers(tmp_path):
    frame = _frame(QUICK)
    frame["mmsi"] = frame["mmsi"].map(lambda m: f" {str(m)[:3]} {str(m)[3:]} ")
    a, b = tmp_path / "int.csv", tmp_path / "str.csv"
    assert scan(QUICK, "-o", a, "-q").exit_code == 0
    assert scan(write_table(tmp_path / "m.parquet", frame), "-o", b, "-q").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- good and bad files mixed

BAD_IN_THE_MIX = ["empty_file", "csv_renamed_parquet", "truncated_parquet", "no_position_columns"]


def _mixed_directory(tmp_path):
    folder = tmp_path / "night"
    write_table(folder / "a_good.parquet", _frame(QUICK))
    write_table(folder / "z_good.parquet", base(mmsi=MMSI))
    bad = write_all(folder, BAD_IN_THE_MIX)
    return folder, bad


def test_a_directory_with_one_bad_file_stops_before_writing_anything(tmp_path):
    folder, bad = _mixed_directory(tmp_path)
    out = tmp_path / "flagged.csv"
    out.write_text("yesterday\n")
    result = scan(folder, "-o", out)
    assert result.exit_code == 1
    [line] = error_lines(result.output)
    assert any(str(p) in line for p in bad.values())
    assert out.read_text() == "yesterday\n"
    assert leftovers(tmp_path) == []


def test_skip_bad_files_scans_the_good_ones_names_the_bad_ones_and_exits_3(tmp_path):
    folder, bad = _mixed_directory(tmp_path)
    good_only = tmp_path / "good"
    for name in ("a_good.parquet", "z_good.parquet"):
        good_only.mkdir(exist_ok=True)
        (good_only / name).write_bytes((folder / name).read_bytes())
    expected, out = tmp_path / "expected.csv", tmp_path / "flagged.csv"
    assert scan(good_only, "-o", expected, "-q").exit_code == 0

    result = scan(folder, "-o", out, "--skip-bad-files")
    assert result.exit_code == 3
    lines = result.output.splitlines()
    assert f"skipped {len(bad)} bad input file(s):" in lines
    for name, path in bad.items():
        [named] = [line for line in lines if line.startswith(f"  {path}: ")]
        assert len(named) > len(f"  {path}: ") + 10, f"{name}: no reason given"
    assert "read" in result.output and "from 2 file(s)" in result.output
    assert out.read_bytes() == expected.read_bytes()


def test_skip_bad_files_still_names_them_when_quiet(tmp_path):
    folder, bad = _mixed_directory(tmp_path)
    result = scan(folder, "-o", tmp_path / "f.csv", "--skip-bad-files", "-q")
    assert result.exit_code == 3
    assert result.output.splitlines() == [f"skipped {len(bad)} bad input file(s):"] + [
        line for line in result.output.splitlines() if line.startswith("  ")]
    assert len(result.output.splitlines()) == 1 + len(bad)


def test_skip_bad_files_names_a_missing_path_too(tmp_path):
    good = write_table(tmp_path / "good.parquet", base())
    missing = tmp_path / "tonight.parquet"
    result = scan(good, missing, "-o", tmp_path / "f.csv", "--skip-bad-files")
    assert result.exit_code == 3
    assert f"  {missing}: no such file or directory" in result.output.splitlines()


def test_skip_bad_files_with_nothing_good_is_an_error(tmp_path):
    bad = write_all(tmp_path / "in", ["empty_file", "csv_renamed_parquet"])
    out = tmp_path / "f.csv"
    result = scan(tmp_path / "in", "-o", out, "--skip-bad-files")
    assert result.exit_code == 1
    [line] = error_lines(result.output)
    assert line.startswith("Error: no usable input file: ")
    assert all(str(p) in line for p in bad.values())
    assert not out.exists()


def test_skip_bad_files_with_a_broken_page_skips_that_file(tmp_path):
    paths = write_all(tmp_path / "in", ["footer_intact_pages_broken", "zero_rows"])
    write_table(tmp_path / "in" / "good.parquet", base())
    result = scan(tmp_path / "in", "-o", tmp_path / "f.csv", "--skip-bad-files")
    assert result.exit_code == 3
    assert f"  {paths['footer_intact_pages_broken']}: cannot be read (" in result.output
    assert counts(result.output)[1] == N


def test_train_skips_bad_files_too(tmp_path):
    write_all(tmp_path / "in", ["csv_renamed_parquet"])
    write_table(tmp_path / "in" / "good.parquet", _frame(FIXTURES / "nampo_day.parquet"))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "in"), "--models",
                                       str(tmp_path / "m"), "--skip-bad-files"])
    assert result.exit_code == 3
    assert "skipped 1 bad input file(s):" in result.output
    assert (tmp_path / "m" / "ais-forests.skops").exists()


def test_exit_code_3_is_documented_in_the_help():
    text = CliRunner().invoke(main, ["scan", "--help"]).output
    assert "--skip-bad-files" in text and "exit code 3" in text
    assert "3 finished, but some input files were bad and skipped" in " ".join(
        CliRunner().invoke(main, ["--help"]).output.split())


@pytest.mark.slow
def test_five_million_pings_of_one_vessel_scan_to_the_end(tmp_path):
    n = 5_000_000
    t0 = np.datetime64("2026-01-05T00:00:00", "s")
    along_km = (np.arange(n) * 2 * 8 * 1.852 / 3600) % 60  # 8 kn back and forth, 30 km
    frame = pd.DataFrame({
        "mmsi": np.full(n, MMSI, dtype=np.int64),
        "timestamp": pd.DatetimeIndex(t0 + np.arange(n) * np.timedelta64(2, "s"), tz="UTC"),
        "lat": 38.30 + np.where(along_km < 30, along_km, 60 - along_km) / 111.0,
        "lon": np.full(n, 124.50), "sog": np.full(n, 8.0),
    })
    path = write_table(tmp_path / "one.parquet", frame)
    del frame
    result = scan(path, "-o", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    rows_in, kept, _ = counts(result.output)
    assert rows_in == kept == n
    assert "built 1 vessel tracks" in result.output
