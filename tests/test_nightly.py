"""Night after night: a scan continues the last one through the state database.

The scenario spans two days, cut at midnight into one file per night, with a vessel that goes
dark across midnight, a vessel that changes its name at midnight, and a vessel that loiters
through midnight, among neighbours reporting all the time.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.nightly.state import State
from ais.synth.world import Scenario
from tests.conftest import GFW, need, write_parquet

DAY1 = pd.Timestamp("2026-01-05T00:00Z")
DAY2 = DAY1 + pd.Timedelta(days=1)
DARK, RENAMED, LOITERER, LATE, SPARSE = 445123917, 412777001, 353111222, 412777002, 412777003
NEIGHBOURS = (412000001, 412000002, 412000003, 412000004)


def patrol(v, a: tuple[float, float], b: tuple[float, float], until: pd.Timestamp):
    """Sail back and forth between a and b at 9 kn until about ``until``."""
    while v.clock < until - pd.Timedelta(hours=1):
        v.sail(to=b, speed_kn=9)
        a, b = b, a
    return v


def two_days() -> pd.DataFrame:
    sc = Scenario(seed=7, report_every_s=300)
    for i, mmsi in enumerate(NEIGHBOURS):
        sc.vessel(mmsi, f"NEIGHBOUR {i}", start=DAY1,
                  at=(38.36 + 0.04 * i, 124.55 + 0.05 * i)).drift(hours=48, speed_kn=0.4)
    # traffic far around, all day: the data covers Korea Bay, not just the patch below
    # (a vessel going dark at the edge of the data has left it, not gone dark)
    for i, (a, b) in enumerate((((37.90, 123.80), (37.90, 125.00)),
                                (((38.95, 123.80), (38.95, 124.95))))):
        patrol(sc.vessel(412000101 + i, f"TRANSIT {i}", start=DAY1, at=a), a, b,
               DAY2 + pd.Timedelta(hours=23))
    sea_a, sea_b = (38.30, 124.45), (38.50, 124.75)
    # sails, goes dark about 18:00 -> 08:00 across midnight, sails on
    dark = sc.vessel(DARK, "CHON MA SAN", start=DAY1, at=sea_a)
    patrol(dark, sea_a, sea_b, DAY1 + pd.Timedelta(hours=18))
    dark.dark(until=DAY2 + pd.Timedelta(hours=8), to=sea_b)
    patrol(dark, sea_b, sea_a, DAY2 + pd.Timedelta(hours=20))
    # OCEAN GLORY all of day 1, KUM SAN 2 all of day 2
    renamed = sc.vessel(RENAMED, "OCEAN GLORY", callsign="BQRT7", start=DAY1, at=sea_b)
    patrol(renamed, sea_b, sea_a, DAY2)
    renamed.rename(name="KUM SAN 2")
    patrol(renamed, sea_a, sea_b, DAY2 + pd.Timedelta(hours=23))
    # drifts at sea from about 18:00 to 08:00 across midnight
    loiterer = sc.vessel(LOITERER, "GLORY RISE 3", start=DAY1, at=(38.80, 124.20),
                         ship_type="tanker")
    patrol(loiterer, (38.80, 124.20), (38.55, 124.45), DAY1 + pd.Timedelta(hours=18))
    loiterer.drift(until=DAY2 + pd.Timedelta(hours=8), speed_kn=0.3)
    patrol(loiterer, (38.55, 124.45), (38.80, 124.20), DAY2 + pd.Timedelta(hours=20))
    # renamed ten minutes before midnight: the new name is confirmed only by tomorrow's pings
    late = sc.vessel(LATE, "HAI XING 9", start=DAY1, at=sea_a)
    patrol(late, sea_a, sea_b, DAY1 + pd.Timedelta(hours=21))
    late.sail(to=(38.32, 124.50), until=DAY1 + pd.Timedelta(hours=23, minutes=50))
    late.rename(name="PU YANG 3")
    patrol(late, (38.32, 124.50), sea_b, DAY2 + pd.Timedelta(hours=12))
    return pd.concat([sc.pings(), sparse_reporter()], ignore_index=True)


def sparse_reporter() -> pd.DataFrame:
    """Reports every two hours: SEA STAR at 01-07 h, SEA MOON once at 11 h, then tomorrow:
    yesterday's name is older than the 3 h tail, so only the identity history catches it."""
    hours = [(1, "SEA STAR"), (3, "SEA STAR"), (5, "SEA STAR"), (7, "SEA STAR"),
             (11, "SEA MOON"), (26, "SEA MOON"), (30, "SEA MOON"), (34, "SEA MOON")]
    return pd.DataFrame({
        "mmsi": SPARSE, "timestamp": [DAY1 + pd.Timedelta(hours=h) for h, _ in hours],
        "lat": [38.30 + 0.02 * i for i in range(len(hours))], "lon": 124.60, "sog": 8.0,
        "name": [n for _, n in hours], "callsign": "BSEA1"})


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("nights")
    pings = two_days()
    paths = {}
    for name, day in (("day1", DAY1), ("day2", DAY2)):
        in_day = (pings["timestamp"] >= day) & (pings["timestamp"] < day + pd.Timedelta(days=1))
        part = pings[in_day]
        paths[name] = write_parquet(root / f"{name}.parquet", part)
    return {"root": root, **paths}


