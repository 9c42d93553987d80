"""Ports, berths, anchorages and statuses of foreign data: waits are not anomalies (#13).

Each scenario is one look-alike that real AIS is full of; before the port table, the shore,
learned anchorages and numeric statuses, every one of them was flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.geography import anchorages
from ais.geography.geo import haversine_km
from ais.geography.ports import nearest_port, port_table
from ais.geography.shore import distance_to_shore_km
from ais.inputs import navstatus
from ais.inputs.ingest import ingest_frame
from ais.pipeline import detect_pings
from ais.synth.ports import SPOTS
from ais.synth.world import vessel

CFG = Config()
SEA = (38.30, 124.60)  # open Korea Bay, ~80 km WSW of Nampo, > 20 km from land
HAEJU = SPOTS["Nampo"]["port"][1]
POSYET = SPOTS["Najin"]["port"][1]
ZARUBINO = SPOTS["Najin"]["moored"][1]
BERTH = SPOTS["Nampo"]["berth"]
ROADSTEAD = SPOTS["Najin"]["roadstead"]


def ship(mmsi: int, at, name: str = "SEA STAR 3", ship_type: str | None = "cargo"):
    return vessel(mmsi, name, callsign=f"C{mmsi % 10000}", ship_type=ship_type, at=at,
                  report_every_s=120, seed=mmsi, start="2026-01-05")


def near(at, east_m: float, north_m: float = 0.0):
    return (at[0] + north_m / 111_320, at[1] + east_m / (111_320 * np.cos(np.radians(at[0]))))


def candidates(*parts) -> dict[str, pd.DataFrame]:
    """Every detector's candidates, through the scan's own detection stage."""
    frames = [p if isinstance(p, pd.DataFrame) else p.pings() for p in parts]
    ingested = ingest_frame(pd.concat(frames, ignore_index=True))
    return detect_pings(ingested.pings, ingested.report, CFG).candidates


def flagged_by_rule(found: pd.DataFrame, mmsi: int) -> pd.DataFrame:
    return found[(found["mmsi"] == mmsi) & found["passes_rule"]]


# ---------------------------------------------------------------- the table and its lookup

def test_port_table_covers_the_world_with_sources():
    table = port_table()
    assert len(table) > 3900
    assert table["source"].str.len().gt(0).all()
    assert table["uncertainty_km"].gt(0).all()
    names = set(table["name"])
    for place in ("Nampo", "Nampo oil terminal", "Songnim", "Haeju", "Taean", "Chongjin",
                  "Najin", "Rajin/Sonbong", "Posyet", "Zarubino", "Slavyanka", "Vladivostok",
                  "Nakhodka", "Vostochny", "Dunay", "Konyushkovo naval pier", "Rotterdam"):
        assert place in names, place


def test_nearest_port_matches_brute_force_anywhere():
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-70, 70, 300), rng.uniform(-180, 180, 300)
    cfg = Config(places=())
    name, km, _ = nearest_port(lat, lon, cfg)
    t = port_table()
    brute = haversine_km(lat[:, None], lon[:, None], t["lat"].to_numpy()[None, :],
                         t["lon"].to_numpy()[None, :]).min(axis=1)
    np.testing.assert_allclose(km, brute, rtol=1e-6, atol=1e-6)
    assert (name != "").all()


def test_rotterdam_quay_is_in_port_whatever_the_watch_areas():
    t = port_table()
    rdam = t[t["name"] == "Rotterdam"].iloc[0]
    quay = near((rdam["lat"], rdam["lon"]), 1500, 500)
    name, km, inside = nearest_port(np.array([quay[0]]), np.array([quay[1]]), CFG)
    assert inside[0] and km[0] < 2 and name[0] == "Rotterdam"


def test_distance_to_shore_from_the_land_grid():
    km = distance_to_shore_km(np.array([SEA[0], BERTH[0], 38.7167]),
                              np.array([SEA[1], BERTH[1], 125.40]))
    assert km[0] >= 20
    assert km[1] <= 1.5
    assert km[2] <= 1.5


@pytest.mark.parametrize("value, code", [
    ("1", 1), ("5", 5), (5.0, 5), ("5.0", 5), ("7", 7), ("15", 15), ("At anchor", 1),
    ("Moored", 5), ("engaged in fishing", 7), ("Restricted manoeuverability", 3),
    ("Aground", 6), ("5 - Moored", 5), ("under way using engine", 0), (None, -1),
    ("", -1), ("garbage", -1), ("42", -1),
])
def test_nav_status_as_text_or_itu_code(value, code):
    assert navstatus.code_of(value) == code
    assert navstatus.codes(pd.Series([value, value], dtype=object)).tolist() == [code, code]


# ---------------------------------------------------------------- look-alikes: loitering

@pytest.mark.parametrize("where, port", [
    pytest.param(HAEJU, "Haeju", id="haeju-near-nampo"),
    pytest.param(POSYET, "Posyet", id="posyet-near-najin"),
    pytest.param(ZARUBINO, "Zarubino", id="zarubino-near-najin"),
])
def test_ship_waiting_in_another_port_of_the_area_is_not_loitering(where, port):
    v = ship(445001001, where).wait(hours=10, nav_status=None)
    found = candidates(v)["loitering"]
    assert len(found) == 1
    assert flagged_by_rule(found, v.mmsi).empty
    assert port in found["context"].iloc[0]
    assert found["nearest_port"].iloc[0] == port


def test_quay_next_to_land_near_a_port_is_a_berth():
    v = ship(445001002, BERTH).wait(hours=20, nav_status=None)
    found = candidates(v)["loitering"]
    assert len(found) == 1 and found["distance_to_port_km"].iloc[0] > 20
    assert flagged_by_rule(found, v.mmsi).empty
    assert found["context"].iloc[0].startswith("berth, marina or river")
    assert found["distance_to_shore_km"].iloc[0] <= 1.5


@pytest.mark.parametrize("status", ["1", "5", "At anchor", "Moored", "5 - Moored"])
def test_ship_at_anchor_or_moored_by_its_status_is_not_loitering(status):
    v = ship(667001003, near(SEA, 0, 20_000)).sail(to=SEA, speed_kn=10).wait(
        hours=10, nav_status=status).sail(to=(38.0, 124.0), speed_kn=10)
    found = candidates(v)["loitering"]
    assert len(found) == 1
    assert flagged_by_rule(found, v.mmsi).empty
    assert "navigational status" in found["context"].iloc[0]
    assert found["at_anchor_share"].iloc[0] > 0.5


def test_same_drift_under_way_at_sea_is_still_loitering():
    v = ship(667001004, near(SEA, 0, 20_000)).sail(to=SEA, speed_kn=10).drift(
        hours=10, speed_kn=0.5, nav_status="0").sail(to=(38.0, 124.0), speed_kn=10)
    found = candidates(v)["loitering"]
    assert len(flagged_by_rule(found, v.mmsi)) == 1
    assert found["context"].iloc[0] == "at sea"


def _jigger(mmsi: int, name: str, ship_type: str | None):
    return ship(mmsi, near(SEA, 0, 20_000), name=name, ship_type=ship_type).sail(
        to=SEA, speed_kn=8).drift(hours=10, speed_kn=0.6, nav_status=None).sail(
        to=(38.0, 124.0), speed_kn=8)


def test_fishing_type_in_one_ping_in_ten_still_makes_a_fishing_vessel():
    pings = _jigger(412001005, "SEA STAR 3", "fishing").pings()
    rng = np.random.default_rng(5)
    pings.loc[rng.random(len(pings)) >= 0.1, "ship_type"] = None
    found = candidates(pings)["loitering"]
    assert len(found) == 1
    assert flagged_by_rule(found, 412001005).empty
    assert found["context"].iloc[0] == "fishing vessel working"


def test_dredger_restricted_in_manoeuvre_by_its_status_is_not_loitering():
    pings = _jigger(244001008, "SEA STAR 5", None).pings()
    pings["nav_status"] = "3"  # restricted manoeuvrability: dredging, survey, cable work
    found = candidates(pings)["loitering"]
    assert len(found) == 1 and flagged_by_rule(found, 244001008).empty
    assert found["context"].iloc[0].startswith("restricted in her ability to manoeuvre")


def test_fishing_status_or_name_makes_a_fishing_vessel_without_any_type():
    by_status = _jigger(412001006, "SEA STAR 4", None).pings()
    by_status["nav_status"] = "7"
    by_name = _jigger(412001007, "LURONGYU 1234", None).pings()
    found = candidates(by_status)["loitering"]
    assert flagged_by_rule(found, 412001006).empty
    found = candidates(by_name)["loitering"]
    assert flagged_by_rule(found, 412001007).empty


# ---------------------------------------------------------------- learned anchorages

def _roadstead(n: int, first_mmsi: int = 273001100):
    ships = []
    for k in range(n):
        at = near(ROADSTEAD, 250 * np.cos(k), 250 * np.sin(k))
        ships.append(ship(first_mmsi + k, near(at, 0, -20_000)).sail(to=at, speed_kn=10)
                     .wait(hours=8 + k, nav_status=None).sail(to=(41.9, 131.5), speed_kn=10))
    return ships


def test_offshore_roadstead_where_five_ships_wait_is_a_learned_anchorage():
    ships = _roadstead(5)
    found = candidates(*ships)["loitering"]
    assert len(found) == 5
    assert not found["passes_rule"].any()
    assert found["context"].str.startswith("anchorage wait (learned from traffic").all()
    assert (found["anchorage_vessels"] >= 4).all()


def test_two_ships_lying_together_do_not_make_an_anchorage():
    from tests.conftest import tracks_of

    assert anchorages.learn(tracks_of(*_roadstead(2)), CFG).empty


def test_five_ships_sitting_at_a_reported_transfer_site_never_make_an_anchorage():
    from ais.geography.places import SOK_TO
    from tests.conftest import tracks_of

    ships = [ship(445001600 + k, near((SOK_TO.lat, SOK_TO.lon), 300 * k)).wait(
        hours=8, nav_status=None) for k in range(5)]
    assert anchorages.learn(tracks_of(*ships), CFG).empty


def test_anchorages_learned_by_train_are_stored_and_used_by_a_scan(tmp_path):
    from tests.conftest import tracks_of

    learned = anchorages.learn(tracks_of(*_roadstead(5)), CFG)
    assert len(learned) and (learned["vessels"] >= 4).all()
    assert learned["rule"].iloc[0].startswith(">= 4 distinct MMSIs")
    path = anchorages.save(learned, tmp_path)
    assert path.name == "anchorages.csv" and path.read_text().startswith("cell_lat,")
    stored = anchorages.load(tmp_path)
    # tonight one ship waits there alone: only the stored anchorage knows the place
    alone = _roadstead(1, first_mmsi=273001200)
    ingested = ingest_frame(alone[0].pings())
    found = detect_pings(ingested.pings, ingested.report, CFG,
                         anchorages=stored).candidates["loitering"]
    assert len(found) == 1 and not found["passes_rule"].any()
    assert found["context"].iloc[0].startswith("anchorage wait (learned")
    again = detect_pings(ingested.pings, ingested.report, CFG).candidates["loitering"]
    assert again["passes_rule"].all()


def test_an_anchorage_is_learned_from_the_ships_of_several_nights_as_from_one_scan():
    """Two ships wait at the roadstead one night, three others the next: neither night alone
    has the four it takes, the two together have five. With the stationary pings of the
    night before (the state's ``still``), night two learns the anchorage one scan of both
    nights would, and the three waits are waits."""
    from tests.conftest import tracks_of

    before = tracks_of(*_roadstead(2))
    tonight = _roadstead(3, first_mmsi=273001300)
    assert anchorages.learn(tracks_of(*tonight), CFG).empty
    both = anchorages.learn(pd.concat([before, tracks_of(*tonight)]), CFG)
    assert len(both) and (both["vessels"] >= 4).all()
    still = anchorages.still(before, CFG)
    assert set(still["mmsi"]) == {273001100, 273001101} and (still["n"] >= 3).all()
    ingested = ingest_frame(pd.concat([s.pings() for s in tonight], ignore_index=True))
    alone = detect_pings(ingested.pings, ingested.report, CFG).candidates["loitering"]
    assert len(alone) == 3 and alone["passes_rule"].all()
    night = detect_pings(ingested.pings, ingested.report, CFG, still_before=still,
                         since=ingested.pings["timestamp"].min())
    found = night.candidates["loitering"]
    assert len(found) == 3 and not found["passes_rule"].any()
    assert found["context"].str.startswith("anchorage wait (learned from traffic").all()
    learned = anchorages.learn_from_still(night.still, CFG)
    pd.testing.assert_frame_equal(learned[["cell_lat", "cell_lon", "vessels", "pings"]],
                                  both[["cell_lat", "cell_lon", "vessels", "pings"]])
    # pings before ``since`` (carried from the night before) are not counted twice
    cut = before["timestamp"].min() + pd.Timedelta(hours=5)
    later = anchorages.still(before, CFG, since=cut)
    pd.testing.assert_frame_equal(
        later, anchorages.still(before[before["timestamp"] >= cut], CFG))
    assert later["n"].sum() < still["n"].sum()


def test_a_broken_anchorage_file_names_itself(tmp_path):
    from ais.errors import ModelError

    (tmp_path / "anchorages.csv").write_text("lat,lon\n1,2\n")
    with pytest.raises(ModelError, match="anchorages.csv.*ais train"):
        anchorages.load(tmp_path)


# ---------------------------------------------------------------- meetups and dark periods

def test_two_ships_moored_side_by_side_in_posyet_are_not_a_meetup():
    a = ship(273001301, POSYET).wait(hours=12, nav_status=None)
    b = ship(273001302, near(POSYET, 80)).wait(hours=12, nav_status=None)
    found = candidates(a, b)["meetup"]
    assert len(found) >= 1
    assert not found["passes_rule"].any()


def test_moored_ship_switching_off_at_zarubino_berth_is_not_a_dark_period():
    moored = ship(273001401, ZARUBINO).moor(hours=10).dark(hours=9, to=ZARUBINO).moor(hours=6)
    pings = moored.pings()
    pings["nav_status"] = "5"  # moored, as an ITU code
    neighbour = ship(273001402, near(ZARUBINO, 1500, 1500)).wait(hours=26, nav_status=None)
    found = candidates(pings, neighbour)["dark_period"]
    mine = found[found["mmsi"] == 273001401]
    assert len(mine) == 1 and mine["duration_h"].iloc[0] >= 8
    assert not mine["passes_rule"].any()


def test_ais_train_writes_the_learned_anchorages_beside_the_models(tmp_path):
    from click.testing import CliRunner

    from ais.cli import main
    from tests.conftest import FIXTURES

    models = tmp_path / "models"
    result = CliRunner().invoke(main, ["train", str(FIXTURES / "quickstart.parquet"),
                                       "--models", str(models)])
    assert result.exit_code == 0, result.output
    stored = anchorages.load(models)
    roadstead = SPOTS["Nampo"]["roadstead"]
    km = haversine_km(stored["lat"], stored["lon"], roadstead[0], roadstead[1])
    assert (km < 2).any()  # the generator's roadstead, where five ships wait
    assert (stored["vessels"] >= 4).all() and stored["rule"].str.contains("distinct MMSIs").all()
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "quickstart.parquet"), "-o",
                                       str(tmp_path / "f.csv"), "--models", str(models),
                                       "--no-state", "-q"])
    assert result.exit_code == 0, result.output


def test_transfer_at_sok_to_with_one_ship_at_anchor_is_still_a_meetup():
    from ais.geography.places import SOK_TO

    site = (SOK_TO.lat, SOK_TO.lon)
    tanker = ship(667001501, near(site, 0, -20_000)).sail(to=site, speed_kn=10).wait(
        hours=6, nav_status="1").sail(to=(38.3, 124.6), speed_kn=10)
    daughter = ship(445001502, near(site, 20_000)).sail(to=near(site, 120), speed_kn=10,
                                                        ).wait(hours=5, nav_status="0")
    found = candidates(tanker, daughter)["meetup"]
    assert len(found) == 1 and found["passes_rule"].all()


def test_real_gfw_sample_flags_no_harbour_and_keeps_the_rename(tmp_path):
    """GFW's segmenter fixtures, scanned everywhere: before #13, 35 of 92 flagged rows lay
    within 5 km of a table port or belonged to a vessel moored / at anchor for most of the
    event; now none does, and 413222000's rename is still found (416070900's '@' padding is
    not a rename)."""
    from click.testing import CliRunner

    from ais.cli import main
    from tests.conftest import GFW, need

    out = tmp_path / "f.csv"
    result = CliRunner().invoke(main, ["scan", str(need(GFW)), "-o", str(out), "--no-state",
                                       "--everywhere", "-q"])
    assert result.exit_code == 0, result.output
    flagged = pd.read_csv(out)
    flagged = flagged[flagged["event_type"] != "port_call"]  # in port by definition (#19)
    _, km, _ = nearest_port(flagged["lat"].to_numpy(float), flagged["lon"].to_numpy(float),
                            Config(places=()))
    assert (km > CFG.ports.zone_km).all()
    pos = pd.read_parquet(GFW, columns=["mmsi", "ts", "nav_status"])
    pos["ts"] = pd.to_datetime(pos["ts"], utc=True)
    pos["rest"] = navstatus.at_rest(pos["nav_status"].to_numpy(object))
    pos["known"] = navstatus.codes(pos["nav_status"].to_numpy(object)) >= 0
    for _, row in flagged[flagged["event_type"] != "identity_change"].iterrows():
        t0 = pd.Timestamp(row["start_time"])
        t1 = pd.Timestamp(row["end_time"]) if pd.notna(row["end_time"]) else t0
        if row["event_type"] == "dark_period":
            t0, t1 = t0 - pd.Timedelta(hours=1), t0
        p = pos[(pd.to_numeric(pos["mmsi"]) == row["mmsi"]) & pos["ts"].between(t0, t1)
                & pos["known"]]
        assert not len(p) or p["rest"].mean() <= 0.5, row["event_id"]
    idc = flagged[flagged["event_type"] == "identity_change"]
    assert 413222000 in set(idc["mmsi"]) and 416070900 not in set(flagged["mmsi"])
