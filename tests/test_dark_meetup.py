"""A vessel waits at sea while a silent partner could have been alongside; where a dark ship
could have called."""

from __future__ import annotations

import pandas as pd

from ais.config import Config
from ais.detectors import dark_period
from ais.detectors.reachable import reachable_ports
from ais.geography.geo import destination
from ais.inputs.ingest import ingest_frame
from ais.pipeline import detect_pings
from ais.synth.world import Scenario
from tests.conftest import tracks_of

T0 = pd.Timestamp("2026-01-05T00:00Z")
WAIT_AT = (38.40, 124.55)
LOITERER, SILENT, FAR_SILENT = 352987654, 445123917, 413987651


def world(silent_km: float) -> Scenario:
    """A waits 6 h from 08:00; the silent vessel goes quiet at 05:00 ``silent_km`` north-west
    of A and reappears at 17:00 ``silent_km`` south-east of it; a neighbour reports all day."""
    sc = Scenario(seed=19, report_every_s=180)
    # traffic all around, so the data covers where the silent vessel went quiet
    for k, at in enumerate([(38.30, 124.45), (38.95, 123.9), (38.95, 125.2), (37.85, 123.9),
                            (37.85, 125.2)]):
        sc.vessel(412345671 + 13 * k, f"NEIGHBOUR {k}", start=T0, at=at).drift(hours=24,
                                                                             speed_kn=0.4)
    a = sc.vessel(LOITERER, "PATIENT ONE", ship_type="tanker", start=T0 + pd.Timedelta(hours=7),
                  at=(38.50, 124.40))
    a.sail(to=WAIT_AT, until=T0 + pd.Timedelta(hours=8)).drift(hours=6, speed_kn=0.3).sail(
        to=(38.20, 124.30), speed_kn=10)
    lat0, lon0 = destination(WAIT_AT[0], WAIT_AT[1], 315.0, silent_km)
    lat1, lon1 = destination(WAIT_AT[0], WAIT_AT[1], 135.0, silent_km)
    b = sc.vessel(SILENT, "SILENT ONE", ship_type="tanker", start=T0 + pd.Timedelta(hours=2),
                  at=tuple(float(x) for x in destination(lat0, lon0, 270.0, 50.0)))
    b.sail(to=(float(lat0), float(lon0)), until=T0 + pd.Timedelta(hours=5))
    b.dark(until=T0 + pd.Timedelta(hours=17), to=(float(lat1), float(lon1)))
    b.sail(to=(38.0, 125.0), speed_kn=10)
    return sc


def flagged_types(sc: Scenario) -> dict[str, pd.DataFrame]:
    return detect_pings(ingest_frame(sc.pings()).pings, None, Config()).candidates


def test_a_wait_next_to_a_silent_partner_is_a_dark_meetup():
    cand = flagged_types(world(silent_km=30))
    meets = cand["dark_meetup"]
    assert len(meets) == 1
    row = meets.iloc[0]
    assert (row["mmsi"], row["other_mmsi"]) == (SILENT, LOITERER)
    assert row["margin_out_h"] > 0 and row["margin_back_h"] > 0
    assert 25 <= row["distance_out_km"] <= 35
    loit = cand["loitering"].set_index("mmsi").loc[LOITERER]
    dark = cand["dark_period"].query("mmsi == @SILENT").iloc[0]
    assert row["event_id"] in loit["context"] and row["event_id"] in dark["context"]
    assert loit["event_id"] in row["context"] and dark["event_id"] in row["context"]


def test_a_silent_vessel_that_could_not_have_reached_the_loiterer_is_no_dark_meetup():
    # 60 km x 1.25 each way in 3.5 h would need 11.6 kn; it sails at 10 kn
    cand = flagged_types(world(silent_km=60))
    assert cand["dark_meetup"].empty
    assert (cand["loitering"]["mmsi"] == LOITERER).any()
    dark = cand["dark_period"]
    assert dark[(dark["mmsi"] == SILENT) & dark["passes_rule"]].shape[0] == 1