def scan(path, out, state, *extra: str):
    result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out), "--state", str(state),
                                       *extra])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out), result.output


def state_tables(path) -> dict[str, pd.DataFrame]:
    with State.open(path, read_only=True) as st:
        return {t: st.con.execute(f"SELECT * FROM {t} ORDER BY ALL").df()
                for t in ("events", "carry", "identities", "event_pings")}


def of(csv: pd.DataFrame, event_type: str, mmsi: int) -> pd.DataFrame:
    return csv[(csv["event_type"] == event_type) & (csv["mmsi"] == mmsi)]


@pytest.fixture(scope="module")
def two_nights(nights, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    state = out / "ais.duckdb"
    first, _ = scan(nights["day1"], out / "night1.csv", state)
    second, log2 = scan(nights["day2"], out / "night2.csv", state)
    return {"out": out, "state": state, "first": first, "second": second, "log2": log2}


def test_dark_period_across_midnight_is_measured_whole_once(two_nights) -> None:
    second = of(two_nights["second"], "dark_period", DARK)
    assert len(second) == 1
    row = second.iloc[0]
    start, end = pd.Timestamp(row["start_time"]), pd.Timestamp(row["end_time"])
    assert DAY1 + pd.Timedelta(hours=16) <= start <= DAY1 + pd.Timedelta(hours=19)
    assert DAY2 + pd.Timedelta(hours=8) <= end <= DAY2 + pd.Timedelta(hours=8, minutes=10)
    assert row["duration_h"] == pytest.approx((end - start).total_seconds() / 3600, abs=0.01)
    first = of(two_nights["first"], "dark_period", DARK)
    # if night 1 already reported it (open at the end of the data), night 2 continues that row
    assert set(first["event_id"]) <= set(second["event_id"])
    assert (row["status"] == "continuing") == (len(first) == 1)
    events = state_tables(two_nights["state"])["events"]
    dark = events[(events["event_type"] == "dark_period") & (events["mmsi"] == DARK)]
    assert len(dark) == 1 and dark["event_id"].iloc[0] == row["event_id"]


def test_name_change_at_midnight_is_found_from_yesterdays_name(two_nights) -> None:
    assert of(two_nights["first"], "identity_change", RENAMED).empty
    change = of(two_nights["second"], "identity_change", RENAMED)
    assert len(change) == 1
    assert "OCEAN GLORY" in change.iloc[0]["reason"] and "KUM SAN 2" in change.iloc[0]["reason"]
    assert change.iloc[0]["status"] == "new"


@pytest.mark.parametrize(("mmsi", "old", "new"), [(LATE, "HAI XING 9", "PU YANG 3"),
                                                   (SPARSE, "SEA STAR", "SEA MOON")])
def test_a_name_change_late_in_the_night_is_reported_that_night_and_not_again(
        two_nights, mmsi: int, old: str, new: str) -> None:
    # issue 15 changed this: one consistent static report is evidence, so the change is
    # reported on the night of the new name's first broadcast (it used to wait for more)
    change = of(two_nights["first"], "identity_change", mmsi)
    assert len(change) == 1 and change.iloc[0]["status"] == "new"
    assert old in change.iloc[0]["reason"] and new in change.iloc[0]["reason"]
    first = pd.Timestamp(change.iloc[0]["start_time"])
    assert first < DAY2 and of(two_nights["second"], "identity_change", mmsi).empty


def test_loitering_through_midnight_keeps_its_id_and_grows(two_nights) -> None:
    first = of(two_nights["first"], "loitering", LOITERER)
    second = of(two_nights["second"], "loitering", LOITERER)
    assert len(first) == 1 and len(second) == 1
    assert first.iloc[0]["event_id"] == second.iloc[0]["event_id"]
    assert second.iloc[0]["status"] == "continuing"
    assert second.iloc[0]["first_reported"] == first.iloc[0]["first_reported"]
    assert second.iloc[0]["duration_h"] > first.iloc[0]["duration_h"] + 6


def test_events_of_last_night_that_ended_are_not_repeated(two_nights) -> None:
    ended = two_nights["first"][two_nights["first"]["end_time"].fillna("") < "2026-01-05T22"]
    ended = ended[ended["is_open"] == False]  # noqa: E712
    assert not set(ended["event_id"]) & set(two_nights["second"]["event_id"])


def test_rerunning_a_night_changes_nothing(two_nights, nights) -> None:
    before = state_tables(two_nights["state"])
    again, log = scan(nights["day2"], two_nights["out"] / "night2-again.csv",
                      two_nights["state"])
    assert "already scanned" in log
    assert (two_nights["out"] / "night2.csv").read_bytes() == (
        two_nights["out"] / "night2-again.csv").read_bytes()
    after = state_tables(two_nights["state"])
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)


