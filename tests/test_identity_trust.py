"""Trust on foreign data (issue 15): irregular MMSIs kept and named, duplicates merged,
names compared as people read them, single static reports, gear set aside, dated chains,
two transponders on one hull, and identity scores that rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import identity_change
from ais.ingest import ingest, ingest_frame
from ais.mmsi import flag_label
from ais.synth import vessel

from .conftest import tracks_of, write_parquet

CFG = Config()
SEA = (38.30, 124.60)


def rows(mmsi, n=4, **cols):
    frame = {"mmsi": [mmsi] * n,
             "timestamp": pd.date_range("2026-01-05", periods=n, freq="10min", tz="UTC"),
             "lat": np.linspace(38.5, 38.6, n), "lon": np.linspace(124.9, 125.0, n)}
    frame.update(cols)
    return pd.DataFrame(frame)


# ------------------------------------------------------------------ 1. suspicious MMSIs stay

@pytest.mark.parametrize("mmsi, label", [
    pytest.param(150123456, "unallocated MID 150", id="unallocated-mid-150"),
    pytest.param(12345678, "8 digits", id="eight-digits"),
    pytest.param(2440123, "coast-station form 00MID", id="coast-station-pattern"),
    pytest.param(412123456, "China", id="allocated-mid"),
])
def test_irregular_mmsis_are_kept_and_named_in_the_flag(tmp_path, mmsi, label):
    got = ingest([write_parquet(tmp_path / "m.parquet", rows(mmsi))])
    assert got.pings["mmsi"].unique().tolist() == [mmsi]
    assert got.report.rows_dropped == 0
    assert label in flag_label(pd.Series([mmsi])).iloc[0]


@pytest.mark.parametrize("mmsi, reason", [
    pytest.param(992351234, "not_a_ship_mmsi", id="aid-to-navigation"),
    pytest.param(111232506, "not_a_ship_mmsi", id="sar-aircraft"),
    pytest.param(972123456, "not_a_ship_mmsi", id="man-overboard"),
    pytest.param(0, "invalid_mmsi", id="zero"),
    pytest.param(123456789, "test_or_default_mmsi", id="test-number"),
])
def test_only_what_cannot_be_a_vessel_is_dropped_and_counted(tmp_path, mmsi, reason):
    got = ingest([write_parquet(tmp_path / "m.parquet", rows(mmsi))])
    assert got.pings.empty
    assert got.report.dropped[reason] == 4


# ------------------------------------------------------------------ 2. duplicates merge

def test_duplicate_mmsi_time_keeps_the_name_that_only_one_row_carries():
    # a position report and a static report joined at the same second: the name is on the
    # row whose position sorts last
    frame = rows(412000111, n=2, name=[None, None])
    dup = frame.iloc[[1]].assign(lat=frame["lat"].iloc[1] + 0.0001, name="LIAO YU 88",
                                 callsign="BZXY2")
    got = ingest_frame(pd.concat([frame, dup], ignore_index=True)).pings
    assert len(got) == 2
    last = got.iloc[-1]
    assert last["name"] == "LIAO YU 88" and last["callsign"] == "BZXY2"
    assert last["lat"] == pytest.approx(frame["lat"].iloc[1])  # the position of one row


# ------------------------------------------------------------------ 3. names as people read them

def ship(mmsi: int = 412345678, name: str | None = "JIANGSUTUO2200", callsign=None, imo=None,
         every: float = 120):
    return vessel(mmsi, name, callsign=callsign, imo=imo, ship_type="fishing", at=SEA,
                  report_every_s=every, seed=mmsi)


@pytest.mark.parametrize("short", [
    pytest.param("JI", id="cut-at-the-end"),
    pytest.param("2200", id="cut-at-the-start"),
    pytest.param("JIANGSU TUO 2200@@@@@@BL", id="padding-and-spacing"),
    pytest.param("Jiangsutuo2200", id="re-cased"),
])
def test_a_name_cut_short_or_respelled_is_not_a_rename(short):
    v = ship()
    for _ in range(3):  # back and forth, hours each
        v.sail(to=(38.0, 124.0), hours=1.5).rename(name=short)
        v.sail(to=(38.3, 124.6), hours=1.5).rename(name="JIANGSUTUO2200")
    assert identity_change.detect(tracks_of(v), CFG).empty


def test_a_longer_number_is_a_new_name_not_a_cut_short_one():
    v = ship(name="LIAO YU 1")
    v.sail(to=(38.0, 124.0), hours=2).rename(name="LIAO YU 12")
    v.sail(to=(38.3, 124.6), hours=2)
    events = identity_change.detect(tracks_of(v), CFG)
    assert events["name_after"].tolist() == ["LIAO YU 12"]


def test_a_rename_is_dated_at_the_new_names_first_broadcast():
    v = ship(name="DONGFANGXING28")
    v.sail(to=(38.0, 124.0), hours=2).dark(hours=20).rename(name="LIAO DA ZHONG 25027")
    v.sail(to=(38.3, 124.6), hours=2)
    tracks = tracks_of(v)
    first_new = tracks.loc[tracks["name"] == "LIAO DA ZHONG 25027", "timestamp"].min()
    ev = identity_change.detect(tracks, CFG).iloc[0]
    assert ev["start_time"] == first_new and ev["end_time"] >= ev["start_time"]


# ------------------------------------------------------------------ 4. one static report

def static_only(v, every_h: float = 6.0) -> pd.DataFrame:
    """Pings whose identity fields are only on a static report every ``every_h`` hours (and
    not on the position reports), like a fleet that sends type 5/24 rarely."""
    p = v.pings()
    hours = (p["timestamp"] - p["timestamp"].iloc[0]).dt.total_seconds() / 3600
    static = np.r_[True, np.diff(np.floor(hours / every_h)) > 0]
    for col in ("name", "callsign", "imo"):
        p[col] = p[col].where(static, None)
    return p


def test_a_name_broadcast_once_is_a_rename_dated_at_that_report():
    v = ship(name="LU RONG YU 1", callsign="BZAB1")
    v.sail(to=(38.0, 124.0), hours=11.5).rename(name="ZHE DAI YU 8")
    v.sail(to=(38.3, 124.6), hours=4)  # one static report with the new name, then the end
    p = static_only(v)
    once = p.loc[p["name"] == "ZHE DAI YU 8", "timestamp"]
    assert len(once) == 1
    events = identity_change.detect(tracks_of(p), CFG)
    assert len(events) == 1
    assert events["name_after"].item() == "ZHE DAI YU 8"
    assert events["start_time"].item() == once.item()


@pytest.mark.parametrize("garbled, field", [
    pytest.param("SE#?Q%", "name", id="name-of-symbols"),
    pytest.param("L;OI3CL", "callsign", id="call-sign-with-punctuation"),
    pytest.param("9074728", "imo", id="imo-failing-its-check-digit"),
])
def test_a_garbled_one_off_identity_is_not_a_change(garbled, field):
    v = ship(name="SEA STAR", callsign="BZAB1", imo="9074729")
    v.sail(to=(38.0, 124.0), hours=6)
    p = v.pings()
    p.loc[p.index[-1], field] = garbled  # the last report only: nothing to return to
    assert identity_change.detect(tracks_of(p), CFG).empty


def test_a_brief_name_that_reverts_minutes_later_is_not_a_rename():
    v = ship(name="KORYO MARU NO38", every=60)
    v.sail(to=(38.0, 124.0), hours=4).rename(name="KORYO C")
    v.sail(to=(38.0, 124.1), hours=0.05).rename(name="KORYO MARU NO38")
    v.sail(to=(38.3, 124.6), hours=4)
    assert identity_change.detect(tracks_of(v), CFG).empty


# ------------------------------------------------------------------ 6. chains are dated

def test_every_rename_of_a_chain_is_its_own_dated_row_and_returns_are_not_new():
    v = ship(name="HAI XING 1")
    for name in ("PU YANG 3", "KUM SAN 2", "HAI XING 1", "PU YANG 3", "ASIA BRIDGE"):
        v.sail(to=(38.0, 124.0), hours=2).rename(name=name)
    v.sail(to=(38.3, 124.6), hours=2)
    tracks = tracks_of(v)
    events = identity_change.detect(tracks, CFG).sort_values("start_time")
    assert events["name_after"].tolist() == ["PU YANG 3", "KUM SAN 2", "ASIA BRIDGE"]
    firsts = [tracks.loc[tracks["name"] == n, "timestamp"].min() for n in events["name_after"]]
    assert events["start_time"].tolist() == firsts
    assert "rename 3 of 3 in this track" in events["context"].iloc[-1]
    assert "HAI XING 1 -> PU YANG 3 -> KUM SAN 2 -> ASIA BRIDGE" in events["context"].iloc[-1]


# ------------------------------------------------------------------ 7. two transponders

def test_two_mmsis_of_one_yacht_reporting_together_are_one_hull_not_a_handover():
    a = ship(mmsi=367123451, name="SEA BREEZE", callsign="WDA1234")
    a.sail(to=(38.0, 124.0), hours=3)
    b = a.pings().assign(mmsi=367123452, timestamp=lambda p: p["timestamp"]
                         + pd.Timedelta(seconds=20), lat=lambda p: p["lat"] + 0.0002)
    b = b.iloc[5:]  # the second transponder starts a little later
    events = identity_change.detect(tracks_of(a.pings(), b), CFG)
    assert len(events) == 1
    ev = events.iloc[0]
    assert ev["two_transponders"] == 1 and "two transponders" in ev["context"]
    assert {ev["mmsi"], ev["other_mmsi"]} == {367123451, 367123452}
    assert ev["end_time"] >= ev["start_time"] and ev["duration_h"] >= 0


# ------------------------------------------------------------------ 5. gear is not a vessel

def fleet_with_gear() -> tuple[pd.DataFrame, list[int]]:
    """A trawler drifting at sea beside three of its net buoys all day: a battery-level name
    that changes every few hours, an ITU 98MID gear MMSI, and a tiny class-B hull."""
    from ais.synth import Scenario

    sc = Scenario(seed=15, report_every_s=300)
    start = pd.Timestamp("2026-01-05T00:00Z")
    boat = sc.vessel(412600001, "LU RONG YU 6", ship_type="fishing", start=start, at=SEA)
    boat.drift(hours=20, speed_kn=0.4)
    levels = sc.vessel(150600002, "IOAN JAYA-B-89%", ship_type=None, start=start,
                       at=(SEA[0] + 0.001, SEA[1]))
    for pct in (88, 87, 86, 85):
        levels.drift(hours=4, speed_kn=0.4).rename(name=f"IOAN JAYA-B-{pct}%")
    levels.drift(hours=4, speed_kn=0.4)
    sc.vessel(984121234, "LU RONG YU 6-1", ship_type=None, start=start,
              at=(SEA[0], SEA[1] + 0.001)).drift(hours=20, speed_kn=0.4)
    sc.vessel(412600004, "LRY6 B", ship_type=None, start=start,
              at=(SEA[0] - 0.001, SEA[1])).drift(hours=20, speed_kn=0.4)
    p = sc.pings()
    p["length"] = np.where(p["mmsi"] == 412600004, 2.0, np.nan)
    p["width"] = np.where(p["mmsi"] == 412600004, 1.0, np.nan)
    return p, [150600002, 984121234, 412600004]


def test_gear_buoys_beside_their_boat_are_set_aside_and_counted(tmp_path):
    from ais.pipeline import run_scan

    pings, gear = fleet_with_gear()
    result = run_scan([write_parquet(tmp_path / "g.parquet", pings)], tmp_path / "f.csv",
                      Config(everywhere=True))
    for event_type in ("identity_change", "meetup", "loitering"):
        ev = result.events
        if len(ev):
            ev = ev[ev["event_type"] == event_type]
            involved = set(ev["mmsi"]) | set(pd.to_numeric(ev["other_mmsi"]).dropna())
            assert not involved & set(gear), (event_type, ev["reason"].tolist())
    line = next(n for n in result.notes if "fishing-gear" in n)
    assert line.startswith("set aside 3 fishing-gear/buoy MMSI(s)")