def _dark_candidates(v) -> tuple[pd.DataFrame, pd.DataFrame]:
    tracks = tracks_of(v)
    return dark_period.detect(tracks, Config()), tracks


def test_a_dark_period_off_rason_has_najin_reachable():
    sc = Scenario(seed=3, report_every_s=180)
    v = sc.vessel(273451234, "ANGARA 7", ship_type="cargo", start=T0, at=(41.95, 130.75))
    v.sail(to=(41.98, 130.70), speed_kn=10).dark(hours=10).sail(to=(41.7, 131.2), speed_kn=10)
    dark, tracks = _dark_candidates(v)
    out = reachable_ports(dark, tracks, Config())
    row = out.iloc[0]
    assert row["reachable_ports"].startswith("Najin") or "Najin (margin" in row["reachable_ports"]
    assert row["dprk_port_reachable"] == 1.0
    # the listing reads "Name (margin X h)", margins positive
    assert "(margin " in row["reachable_ports"]


def test_a_short_dark_period_far_out_at_sea_reaches_no_port():
    sc = Scenario(seed=4, report_every_s=180)
    v = sc.vessel(273451235, "ANGARA 8", ship_type="cargo", start=T0, at=(40.6, 133.0))
    v.sail(to=(40.5, 133.1), speed_kn=10).dark(hours=6).sail(to=(40.3, 133.3), speed_kn=10)
    dark, tracks = _dark_candidates(v)
    out = reachable_ports(dark, tracks, Config())
    assert out.iloc[0]["reachable_ports"] == ""
    assert out.iloc[0]["dprk_port_reachable"] == 0.0


def test_a_flagged_dark_meetup_is_ranked_explained_and_exported_with_the_silence(tmp_path):
    import json

    from ais import pipeline
    from ais.views.export import export
    from ais.views.triage import event_pings

    cfg = Config()
    detected = detect_pings(ingest_frame(world(silent_km=30).pings()).pings, None, cfg)
    models, _ = pipeline.load_models(None, detected, cfg)
    events = pipeline.score_events(detected, models, cfg)
    meet = events[events["event_type"] == "dark_meetup"]
    assert len(meet) == 1 and meet.iloc[0]["event_id"].startswith("DMT-")
    reason = meet.iloc[0]["reason"]
    assert "h to spare" in reason and "kn" in reason
    assert meet.iloc[0]["anomaly_score"] >= 0.8  # a DPRK MMSI on the silent side
    doc = json.loads(export(meet, event_pings(meet, detected.tracks), tmp_path / "m.geojson",
                            "geojson").read_text())
    roles = {f["properties"].get("role") for f in doc["features"]}
    assert {"vessel", "loiterer", "gap"} <= roles
    gaps = [f["properties"] for f in doc["features"] if f["properties"].get("kind") == "gap"]
    assert any(g["segment_mmsi"] == SILENT and g["gap_of"] == "vessel" for g in gaps)


def test_a_silence_of_years_lists_a_few_ports_clear_of_land_and_counts_every_port_in_time():
    """A vessel silent for six years (the GFW sample spans 2014-2021) could have reached every
    port of the table: the count says so, the list names at most six, DPRK ports first, and
    the land check runs on those only (checking every pair took 33 s and 18 GB)."""
    from ais.detectors.reachable import MAX_LISTED

    sc = Scenario(seed=5, report_every_s=180)
    v = sc.vessel(273451236, "ANGARA 9", ship_type="cargo", start=T0, at=(40.6, 133.0))
    v.sail(to=(40.5, 133.1), speed_kn=10).dark(hours=6 * 365 * 24).sail(
        to=(40.3, 133.3), speed_kn=10)
    dark, tracks = _dark_candidates(v)
    row = reachable_ports(dark, tracks, Config()).iloc[0]
    assert row["n_reachable_ports"] > 3000
    listed = row["reachable_ports"].split("; ")
    assert 1 <= len(listed) <= MAX_LISTED
    assert row["dprk_port_reachable"] == 1.0