def test_back_filling_an_older_night_is_detected_and_counts_nothing_twice(
        two_nights, nights) -> None:
    before = state_tables(two_nights["state"])["events"]
    again, log = scan(nights["day1"], two_nights["out"] / "night1-again.csv",
                      two_nights["state"])
    assert "already scanned" in log
    assert (two_nights["out"] / "night1.csv").read_bytes() == (
        two_nights["out"] / "night1-again.csv").read_bytes()
    after = state_tables(two_nights["state"])["events"]
    pd.testing.assert_frame_equal(before, after)


def test_history_shows_both_names_and_the_events(two_nights) -> None:
    result = CliRunner().invoke(main, ["history", str(RENAMED), "--state",
                                       str(two_nights["state"])])
    assert result.exit_code == 0, result.output
    assert "OCEAN GLORY" in result.output and "KUM SAN 2" in result.output
    assert result.output.index("OCEAN GLORY") < result.output.index("KUM SAN 2")
    assert "identity_change" in result.output


def test_run_log_records_each_scan(two_nights) -> None:
    with State.open(two_nights["state"], read_only=True) as st:
        runs = st.runs()
    assert set(runs["status"]) == {"ok"}
    assert runs["flagged"].min() >= 1
    assert runs["versions"].str.contains("duckdb").all()
    assert runs["seconds"].str.contains("ingest").all()


def test_scan_without_state_writes_no_state(nights, tmp_path) -> None:
    result = CliRunner().invoke(main, ["scan", str(nights["day1"]), "-o",
                                       str(tmp_path / "f.csv"), "--no-state"])
    assert result.exit_code == 0, result.output
    assert not list(tmp_path.glob("*.duckdb"))
    assert (tmp_path / "ais-scan.log").read_text().count("stage=") >= 6


def test_second_scan_on_a_held_state_exits_4(nights, tmp_path) -> None:
    state = tmp_path / "held.duckdb"
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from ais.nightly.state import State; s = State.open(sys.argv[1]); "
        "print('held', flush=True); time.sleep(30)"), str(state)], stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(main, ["scan", str(nights["day1"]), "-o",
                                           str(tmp_path / "f.csv"), "--state", str(state)])
        assert result.exit_code == 4
        assert "in use by another scan" in result.output
        assert not (tmp_path / "f.csv").exists()
        log = (tmp_path / "ais-scan.log").read_text()
        assert re.search(r"run=[0-9a-f]{12} scan-failed exit=4 ", log), log
    finally:
        holder.kill()
        holder.wait()
    scan(nights["day1"], tmp_path / "f.csv", state)


# --- crash safety ---------------------------------------------------------------------------


def _killed_scan(path, out, state, after_s: float) -> int:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "ais.cli", "scan", str(path), "-o", str(out),
                             "--state", str(state), "-q"])
    time.sleep(after_s)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def _sigkill_then_rerun(nights, tmp_path, delays: list[float]) -> None:
    clean = tmp_path / "clean"
    reference, _ = scan(nights["day1"], clean / "night1.csv", clean / "s.duckdb")
    reference2, _ = scan(nights["day2"], clean / "night2.csv", clean / "s.duckdb")
    work = tmp_path / "work"
    scan(nights["day1"], work / "night1.csv", work / "s.duckdb")
    night1 = (work / "night1.csv").read_bytes()
    for delay in delays:
        _killed_scan(nights["day2"], work / "night2.csv", work / "s.duckdb", delay)
        assert (work / "night1.csv").read_bytes() == night1
        if (work / "night2.csv").exists():  # renamed into place before the kill: complete
            assert (work / "night2.csv").read_bytes() == (clean / "night2.csv").read_bytes()
        with State.open(work / "s.duckdb", read_only=True) as st:  # opens: not corrupt
            assert set(st.runs()["status"]) <= {"ok", "running", "interrupted"}
    _, log = scan(nights["day2"], work / "night2.csv", work / "s.duckdb")
    assert (work / "night2.csv").read_bytes() == (clean / "night2.csv").read_bytes()
    assert not list(work.glob(".*.tmp"))
    expected = state_tables(clean / "s.duckdb")
    for table, frame in state_tables(work / "s.duckdb").items():
        pd.testing.assert_frame_equal(frame, expected[table], obj=table)


