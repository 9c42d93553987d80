"""Port calls at DPRK ports: arrival, departure, terminal, draught, voyage legs, who counts."""

from __future__ import annotations

import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import port_call
from ais.synth.world import vessel
from tests.conftest import tracks_of

DALIAN = (38.9167, 121.65)
OIL_TERMINAL = (38.7202, 125.3702)
SEA_OFF_NAMPO = (38.60, 124.70)
POSYET = (42.65, 130.80)
NAJIN_PIERS = (42.2452, 130.3003)
DUNAY = (42.885, 132.34)
T0 = pd.Timestamp("2026-01-05T00:00Z")


def foreign_tanker(mmsi: int = 352123456, ship_type: str | None = "tanker"):
    """Moored at Dalian, sails to Nampo's oil terminal, 10 h alongside, sails back out."""
    v = vessel(mmsi, "OCEAN GRACE", ship_type=ship_type, start=T0, at=DALIAN,
               report_every_s=300)
    return v.moor(hours=3).sail(to=SEA_OFF_NAMPO, speed_kn=12).sail(to=OIL_TERMINAL,
                                                                    speed_kn=8)


def calls(*vessels, cfg: Config | None = None) -> pd.DataFrame:
    return port_call.detect(tracks_of(*vessels), cfg or Config())


def test_call_at_the_oil_terminal_has_arrival_departure_terminal_and_legs():
    v = foreign_tanker()
    arrive = v.clock
    v.moor(hours=10)
    leave = v.clock
    v.sail(to=SEA_OFF_NAMPO, speed_kn=10).sail(to=DALIAN, speed_kn=12).moor(hours=2)
    found = calls(v)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["port"] == "Nampo" and row["terminal"] == "Nampo oil terminal"
    assert abs(row["start_time"] - arrive) <= pd.Timedelta(minutes=15)
    assert abs(row["end_time"] - leave) <= pd.Timedelta(minutes=15)
    assert 9.5 <= row["duration_h"] <= 10.5 and not row["is_open"]
    assert (row["previous_port"], row["next_port"]) == ("Dalian", "Dalian")


def test_call_still_going_at_the_end_of_the_data_has_no_end_time():
    v = foreign_tanker()
    v.moor(hours=6)
    row = calls(v).iloc[0]
    assert row["is_open"] and pd.isna(row["end_time"])
    assert row["previous_port"] == "Dalian" and row["next_port"] == ""


def test_a_vessel_last_heard_in_port_long_before_the_end_of_the_data_made_a_closed_call():
    """GFW's sample spans 2014-2021: a ship last heard at its berth in 2014 is not 'still in
    port' in 2021; its call ends at its last ping, as long as it was heard there."""
    v = foreign_tanker()
    arrive = v.clock
    v.moor(hours=6)
    last_heard = v.clock
    other = vessel(352123499, "STILL SAILING", ship_type="cargo", start=T0 + pd.Timedelta(days=30),
                   at=SEA_OFF_NAMPO, report_every_s=300).sail(to=(38.3, 124.2), speed_kn=10)
    row = calls(v, other).query("mmsi == 352123456").iloc[0]
    assert not row["is_open"]
    assert abs(row["end_time"] - last_heard) <= pd.Timedelta(minutes=15)
    assert 5.5 <= row["duration_h"] <= 6.5
    assert abs(row["start_time"] - arrive) <= pd.Timedelta(minutes=15)


def test_a_tug_in_port_makes_no_call():
    tug = vessel(445612345, "RYONGGANG TUG 3", ship_type="tug", start=T0, at=OIL_TERMINAL,
                 report_every_s=300)
    tug.moor(hours=5).sail(to=(38.70, 125.30), speed_kn=6).wait(hours=1).sail(
        to=OIL_TERMINAL, speed_kn=6).moor(hours=5)
    assert calls(tug).empty


def test_a_ship_without_a_reported_type_still_calls():
    v = foreign_tanker(ship_type=None)
    v.moor(hours=4).sail(to=SEA_OFF_NAMPO, speed_kn=10)
    assert len(calls(v)) == 1