def test_a_silence_that_ends_on_the_next_night_pairs_with_the_wait_of_the_night_before(
        tmp_path):
    """The wait (08:00-14:00) ends on night one (cut at 15:00), the silent vessel reappears
    at 17:00, on night two: night two reports the dark meetup, with the id one scan of the
    whole day gives it, though the wait is long gone from the pings carried."""
    from click.testing import CliRunner

    from ais.cli import main
    from tests.conftest import write_parquet

    path = write_parquet(tmp_path / "day.parquet", world(silent_km=30).pings())
    cut = (T0 + pd.Timedelta(hours=15)).isoformat()

    def scan(name: str, *extra: str) -> pd.DataFrame:
        out = tmp_path / name
        result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        return pd.read_csv(out)

    whole = scan("whole.csv", "--no-state")
    meets = whole[whole["event_type"] == "dark_meetup"]
    assert len(meets) == 1
    state = str(tmp_path / "state.duckdb")
    first = scan("night1.csv", "--state", state, "--until", cut)
    second = scan("night2.csv", "--state", state, "--since", cut)
    assert not (first["event_type"] == "dark_meetup").any()  # still silent at 15:00
    found = second[second["event_type"] == "dark_meetup"]
    assert list(found["event_id"]) == list(meets["event_id"])
    assert list(found["status"]) == ["new"]
    assert found.iloc[0]["end_time"] < cut  # the wait itself ended on night one


def test_a_dark_meetup_paired_with_a_wait_of_the_night_before_is_stored_with_the_waits_pings(
        tmp_path):
    """Night one is cut at 16:30, so late that the wait (08:00-14:00) is no longer going on
    and only the waiting vessel's last 3 h are carried; the silent vessel reappears at 17:00,
    on night two. The dark meetup of night two is stored with the pings night one kept of the
    wait: `ais show`, the maps and the exports (which read the state's event pings) show the
    waiting vessel through its wait, not only from the carried tail on."""
    from click.testing import CliRunner

    from ais.cli import main
    from ais.nightly.carry import THIN_BUCKETS
    from ais.nightly.state import State
    from tests.conftest import write_parquet

    path = write_parquet(tmp_path / "day.parquet", world(silent_km=30).pings())
    cut = (T0 + pd.Timedelta(hours=16, minutes=30)).isoformat()
    state = tmp_path / "state.duckdb"

    def scan(name: str, *extra: str) -> pd.DataFrame:
        out = tmp_path / name
        result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out), "--state",
                                           str(state), *extra])
        assert result.exit_code == 0, result.output
        return pd.read_csv(out)

    first = scan("night1.csv", "--until", cut)
    assert not (first["event_type"] == "dark_meetup").any()  # still silent at 16:30
    second = scan("night2.csv", "--since", cut)
    meet = second[second["event_type"] == "dark_meetup"]
    assert len(meet) == 1 and meet.iloc[0]["end_time"] < cut
    event_id = meet.iloc[0]["event_id"]
    start, end = (pd.Timestamp(meet.iloc[0][c]) for c in ("start_time", "end_time"))
    with State.open(state, read_only=True) as s:
        pings = s.event_pings([event_id])
    wait = pings[pings["mmsi"] == LOITERER]
    during = wait[(wait["timestamp"] >= start) & (wait["timestamp"] <= end)]
    # night two's own pings of the waiting vessel begin 3 h before its last ping (15:40)
    assert during["timestamp"].min() <= start + pd.Timedelta(minutes=30)
    assert len(during[during["timestamp"] < start + pd.Timedelta(hours=3)]) >= 20
    assert wait["timestamp"].is_unique and len(wait) <= 2 * (THIN_BUCKETS + 1)
    assert (pings["mmsi"] == SILENT).any()  # the silent vessel's pings are there too
    # the map draws them
    result = CliRunner().invoke(main, ["show", event_id, "--state", str(state), "--png",
                                       str(tmp_path / "m.png")])
    assert result.exit_code == 0, result.output