def test_a_scan_killed_mid_run_leaves_the_previous_night_intact(nights, tmp_path) -> None:
    import random

    rng = random.Random()
    delays = [rng.uniform(0.5, 6.0) for _ in range(2)]
    _sigkill_then_rerun(nights, tmp_path, delays)


@pytest.mark.slow
def test_sigkill_at_many_points_never_loses_a_night(nights, tmp_path) -> None:
    _sigkill_then_rerun(nights, tmp_path, [0.3 + 0.6 * i for i in range(12)])


@pytest.mark.slow  # 5 s; the suite stays under 5 min on 2 cores
def test_rerunning_a_real_week_with_state_gives_the_same_csv(tmp_path) -> None:
    """GFW's sample has vessels loitering twice a few minutes apart: a re-run must not merge
    them into one (only events of earlier nights are continued)."""
    need(GFW)
    first, _ = scan(GFW, tmp_path / "a.csv", tmp_path / "s.duckdb", "--everywhere")
    second, log = scan(GFW, tmp_path / "b.csv", tmp_path / "s.duckdb", "--everywhere")
    assert "already scanned" in log
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert len(first) > 20  # 30 since #13 took harbour waits out (92 before)


def test_night_report_marks_continuing_events(two_nights) -> None:
    out = two_nights["out"]
    result = CliRunner().invoke(main, ["report", str(out / "night2.csv"), "-o",
                                       str(out / "night2.html"), "--state",
                                       str(two_nights["state"])])
    assert result.exit_code == 0, result.output
    html = (out / "night2.html").read_text()
    assert "continuing: first reported on the night of 2026-01-05" in html
    assert html.count("data:image/png;base64,") == len(two_nights["second"])


# --- what is carried ------------------------------------------------------------------------


def test_carry_is_each_vessels_recent_reporting_and_unfinished_events() -> None:
    from ais.nightly.carry import carry_out
    from ais.nightly.state import CarryConfig, Night
    from tests.conftest import ping_frame, tracks_of

    loiterer, stopped, silent = 412345671, 412345672, 412345673
    every_10_min = [DAY1 + pd.Timedelta(minutes=10 * i) for i in range(144)]
    rows = [(loiterer, t, 38.4, 124.6) for t in every_10_min]                  # all day
    rows += [(stopped, t, 38.5, 124.7) for t in every_10_min[:36]]             # until 06:00
    rows += [(silent, DAY1 - pd.Timedelta(days=9, minutes=m), 38.6, 124.8) for m in (0, 10)]
    tracks = tracks_of(ping_frame(rows))
    night = Night(DAY1, DAY1 + pd.Timedelta(hours=23, minutes=50))
    going_on = pd.DataFrame({
        "mmsi": [loiterer], "other_mmsi": pd.array([pd.NA], dtype="Int64"),
        "start_time": [DAY1 + pd.Timedelta(hours=12)], "end_time": [night.end],
        "is_open": [False]})

    carried = carry_out(tracks, {"loitering": going_on}, night, CarryConfig())

    def hours_of(mmsi: int) -> list[float]:
        times = carried.loc[carried["mmsi"] == mmsi, "timestamp"]
        return sorted(((times - DAY1).dt.total_seconds() / 3600).round(2))

    # the loiterer from 2 h before its event, the other from 3 h before its last ping; not
    # their first pings of the night: each kept one name, which its tail has (a lone ping at
    # 00:00 would be a gap of hours tomorrow; the first and last ping of each name are kept
    # for vessels that used several, see the sparse reporter's SEA STAR)
    assert hours_of(loiterer) == [round(10 + i / 6, 2) for i in range(84)]
    assert hours_of(stopped) == [round(2 + 5 / 6 + i / 6, 2) for i in range(19)]
    assert hours_of(silent) == []
    shuffled = carry_out(tracks.sample(frac=1, random_state=3), {"loitering": going_on},
                         night, CarryConfig())
    pd.testing.assert_frame_equal(carried, shuffled)