def test_passing_by_without_stopping_is_no_call():
    v = vessel(352123457, "PASSER", ship_type="cargo", start=T0, at=SEA_OFF_NAMPO,
               report_every_s=300)
    v.sail(to=OIL_TERMINAL, speed_kn=8).sail(to=SEA_OFF_NAMPO, speed_kn=8)
    assert calls(v).empty


def test_najin_call_from_posyet_to_dunay_with_draught_loaded():
    v = vessel(273456789, "ANGARA", ship_type="cargo", start=T0, at=POSYET,
               report_every_s=300)
    v.moor(hours=2).sail(to=NAJIN_PIERS, speed_kn=10).moor(hours=12).sail(
        to=(42.2, 130.9), speed_kn=10).sail(to=DUNAY, speed_kn=10).moor(hours=2)
    pings = v.pings()
    pings["draught"] = 6.1
    departed = pings["timestamp"] >= pings.loc[pings["sog"] > 5, "timestamp"].iloc[-1] - \
        pd.Timedelta(hours=14)
    pings.loc[departed, "draught"] = 8.4
    found = calls(pings)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["port"] == "Najin" and row["terminal"] == "Najin piers 1-3"
    assert (row["previous_port"], row["next_port"]) == ("Posyet", "Dunay")
    assert row["draught_before_m"] == pytest.approx(6.1)
    assert row["draught_after_m"] == pytest.approx(8.4)
    assert "(loaded)" in port_call.reason(row)


def test_calls_at_foreign_ports_are_rows_only_everywhere():
    v = vessel(273456780, "ANGARA 2", ship_type="cargo", start=T0, at=(42.5, 131.2),
               report_every_s=300)
    v.sail(to=POSYET, speed_kn=10).moor(hours=5).sail(to=(42.5, 131.2), speed_kn=10)
    assert calls(v).empty
    found = calls(v, cfg=Config(everywhere=True))
    assert found["port"].tolist() == ["Posyet"]


def test_a_foreign_tanker_at_the_oil_terminal_after_a_dark_period_ranks_above_a_plain_call():
    from ais import pipeline
    from ais.inputs.ingest import ingest_frame

    plain = vessel(445987123, "KUM SAN", ship_type="cargo", start=T0, at=SEA_OFF_NAMPO,
                   report_every_s=300)
    plain.sail(to=(38.7302, 125.3902), speed_kn=8).moor(hours=8).sail(to=SEA_OFF_NAMPO,
                                                                      speed_kn=8)
    dark = vessel(352123458, "OCEAN MERIT", ship_type="tanker", start=T0,
                  at=(38.40, 124.40), report_every_s=300)
    dark.sail(to=(38.50, 124.55), speed_kn=10).dark(hours=14, to=SEA_OFF_NAMPO).sail(
        to=OIL_TERMINAL, speed_kn=8).moor(hours=6).sail(to=SEA_OFF_NAMPO, speed_kn=8)
    # traffic all around, so the data covers where the tanker fell silent
    watchers = [vessel(412345672 + 11 * k, f"WATCHER {k}", ship_type="cargo", start=T0,
                       at=at, report_every_s=300).drift(hours=30, speed_kn=0.4).pings()
                for k, at in enumerate([(38.45, 124.50), (38.15, 123.9), (38.85, 123.9),
                                        (38.15, 125.0), (38.6, 124.9)])]
    cfg = Config()
    pings = ingest_frame(pd.concat([plain.pings(), dark.pings(), *watchers])).pings
    detected = pipeline.detect_pings(pings, None, cfg)
    models, _ = pipeline.load_models(None, detected, cfg)
    events = pipeline.score_events(detected, models, cfg)
    calls = events[events["event_type"] == "port_call"].set_index("mmsi")
    assert set(calls.index) == {445987123, 352123458}
    assert calls.loc[352123458, "anomaly_score"] > calls.loc[445987123, "anomaly_score"]
    assert "went dark just before" in calls.loc[352123458, "reason"]
    assert calls.loc[352123458, "terminal"] == "Nampo oil terminal"
