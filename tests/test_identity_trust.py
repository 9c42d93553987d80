"""Trust on foreign data (issue 15): irregular MMSIs kept and named, duplicates merged,
names compared as people read them, single static reports, gear set aside, dated chains,
two transponders on one hull, and identity scores that rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import identity_change
from ais.inputs.ingest import ingest, ingest_frame
from ais.inputs.mmsi import flag_label
from ais.synth.world import vessel

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
    from ais.synth.world import Scenario

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


def test_a_class_a_and_a_class_b_set_of_one_moored_yacht_are_one_hull():
    # MarineCadastre 2022-01-03, GRAN FINALE: the class-A set reports 00:02-00:11 and once at
    # 23:59, the class-B set at 00:20 and 00:21, 25 m away: it was a "handover" of -0.3 h
    rows = [(377039001, "2022-01-03T00:02:38", 33.61814, -117.92553),
            (377039001, "2022-01-03T00:05:37", 33.61813, -117.92554),
            (377039001, "2022-01-03T00:08:37", 33.61813, -117.92553),
            (377039001, "2022-01-03T00:11:37", 33.61811, -117.92553),
            (377039000, "2022-01-03T00:20:13", 33.61813, -117.92525),
            (377039000, "2022-01-03T00:21:43", 33.61811, -117.92527),
            (377039001, "2022-01-03T23:59:37", 33.61811, -117.92553)]
    p = pd.DataFrame(rows, columns=["mmsi", "timestamp", "lat", "lon"]).assign(
        name="GRAN FINALE", callsign="J8Y2969", imo="IMO9022180")
    events = identity_change.detect(tracks_of(p), CFG)
    assert len(events) == 1 and events["two_transponders"].item() == 1
    assert (events["end_time"] >= events["start_time"]).all()


# ------------------------------------------------------------------ never a negative duration

def test_no_row_of_any_type_ends_before_it_starts(tmp_path):
    from ais.pipeline import run_scan
    from ais.synth.world import generate

    pings, _ = generate(4415, days=1, n_background=30, events_per_type=2)
    result = run_scan([write_parquet(tmp_path / "w.parquet", pings)], tmp_path / "f.csv",
                      Config(everywhere=True))
    ev = result.events
    assert set(ev["event_type"]) >= {"identity_change", "loitering", "meetup", "dark_period"}
    closed = ev["end_time"].notna()
    assert (ev.loc[closed, "end_time"] >= ev.loc[closed, "start_time"]).all()
    assert (ev["duration_h"] >= 0).all()


def test_marinecadastre_has_no_row_ending_before_it_starts(tmp_path):
    from ais.pipeline import run_scan

    from .conftest import MARINECADASTRE, need

    result = run_scan([need(MARINECADASTRE)], tmp_path / "f.csv", Config(everywhere=True))
    ev = result.events
    assert len(ev)
    closed = ev["end_time"].notna()
    assert (ev.loc[closed, "end_time"] >= ev.loc[closed, "start_time"]).all()
    assert (ev["duration_h"] >= 0).all()


# ------------------------------------------------------------------ 8. a score that ranks

def test_identity_changes_rank_by_how_rare_they_are(tmp_path):
    from ais.pipeline import run_scan

    far = vessel(352123456, "SEA STAR", callsign="3EAB1", imo="9074729", ship_type="tanker",
                 at=(38.30, 124.40), report_every_s=120)
    far.sail(to=(38.2, 124.3), hours=3).rename(name="KUM SAN 7", callsign="3EZZ9")
    far.sail(to=(38.1, 124.2), hours=3)
    near = vessel(412123457, "LURONGYU0788", ship_type="fishing", at=(38.72, 125.38),
                  report_every_s=120)  # moored in Nampo
    near.moor(hours=3).rename(name="LURONGYU50788").moor(hours=3)
    result = run_scan([write_parquet(tmp_path / "r.parquet",
                                     pd.concat([far.pings(), near.pings()]))],
                      tmp_path / "f.csv", Config(everywhere=True))
    ev = result.events[result.events["event_type"] == "identity_change"].set_index("mmsi")
    assert ev.loc[352123456, "anomaly_score"] >= 0.99
    assert 0.5 < ev.loc[412123457, "anomaly_score"] < ev.loc[352123456, "anomaly_score"]


def test_every_true_rename_of_a_world_is_in_the_top_half_of_the_csv(tmp_path):
    from ais.judging.evaluate import match
    from ais.pipeline import run_scan
    from ais.synth.world import generate

    pings, truth = generate(4416, days=1, n_background=40, events_per_type=3)
    result = run_scan([write_parquet(tmp_path / "w.parquet", pings)], tmp_path / "f.csv",
                      Config())
    csv = pd.read_csv(tmp_path / "f.csv")
    renames = truth[(truth["kind"] == "anomaly") & (truth["event_type"] == "identity_change")]
    hit = match(csv, renames.reset_index(drop=True))
    found = np.flatnonzero(hit >= 0)
    assert len(set(hit[found])) == len(renames)
    assert found.max() < len(csv) / 2, csv[["event_type", "anomaly_score"]].to_string()
    assert len(result.events)


# ------------------------------------------------------------------ 9. the generator

def test_the_generated_world_holds_the_identity_games_with_their_truth():
    from ais.synth.world import generate

    pings, truth = generate(4417, days=1, n_background=20, events_per_type=1)
    notes = truth["note"]
    fleet = truth[notes.str.contains("unallocated MID 150")]
    assert len(fleet) >= 6 and (fleet["kind"] == "anomaly").all()
    assert (truth["event_type"] == "fishing_gear").sum() >= 6
    assert (truth["event_type"] == "truncated_name").any()
    yacht = truth[notes.str.contains("two transponders")]
    assert len(yacht) == 1 and pd.notna(yacht["other_mmsi"].item())
    fleet_pings = pings[pings["mmsi"].astype(str).str.startswith("150")]
    dup = fleet_pings[fleet_pings.duplicated(["mmsi", "timestamp"], keep=False)]
    assert len(dup) and (dup.groupby(["mmsi", "timestamp"])["name"].count() == 1).all()
    # one rename is heard in a single static report: its truth ends at that report
    counts = [(fleet_pings["name"] == n.split(" -> ")[1].split(" (")[0]).sum()
              for n in fleet["note"]]
    assert 1 in counts


@pytest.mark.parametrize("name, ship_type, is_gear", [
    pytest.param("NO BUOYS", "pleasure", False, id="yacht-named-after-buoys"),
    pytest.param("FLOAT ON", "pleasure", False, id="yacht-named-float-on"),
    pytest.param("BIAO 00451-284%", "fishing", True, id="battery-level-whatever-the-type"),
    pytest.param("ZHE LING YU NET 3", None, True, id="gear-word-and-no-type"),
])
def test_gear_is_told_by_its_name_only_where_it_declares_no_vessel_type(name, ship_type,
                                                                        is_gear):
    from ais.tracking import gear

    v = vessel(412700001, name, ship_type=ship_type, at=SEA, report_every_s=300)
    v.drift(hours=3, speed_kn=0.3)
    assert (412700001 in set(gear.find(tracks_of(v))["mmsi"])) == is_gear