def test_an_unflagged_vessels_unfinished_candidate_carries_its_start_and_thinned_pings() -> None:
    """Two ships at anchor all day, each with a loitering candidate still going on at
    midnight; only one of them is in a flagged event. The flagged one carries every ping
    since its candidate began, the other its last 3 h whole and, before that, two pings
    every 30 minutes from its candidate's start, and every ping within an hour of that start
    (so tomorrow it starts at the same time: the detectors find a start from the half hour
    around it)."""
    from ais.nightly.carry import carry_out
    from ais.nightly.state import CarryConfig, Night
    from tests.conftest import ping_frame, tracks_of

    flagged_ship, anchored = 412345671, 412345672
    every_min = [DAY1 + pd.Timedelta(minutes=i) for i in range(24 * 60)]
    rows = [(m, t, 38.4, 124.6) for m in (flagged_ship, anchored) for t in every_min]
    tracks = tracks_of(ping_frame(rows))
    night = Night(DAY1, every_min[-1])
    going_on = pd.DataFrame({
        "mmsi": [flagged_ship, anchored], "other_mmsi": pd.array([pd.NA] * 2, dtype="Int64"),
        "start_time": [DAY1 + pd.Timedelta(hours=4)] * 2, "end_time": [night.end] * 2,
        "is_open": [True, True]})
    flagged = going_on.head(1)

    carried = carry_out(tracks, {"loitering": going_on}, night, CarryConfig(), flagged=flagged)
    whole = carry_out(tracks, {"loitering": going_on}, night, CarryConfig())

    def minutes_of(frame: pd.DataFrame, mmsi: int) -> pd.Series:
        times = frame.loc[frame["mmsi"] == mmsi, "timestamp"]
        return ((times - DAY1).dt.total_seconds() // 60).astype(int)

    assert list(minutes_of(carried, flagged_ship)) == list(minutes_of(whole, flagged_ship))
    thin = minutes_of(carried, anchored)
    assert len(thin) < len(minutes_of(whole, anchored)) / 3
    # from the candidate's start, less event_pad_h (2 h)
    assert thin.min() == minutes_of(whole, anchored).min() == 2 * 60
    tail = set(range(24 * 60 - 3 * 60, 24 * 60))
    assert tail <= set(thin)  # the last 3 h whole
    older = thin[(thin >= 120) & (thin < 21 * 60)]
    assert set(older // 30) == set(range(4, 42))  # every 30 minutes, none skipped
    assert set(range(3 * 60, 5 * 60 + 1)) <= set(thin)  # the start (04:00) +- 1 h whole
    assert not set(range(5 * 60 + 2, 5 * 60 + 29)) & set(thin)  # then thinned again


def test_a_night_without_usable_pings_is_logged_and_changes_nothing(nights, tmp_path) -> None:
    from tests.conftest import ping_frame

    junk = write_parquet(tmp_path / "junk.parquet", ping_frame(
        [(111111111, DAY1, 38.4, 124.6), (123456789, DAY1, 38.4, 124.6)]))
    state = tmp_path / "s.duckdb"
    empty, _ = scan(junk, tmp_path / "junk.csv", state)
    assert empty.empty
    _, log = scan(nights["day1"], tmp_path / "night1.csv", state)
    assert "back-filling" not in log and "already scanned" not in log
    with State.open(state, read_only=True) as st:
        runs = st.runs()
    assert list(runs["status"]) == ["ok", "ok"] and runs["night_start"].isna().iloc[0]


def null_typed(path) -> list[tuple[str, str]]:
    """The (table, column) pairs of a state typed DuckDB's NULL (no value fits in them)."""
    with State.open(path, read_only=True) as st:
        return [tuple(r) for r in st.con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND trim(data_type, '\"') = 'NULL' AND NOT internal ORDER BY ALL").fetchall()]


def renamed_pings_of_night_two(state) -> pd.DataFrame:
    """The stored pings of RENAMED's identity change, which night two reports."""
    with State.open(state, read_only=True) as st:
        event_id = st.events().query("event_type == 'identity_change' and mmsi == @RENAMED")[
            "event_id"].item()
        pings = st.event_pings([event_id])
    return pings[(pings["mmsi"] == RENAMED) & (pings["timestamp"] >= DAY2)]


def test_a_first_night_without_call_signs_does_not_stop_the_nights_after(nights,
                                                                          tmp_path) -> None:
    """Foreign data often lacks whole columns on some nights: night one has no call sign and
    no destination column at all, night two has both. Both nights are stored, and night
    two's events and pings carry its call signs."""
    day1 = pd.read_parquet(nights["day1"]).drop(columns="callsign")
    day2 = pd.read_parquet(nights["day2"]).assign(destination="NAMPO")
    state = tmp_path / "s.duckdb"
    scan(write_parquet(tmp_path / "day1.parquet", day1), tmp_path / "night1.csv", state)
    second, _ = scan(write_parquet(tmp_path / "day2.parquet", day2), tmp_path / "night2.csv",
                     state)
    assert null_typed(state) == []  # the columns with no value took the types they mean
    assert list(of(second, "identity_change", RENAMED)["callsign"]) == ["BQRT7"]
    assert set(renamed_pings_of_night_two(state)["callsign"]) == {"BQRT7"}
    with State.open(state, read_only=True) as st:
        assert list(st.runs()["status"]) == ["ok", "ok"]
        carried = st.con.execute(
            "SELECT DISTINCT callsign, destination FROM carry WHERE mmsi = ? AND night_start "
            "= (SELECT max(night_start) FROM carry) AND timestamp >= ?", [RENAMED, DAY2]
        ).fetchall()
    assert carried == [("BQRT7", "NAMPO")]


def test_a_state_with_columns_typed_null_is_read_and_repaired_by_the_next_night(
        nights, tmp_path) -> None:
    """An earlier ais typed NULL the columns that had no value on the night that created
    their table (no call sign, no destination): such a state is read as it is, and the next
    scan retypes them and stores its night, call signs included."""
    import duckdb

    state = tmp_path / "s.duckdb"
    first, _ = scan(nights["day1"], tmp_path / "night1.csv", state)
    con = duckdb.connect(str(state))  # as that ais would have written them
    for table, columns in (("carry", ("callsign", "destination", "callsign_norm")),
                           ("event_pings", ("callsign",)), ("partner_pings", ("callsign",))):
        nulls = ", ".join(f"NULL AS {c}" for c in columns)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({nulls}) "
                    f"FROM {table}")
    con.close()
    assert null_typed(state) == [("carry", "callsign"), ("carry", "callsign_norm"),
                                 ("carry", "destination"), ("event_pings", "callsign"),
                                 ("partner_pings", "callsign")]
    for args in (["history", str(RENAMED)],
                 ["show", first["event_id"].iloc[0], "--png", str(tmp_path / "e.png")]):
        result = CliRunner().invoke(main, [*args, "--state", str(state)])
        assert result.exit_code == 0, result.output
    assert len(null_typed(state)) == 5  # reading changed nothing
    second, _ = scan(nights["day2"], tmp_path / "night2.csv", state)
    assert null_typed(state) == []
    assert list(of(second, "identity_change", RENAMED)["callsign"]) == ["BQRT7"]
    assert set(renamed_pings_of_night_two(state)["callsign"]) == {"BQRT7"}
    with State.open(state, read_only=True) as st:
        assert list(st.runs()["status"]) == ["ok", "ok"]


def test_stored_event_pings_are_thinned_but_keep_both_sides_of_a_gap() -> None:
    from ais.nightly.carry import thin_pings

    times = [DAY1 + pd.Timedelta(seconds=10 * i) for i in range(360)]          # 1 h at 10 s
    times += [DAY1 + pd.Timedelta(hours=3, seconds=10 * i) for i in range(360)]  # after a gap
    pings = pd.DataFrame({"event_id": "DRK-x", "mmsi": 412345671,
                          "timestamp": pd.to_datetime(times, utc=True), "lat": 38.4,
                          "lon": 124.6})
    thin = thin_pings(pings)
    assert len(thin) <= 2 * 120
    assert {times[359], times[360], times[0], times[-1]} <= set(thin["timestamp"])


def test_old_carries_are_pruned(tmp_path) -> None:
    from ais.nightly.state import Night

    with State.open(tmp_path / "s.duckdb") as st:
        for day in (0, 5, 30):
            start = DAY1 + pd.Timedelta(days=day)
            run_id, _ = st.begin_run(["x"], "out.csv")
            carry = pd.DataFrame({"mmsi": [412345671], "timestamp": [start]})
            st.commit_night(run_id, Night(start, start + pd.Timedelta(hours=23)), carry=carry,
                            events=pd.DataFrame(), event_rows=[], event_pings=pd.DataFrame(),
                            identities=None, run={
                                "exit_code": 0, "carried_from": None, "rows_in": 1,
                                "rows_out": 1, "carried_pings": 0, "candidates": {},
                                "flagged": 0, "new": 0, "continued": 0, "seconds": {},
                                "versions": {}, "notes": []})
        nights = st.con.execute("SELECT DISTINCT night_start FROM carry").df()["night_start"]
    assert list(nights) == [DAY1 + pd.Timedelta(days=30)]


@pytest.mark.slow
def test_a_real_week_night_by_night_finds_what_one_scan_of_the_week_finds(tmp_path) -> None:
    """GFW's 2021-01-01..09, cut at midnight and scanned night by night with the state, gives
    the events of one scan over the nine days, with the same ids (measured: 68 of 70; two
    dark periods of a sparse vessel depend on its reporting rate over the whole period)."""
    need(GFW)
    pings = pd.read_parquet(GFW)
    pings = pings[pings["ts"] >= pd.Timestamp("2021-01-01", tz="UTC")]
    day = pings["ts"].dt.floor("D")
    nightly = []
    for d, part in pings.groupby(day):
        path = write_parquet(tmp_path / f"{d:%Y%m%d}.parquet", part)
        csv, _ = scan(path, tmp_path / f"{d:%Y%m%d}.csv", tmp_path / "s.duckdb", "--everywhere")
        nightly.append(csv)
    whole, _ = scan(write_parquet(tmp_path / "all.parquet", pings), tmp_path / "all.csv",
                    tmp_path / "other.duckdb", "--everywhere")
    seen = pd.concat(nightly).drop_duplicates("event_id", keep="last")
    found = set(seen["event_id"]) & set(whole["event_id"])
    assert len(found) >= 0.95 * len(whole)
    for event_type in ("loitering", "meetup", "identity_change"):
        wanted = set(whole.loc[whole["event_type"] == event_type, "event_id"])
        assert wanted <= found, event_type
    assert len(seen) <= len(whole) + 2


# --- a long input, one day at a time --------------------------------------------------------


def test_by_day_scan_of_two_days_equals_the_two_nightly_scans(nights, two_nights,
                                                              tmp_path) -> None:
    both = pd.concat([pd.read_parquet(nights["day1"]), pd.read_parquet(nights["day2"])])
    path = write_parquet(tmp_path / "both.parquet", both)
    result = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "f.csv"),
                                       "--by-day", "--no-state"])
    assert result.exit_code == 0, result.output
    assert "scanned 2 days one at a time" in result.output
    by_day = pd.read_csv(tmp_path / "f.csv")
    nightly = pd.concat([two_nights["first"], two_nights["second"]]).drop_duplicates(
        "event_id", keep="last")
    assert sorted(by_day["event_id"]) == sorted(nightly["event_id"])
    assert (by_day["status"] == "new").all()
    assert list(by_day["anomaly_score"]) == sorted(by_day["anomaly_score"], reverse=True)
    assert not list(tmp_path.glob("*.duckdb"))


