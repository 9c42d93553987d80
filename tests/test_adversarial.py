"""Adversarial AIS: ships that lie in their transmissions. Positions on land, teleports, two
ships on one MMSI, a name a hour, a vessel meeting itself, one timestamp at two places. None
may crash the scan or flood the list; where the lie is itself a signal (spoofing, a shared
MMSI) it shows in the vessel's events and in the scan's summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ais.cli import main
from ais.config import Config
from ais.geography import land
from ais.synth.world import Scenario

from .conftest import FIXTURES, write_parquet

START = pd.Timestamp("2026-01-05T00:00Z")
SEA = (38.40, 124.80)            # open water in Korea Bay, ~50 km west of Nampo
PYONGYANG = (39.03, 125.75)      # ~45 km inland from Nampo
SARIWON = (38.51, 125.76)        # inland town south-east of Nampo
DPRK, FOREIGN = 445123917, 352001234


def neighbours(sc: Scenario, n: int = 3) -> None:
    """Honest vessels drifting at sea all day: they make the sea look covered."""
    for i in range(n):
        sc.vessel(412100000 + i, f"NEIGHBOUR {i}", start=START,
                  at=(38.30 + 0.05 * i, 124.60 + 0.05 * i)).drift(hours=24, speed_kn=0.3)


def all_day(v, a: tuple[float, float], b: tuple[float, float], speed_kn: float = 8.0):
    """Sail back and forth between a and b until the end of the day (no silence to explain)."""
    while v.clock < START + pd.Timedelta(hours=23):
        v.sail(to=b, speed_kn=speed_kn)
        a, b = b, a
    return v


def met_at_sea(seed: int, at: tuple[float, float] = SEA) -> tuple[Scenario, object, object]:
    """A DPRK tanker meets a foreign tanker at sea for 6 h; both sail on all day."""
    sc = Scenario(seed=seed, report_every_s=300)
    neighbours(sc)
    a = sc.vessel(DPRK, "KUM SAN 3", ship_type="tanker", start=START, at=(38.2, 124.5))
    b = sc.vessel(FOREIGN, "SEA STAR", ship_type="tanker", start=START, at=(38.6, 124.6))
    sc.meetup(a, b, at=at, hours=6, distance_m=100)
    all_day(a, (38.2, 124.5), (38.45, 125.0))
    all_day(b, (38.6, 124.6), (38.3, 124.3))
    return sc, a, b


def scan(tmp_path, pings: pd.DataFrame, *extra: str) -> tuple[pd.DataFrame, str]:
    tmp_path = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    path = write_parquet(tmp_path / "in.parquet", pings)
    out = tmp_path / "flagged.csv"
    result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out), "--no-state",
                                       "--log", str(tmp_path / "scan.log"), *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out), result.output


def of(csv: pd.DataFrame, mmsi: int) -> pd.DataFrame:
    return csv[(csv["mmsi"] == mmsi) | (csv["other_mmsi"] == mmsi)]


# ---------------------------------------------------------------- the land mask itself

@pytest.mark.parametrize("where, lat, lon", [
    ("Nampo port (World Port Index)", 38.7167, 125.4000),
    ("Nampo anchorage 38-45N 125-20E", 38.75, 125.3333),
    ("Nampo anchorage 38-40N 125-25E", 38.6667, 125.4167),
    ("the channel between them and the port", 38.7325, 125.3609),
    ("Taedong estuary at the West Sea Barrage", 38.70, 125.25),
    ("Najin port", 42.2333, 130.30),
    ("Najin outer anchorage", 42.20, 130.35),
    ("Korea Bay", 38.40, 124.80),
    ("the island of Cho-do (land, but small)", 38.53, 124.84),
])
def test_ports_anchorages_and_estuaries_are_never_called_inland(where, lat, lon):
    assert not land.inland_outside_places(np.array([lat]), np.array([lon]), Config())[0], where


@pytest.mark.parametrize("where, lat, lon", [
    ("Pyongyang", *PYONGYANG), ("Sariwon", *SARIWON), ("inland Rason", 42.40, 130.10)])
def test_towns_far_inland_in_the_watch_areas_are_inland(where, lat, lon):
    assert land.inland_outside_places(np.array([lat]), np.array([lon]), Config())[0], where


def test_the_honest_fixture_days_report_nothing_inland():
    for name in ("nampo_day", "najin_day", "quickstart"):
        pings = pd.read_parquet(FIXTURES / f"{name}.parquet")
        inland = land.inland_outside_places(pings["lat"].to_numpy(), pings["lon"].to_numpy(),
                                            Config())
        assert not inland.any(), name


# ---------------------------------------------------------------- positions on land

def test_a_meeting_reported_from_far_inland_is_not_a_meetup_or_loitering(tmp_path):
    sc = Scenario(seed=1, report_every_s=300)
    neighbours(sc)
    a = sc.vessel(DPRK, "KUM SAN 3", ship_type="tanker", start=START, at=SARIWON)
    b = sc.vessel(FOREIGN, "SEA STAR", ship_type="tanker", start=START,
                  at=(SARIWON[0] + 0.1, SARIWON[1]))
    sc.meetup(a, b, at=PYONGYANG, hours=6, distance_m=100, approach_speed_kn=8)
    csv, output = scan(tmp_path, sc.pings())
    assert of(csv, DPRK).empty and of(csv, FOREIGN).empty  # a DPRK meetup would be decisive
    assert f"reported positions inland (spoofed or faulty GPS): {DPRK} (" in output
    assert f"{FOREIGN} (" in output


def test_the_same_meeting_at_sea_is_flagged(tmp_path):
    """The control of the test above: the scenario does make a meetup when it is at sea."""
    sc, _, _ = met_at_sea(seed=1)
    csv, output = scan(tmp_path, sc.pings())
    assert "meetup" in set(of(csv, DPRK)["event_type"])
    assert "inland" not in output


def test_a_vessel_that_also_reports_from_inland_has_it_in_its_event_reasons(tmp_path):
    sc, _, _ = met_at_sea(seed=2)
    pings = sc.pings()
    spoofed = pings[pings["mmsi"] == DPRK].tail(12).copy()  # the last hour: from Pyongyang
    spoofed["lat"], spoofed["lon"] = PYONGYANG
    pings = pd.concat([pings.drop(spoofed.index), spoofed], ignore_index=True)
    csv, output = scan(tmp_path, pings)
    meet = of(csv, DPRK)
    assert "meetup" in set(meet["event_type"])
    for reason in meet.loc[meet["mmsi"] == DPRK, "reason"]:
        assert "Spoofing signs: 12 positions reported inland" in reason
    assert f"{DPRK} (12)" in output


# ---------------------------------------------------------------- teleports, shared MMSI

def test_teleporting_positions_are_counted_and_do_not_flood(tmp_path):
    sc = Scenario(seed=3, report_every_s=300)
    neighbours(sc)
    v = sc.vessel(FOREIGN, "JUMPER", ship_type="cargo", start=START, at=(38.2, 124.3))
    v.sail(to=(38.6, 124.9), speed_kn=8).sail(to=(38.2, 124.3), speed_kn=8)
    pings = sc.pings()
    mine = pings.index[pings["mmsi"] == FOREIGN]
    jumps = mine[5::10]  # every 10th ping teleports 200-600 km away, each somewhere else
    rng = np.random.default_rng(3)
    pings.loc[jumps, "lat"] = rng.uniform(34.0, 37.0, len(jumps))
    pings.loc[jumps, "lon"] = rng.uniform(120.5, 123.0, len(jumps))
    honest, _ = scan(tmp_path, sc.pings(), "--everywhere")
    csv, _ = scan(tmp_path, pings, "--everywhere")
    assert len(of(csv, FOREIGN)) <= len(of(honest, FOREIGN)) + 1
    signals = _signals(pings)
    assert signals.loc[FOREIGN, "position_jumps"] == len(jumps)
    assert signals.loc[FOREIGN, "ships_on_mmsi"] == 1


def _signals(pings: pd.DataFrame) -> pd.DataFrame:
    from ais.inputs.ingest import ingest_frame
    from ais.tracking.tracks import build_tracks

    tracks = build_tracks(ingest_frame(pings).pings)
    return land.vessel_signals(tracks, Config()).set_index("mmsi")


def test_two_ships_on_one_mmsi_are_split_named_and_make_no_false_gaps(tmp_path):
    sc, _, _ = met_at_sea(seed=4)
    # a second ship broadcasting the same DPRK MMSI off Najin, all day
    twin = sc.vessel(DPRK, "KUM SAN 3", ship_type="tanker", start=START, at=(41.9, 130.6))
    all_day(twin, (41.9, 130.6), (41.6, 131.2))
    csv, output = scan(tmp_path, sc.pings())
    mine = of(csv, DPRK)
    assert "meetup" in set(mine["event_type"])
    assert "dark_period" not in set(mine["event_type"])  # interleaved reports are not gaps
    assert (mine["mmsi"] != mine["other_mmsi"]).all()
    for reason in mine.loc[mine["mmsi"] == DPRK, "reason"]:
        assert "MMSI broadcast by 2 ships at once" in reason
    assert f"broadcast by more than one ship at once (shared or spoofed MMSI): {DPRK} (2)" \
        in output


def test_a_vessel_silent_for_days_and_back_elsewhere_is_not_two_ships():
    sc = Scenario(seed=5, report_every_s=300)
    v = sc.vessel(FOREIGN, "BACK AGAIN", start=START, at=(38.2, 124.3))
    v.sail(to=(38.5, 124.6), speed_kn=8).dark(hours=80, to=(41.9, 130.6))
    v.sail(to=(41.6, 131.2), speed_kn=8)
    assert _signals(sc.pings()).loc[FOREIGN, "ships_on_mmsi"] == 1


# ---------------------------------------------------------------- identity games

def test_a_name_every_hour_is_a_dated_chain_of_renames(tmp_path):
    # issue 15 changed this: a chain is no longer one row; every rename is its own row,
    # dated at the new name's first broadcast, with its place in the chain
    sc = Scenario(seed=6, report_every_s=300)
    neighbours(sc)
    v = sc.vessel(412555000, "LIAO YU 1", ship_type="fishing", start=START, at=(38.3, 124.4))
    for hour in range(2, 25):
        v.trawl(hours=1, around=(38.3, 124.4)).rename(name=f"LIAO YU {hour}")
    v.trawl(hours=1, around=(38.3, 124.4))
    csv, _ = scan(tmp_path, sc.pings())
    changes = of(csv, 412555000)
    changes = changes[changes["event_type"] == "identity_change"]
    assert len(changes) == 23, changes[["event_type", "reason"]].to_string()
    starts = pd.to_datetime(changes["start_time"]).sort_values()
    assert starts.diff().dropna().dt.total_seconds().between(3000, 4200).all()
    twelve = changes[changes["reason"].str.contains("'LIAO YU 11' -> 'LIAO YU 12'")]
    assert len(twelve) == 1 and "rename 11 of 23 in this track" in twelve["reason"].item()


def test_a_vessel_never_meets_itself(tmp_path):
    sc = Scenario(seed=7, report_every_s=300)
    neighbours(sc)
    v = sc.vessel(DPRK, "KUM SAN 3", ship_type="tanker", start=START, at=(38.2, 124.5))
    v.sail(to=SEA, speed_kn=8).drift(hours=6, speed_kn=0.3).sail(to=(38.6, 124.9), speed_kn=8)
    pings = sc.pings()
    echo = pings[pings["mmsi"] == DPRK].copy()  # a second receiver: 200 m off, 20 s later
    echo["lat"] += 0.0018
    echo["timestamp"] += pd.Timedelta(seconds=20)
    alone, _ = scan(tmp_path, pings)
    csv, _ = scan(tmp_path, pd.concat([pings, echo], ignore_index=True))
    assert not (csv["mmsi"] == csv["other_mmsi"]).any()
    assert "meetup" not in set(of(csv, DPRK)["event_type"])
    assert sorted(of(csv, DPRK)["event_type"]) == sorted(of(alone, DPRK)["event_type"])


def test_one_timestamp_at_two_places_keeps_one_and_counts_the_other(tmp_path):
    sc = Scenario(seed=8, report_every_s=300)
    neighbours(sc)
    v = sc.vessel(FOREIGN, "TWO PLACES", start=START, at=(38.2, 124.5))
    v.sail(to=(38.6, 124.9), speed_kn=8)
    pings = sc.pings()
    mine = pings[pings["mmsi"] == FOREIGN]
    clash = mine.assign(lat=mine["lat"] + 0.5)  # same times, 55 km north
    both = pd.concat([pings, clash], ignore_index=True)
    alone, _ = scan(tmp_path, pings)
    csv, output = scan(tmp_path, both)
    assert f"dropped {len(mine):,} rows: repeated_mmsi_timestamp" in output
    assert len(of(csv, FOREIGN)) <= len(of(alone, FOREIGN))
    again, _ = scan(tmp_path, both.iloc[::-1])
    assert again.equals(csv)


def test_one_odd_position_is_a_glitch_three_are_a_sign():
    signals = pd.DataFrame({"mmsi": [1, 2, 3], "positions_on_land": [0, 0, 1],
                            "ships_on_mmsi": [1, 1, 2], "position_jumps": [1, 3, 0]})
    words = land.spoofing_sentences(pd.Series([1, 2, 3, 4]), signals).tolist()
    assert words == ["", "Spoofing signs: 3 positions far off its track.",
                     "Spoofing signs: 1 position reported inland; MMSI broadcast by 2 ships "
                     "at once.", ""]