def test_by_day_reads_only_each_days_rows(nights) -> None:
    from ais.inputs.ingest import days_with_data, ingest

    assert days_with_data([nights["day1"], nights["day2"]]) == [DAY1, DAY2]
    day = ingest([nights["day1"], nights["day2"]],
                 window=(DAY2.isoformat(), (DAY2 + pd.Timedelta(days=1)).isoformat()))
    assert day.report.rows_in == len(pd.read_parquet(nights["day2"]))
    assert day.pings["timestamp"].min() >= DAY2


def test_an_input_too_big_for_the_memory_limit_is_scanned_day_by_day(nights, tmp_path,
                                                                      monkeypatch) -> None:
    import ais.nightly.byday

    # 4,233 rows: 25 MB > 20 MB; each day alone (about 2,100 rows, 13 MB) fits
    monkeypatch.setattr(ais.nightly.byday, "BYTES_PER_PING", 6_000)
    monkeypatch.setattr(ais.nightly.byday, "BASE_BYTES", 0)
    both = pd.concat([pd.read_parquet(nights["day1"]), pd.read_parquet(nights["day2"])])
    path = write_parquet(tmp_path / "both.parquet", both)
    by_day = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "a.csv"),
                                       "--by-day", "--no-state"])
    assert by_day.exit_code == 0, by_day.output
    small = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "b.csv"),
                                      "--no-state", "--memory-limit", "20MB"])
    assert small.exit_code == 0, small.output
    assert f"the input holds {len(both):,} rows" in small.output
    assert "over --memory-limit 20MB: scanned one UTC day at a time" in small.output
    assert "by-day reason=" in (tmp_path / "ais-scan.log").read_text()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    whole = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "c.csv"),
                                      "--no-state"])
    assert "one UTC day at a time" not in whole.output


def test_stored_event_pings_are_bounded_per_vessel_and_event_whatever_the_rate() -> None:
    """A day-long event of a 10-second feed keeps at most 2 * (100 + 1) pings per vessel,
    evenly spread, with its first and last ping, both ends of its gap and its rename."""
    from ais.nightly.carry import THIN_BUCKETS, thin_pings

    times = [DAY1 + pd.Timedelta(seconds=10 * i) for i in range(3600)]             # 10 h
    times += [DAY1 + pd.Timedelta(hours=12, seconds=10 * i) for i in range(4320)]  # 12 h
    names = ["OLD NAME"] * 5000 + ["NEW NAME"] * (len(times) - 5000)
    one = pd.DataFrame({"event_id": "LOI-x", "mmsi": 412345671,
                        "timestamp": pd.to_datetime(times, utc=True), "lat": 38.4,
                        "lon": 124.6, "name": names})
    other = one.assign(mmsi=412345672, name="PARTNER")
    thin = thin_pings(pd.concat([one, other], ignore_index=True))
    for _, mine in thin.groupby("mmsi"):
        assert len(mine) <= 2 * (THIN_BUCKETS + 1)
        kept = set(mine["timestamp"])
        assert {times[0], times[-1], times[3599], times[3600]} <= kept
        hours = mine["timestamp"].dt.floor("h").nunique()
        assert hours >= 22  # evenly spread: every hour with pings keeps some
    renamed = thin[thin["mmsi"] == 412345671]
    assert {times[4999], times[5000]} <= set(renamed["timestamp"])


def test_days_too_big_for_the_memory_limit_are_scanned_in_windows_of_hours(nights, tmp_path,
                                                                           monkeypatch) -> None:
    """A day that alone is over --memory-limit cannot go by day: the scan cuts it into
    windows of whole hours through the state, says so, and the dark vessel's gap across
    midnight and the loiterer's drift still come out whole, with the ids of a scan by day."""
    import ais.nightly.byday

    monkeypatch.setattr(ais.nightly.byday, "BYTES_PER_PING", 20_000)  # a day: ~2,100 rows, 42 MB
    monkeypatch.setattr(ais.nightly.byday, "WINDOW_BYTES_PER_PING", 20_000)
    monkeypatch.setattr(ais.nightly.byday, "BASE_BYTES", 0)
    both = pd.concat([pd.read_parquet(nights["day1"]), pd.read_parquet(nights["day2"])])
    path = write_parquet(tmp_path / "both.parquet", both)
    small = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "b.csv"),
                                      "--no-state", "--memory-limit", "20MB"])
    assert small.exit_code == 0, small.output
    from ais.inputs.ingest import rows_by_day

    per_day = rows_by_day([path])
    cuts = [ais.nightly.byday.cuts_for(int(n), "20MB") for n in per_day]
    assert min(cuts) >= 2
    # each window also holds the 3 h carried into it: a day of 48 MB in 20 MB takes 6 h
    # windows ((6 + 3) / 24 * 48 MB = 18 MB), not the 8 h its size alone would say
    assert [ais.nightly.byday.cuts_for(2_400, "20MB", carry_h=h) for h in (0, 3)] == [3, 4]
    assert f"scanned {sum(cuts)} windows one at a time" in small.output
    for (day, n), k in zip(per_day.items(), cuts, strict=True):
        assert (f"{day:%Y-%m-%d} ({int(n):,} rows, about {int(n) * 20_000 / 1e6:,.0f} MB) "
                f"in {k} windows of {24 // k} h") in small.output
    by_day = CliRunner().invoke(main, ["scan", str(path), "-o", str(tmp_path / "a.csv"),
                                       "--no-state", "--by-day"])
    assert by_day.exit_code == 0 and "windows of" not in by_day.output
    cut, days = pd.read_csv(tmp_path / "b.csv"), pd.read_csv(tmp_path / "a.csv")

    def story(frame: pd.DataFrame, kind: str, mmsi: int) -> list[tuple]:
        rows = frame[(frame["event_type"] == kind) & (frame["mmsi"] == mmsi)]
        return list(rows[["event_id", "start_time", "end_time"]].itertuples(index=False))

    assert len(story(days, "dark_period", DARK)) == 1
    assert story(cut, "dark_period", DARK) == story(days, "dark_period", DARK)
    assert len(story(days, "loitering", LOITERER)) == 1
    assert story(cut, "loitering", LOITERER) == story(days, "loitering", LOITERER)


def test_a_long_scan_names_each_spoofing_sign_once_in_its_log() -> None:
    """Eight windows that each saw vessels reporting inland give the cron log one line for
    that sign (the last window's, saying seven more saw it), not eight."""
    from ais.nightly.byday import _one_line_per_sign

    inland = [f"{n} MMSI(s) reported positions inland (spoofed or faulty GPS): 355319083 "
              f"({n})" for n in (49, 411, 468, 383, 242, 354, 451, 432)]
    shared = "2 MMSI(s) are broadcast by more than one ship at once (shared or spoofed MMSI): 1"
    notes = _one_line_per_sign([inland[0], "scored with the shipped default models",
                                *inland[1:], shared], "window")
    assert notes == ["scored with the shipped default models",
                     inland[-1] + " (the last window that showed it; 7 earlier window(s) did "
                     "too)", shared]
