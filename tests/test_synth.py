"""Behaviour of the synthetic AIS generator: builder, scenario, day generator, fixture files."""

from __future__ import annotations

import doctest
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ais.synth.world
from ais.geography.places import DEFAULT_PLACES
from ais.synth.world import (
    COLUMNS,
    FIXTURES,
    TRUTH_COLUMNS,
    Scenario,
    generate,
    generate_pings,
    haversine_km,
    imo_check_digit,
    read_truth,
    vessel,
    write_scenario,
)

START = pd.Timestamp("2026-01-05T00:00Z")
ANOMALIES = ("loitering", "dark_period", "meetup", "identity_change")
FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures"


def hours(td: pd.Timedelta) -> float:
    return td / pd.Timedelta(hours=1)


def tanker(**kw: object):
    args = dict(mmsi=445123917, name="CHON MA SAN", callsign="HMYZ", imo="9113111",
                ship_type="tanker", start="2026-01-05T00:00Z", at=(38.40, 124.60),
                report_every_s=60)
    args.update(kw)
    return vessel(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def day() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate(seed=11)


def assert_canonical(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == COLUMNS
    keys = list(zip(df["timestamp"].array.asi8, df["mmsi"], strict=True))
    assert keys == sorted(keys)


# -- builder -----------------------------------------------------------------------------------


def test_builder_pings_follow_the_column_contract() -> None:
    df = tanker().sail(to=(38.5, 124.7), speed_kn=10).anchor(hours=2).pings()
    assert_canonical(df)
    assert df["timestamp"].min() >= START


def test_sail_duration_is_distance_over_speed() -> None:
    t = tanker()
    to = (38.60, 124.80)
    t.sail(to=to, speed_kn=12)
    expected_h = haversine_km(38.40, 124.60, *to) / (12 * 1.852)
    assert hours(t.clock - START) == pytest.approx(expected_h, abs=1 / 3600)
    assert t.position == pytest.approx(to)
    df = t.pings()
    assert df["sog"].median() == pytest.approx(12, abs=0.2)


def test_dark_hours_leave_a_gap_of_that_length() -> None:
    df = tanker().sail(to=(38.5, 124.6), speed_kn=10).dark(hours=14).wait(hours=2).pings()
    gaps = df["timestamp"].diff().dropna()
    assert hours(gaps.max()) == pytest.approx(14, abs=2.5 * 60 / 3600)
    assert (gaps.sort_values().iloc[-2] <= pd.Timedelta(seconds=72))


def test_dark_with_destination_reappears_there() -> None:
    t = tanker().wait(hours=1).dark(hours=10, to=(38.0, 123.6)).wait(hours=1)
    df = t.pings()
    last = df.iloc[-1]
    assert haversine_km(last["lat"], last["lon"], 38.0, 123.6) < 0.2


def test_report_interval_jitters_within_twenty_percent() -> None:
    df = tanker(report_every_s=100).sail(to=(38.9, 124.6), speed_kn=10).pings()
    s = df["timestamp"].diff().dropna().dt.total_seconds()
    assert s.min() >= 79 and s.max() <= 121 and s.std() > 5


def test_rename_and_remmsi_apply_from_that_time_on() -> None:
    t = tanker().sail(to=(38.5, 124.6), speed_kn=10)
    t_change = t.clock
    t.rename(name="SUN RISE 7", callsign="V3AB2").remmsi(352001234).sail(
        to=(38.6, 124.6), speed_kn=10)
    df = t.pings()
    before, after = df[df["timestamp"] < t_change], df[df["timestamp"] >= t_change]
    assert set(before["mmsi"]) == {445123917} and set(before["name"]) == {"CHON MA SAN"}
    assert set(after["mmsi"]) == {352001234} and set(after["name"]) == {"SUN RISE 7"}
    assert set(after["callsign"]) == {"V3AB2"} and set(after["imo"]) == {"9113111"}


def test_anchor_moor_and_wait_stay_put_with_their_status() -> None:
    df = tanker().anchor(hours=10).moor(hours=5).wait(hours=2).pings()
    assert (df["sog"] < 0.5).all()
    spread_km = haversine_km(df["lat"].min(), df["lon"].min(), df["lat"].max(), df["lon"].max())
    assert spread_km < 0.3
    statuses = df["nav_status"].tolist()
    assert statuses[0] == "at anchor" and "moored" in statuses and statuses[-1] is None


def test_drift_stays_within_a_kilometre_at_the_given_speed() -> None:
    df = tanker().drift(hours=8, speed_kn=0.5).pings()
    far = haversine_km(38.40, 124.60, df["lat"], df["lon"]).max()
    assert far < 1.2
    assert df["sog"].mean() == pytest.approx(0.5, abs=0.05)


def test_padded_name_keeps_the_name_under_the_padding() -> None:
    df = tanker(name="PEI YUH NO.6").wait(hours=1).pad_name().wait(hours=1).pings()
    assert set(df["name"]) == {"PEI YUH NO.6", "PEI YUH NO.6" + "@" * 8}


def test_same_seed_gives_the_same_builder_pings() -> None:
    def make() -> pd.DataFrame:
        return tanker().sail(to=(38.5, 124.7), speed_kn=9).drift(hours=3).pings()
    pd.testing.assert_frame_equal(make(), make())


# -- scenario ----------------------------------------------------------------------------------


def test_meetup_keeps_two_vessels_50_to_300_m_apart_and_slow() -> None:
    sc = Scenario(seed=4)
    a = sc.vessel(667120451, "OCEAN PEARL", start="2026-01-05", at=(38.30, 124.30))
    b = sc.vessel(445201733, "PAEK MA 2", start="2026-01-05", at=(38.55, 124.40))
    m = sc.meetup(a, b, at=(38.45, 124.50), hours=4, distance_m=150, speed_kn=0.8)
    assert a.clock == b.clock == m.end
    assert hours(m.end - m.start) == pytest.approx(4)
    df = sc.pings(start=m.start, end=m.end)
    pa_ = df[df["mmsi"] == a.mmsi].set_index("timestamp").sort_index()
    pb_ = df[df["mmsi"] == b.mmsi].set_index("timestamp").sort_index()
    both = pd.merge_asof(pa_, pb_, left_index=True, right_index=True, direction="nearest",
                         tolerance=pd.Timedelta("30s")).dropna(subset=["lat_y"])
    d_m = haversine_km(both["lat_x"], both["lon_x"], both["lat_y"], both["lon_y"]) * 1000
    assert len(both) > 100
    assert d_m.between(50, 300).all()
    assert (df["sog"] < 1.5).all()


def test_reception_hole_silences_every_vessel_inside_the_circle() -> None:
    sc = Scenario(seed=5)
    centre = (38.45, 124.50)
    for k in range(6):
        at = ais.synth.world._destination(*centre, 60 * k, 5 + 4 * k)
        sc.vessel(445201000 + 7919 * k, f"V{k}", start="2026-01-05", at=at).wait(hours=10)
    sc.reception_hole(center=centre, radius_km=20, start="2026-01-05T03:00Z", hours=4)
    df = sc.pings()
    in_window = df["timestamp"].between(pd.Timestamp("2026-01-05T03:00Z"),
                                        pd.Timestamp("2026-01-05T06:59:59Z"))
    inside = haversine_km(df["lat"], df["lon"], *centre) <= 20
    assert not (in_window & inside).any()
    assert (in_window & ~inside).any()  # vessels outside the circle keep reporting
    assert (~in_window & inside).any()


# -- generator ---------------------------------------------------------------------------------


def test_generate_is_deterministic_per_seed() -> None:
    p1, t1 = generate(seed=7, n_background=12, events_per_type=1)
    p2, t2 = generate(seed=7, n_background=12, events_per_type=1)
    p3, _ = generate(seed=8, n_background=12, events_per_type=1)
    pd.testing.assert_frame_equal(p1, p2)
    pd.testing.assert_frame_equal(t1, t2)
    assert not p1.equals(p3)


def test_generated_pings_follow_the_column_contract(day) -> None:
    pings, _ = day
    assert_canonical(pings)
    assert pings["timestamp"].min() >= START
    assert pings["timestamp"].max() < START + pd.Timedelta(days=1)
    assert 10_000 < len(pings) < 400_000


def test_truth_has_each_anomaly_type_at_least_events_per_type_times(day) -> None:
    _, truth = day
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    counts = truth.loc[truth["kind"] == "anomaly", "event_type"].value_counts()
    for event_type in ANOMALIES:
        assert counts.get(event_type, 0) >= 3
    assert set(truth["area"]) == {"Nampo", "Najin"}
    assert str(truth["other_mmsi"].dtype) == "Int64"
    assert str(truth["start_time"].dtype) == "datetime64[ns, UTC]"


def test_injected_events_are_at_least_20_km_from_ports_and_anchorages(day) -> None:
    _, truth = day
    # port calls (issue #19) are anomalies in port by definition
    events = truth[(truth["kind"] == "anomaly") & (truth["event_type"] != "port_call")]
    harbours = [p for p in DEFAULT_PLACES if p.kind in ("port", "anchorage")]
    for p in harbours:
        assert (haversine_km(events["lat"], events["lon"], p.lat, p.lon) >= 20).all()


def test_loitering_truth_matches_slow_pings(day) -> None:
    pings, truth = day
    for ev in truth[truth["event_type"] == "loitering"].itertuples():
        track = pings[(pings["mmsi"] == ev.mmsi)
                      & pings["timestamp"].between(ev.start_time, ev.end_time)]
        assert 5 <= hours(ev.end_time - ev.start_time) <= 14
        assert (track["sog"] < 1.0).all()


def test_dark_period_truth_matches_the_silence(day) -> None:
    pings, truth = day
    dark = truth[truth["event_type"] == "dark_period"]
    assert dark["end_time"].isna().sum() == 1  # one still dark at the end of the data
    for ev in dark.itertuples():
        track = pings[pings["mmsi"] == ev.mmsi]["timestamp"]
        silent = track.between(ev.start_time, ev.end_time if not pd.isna(ev.end_time)
                               else pings["timestamp"].max())
        assert not silent.any()
        assert (track < ev.start_time).sum() > 30  # it reported densely before


def test_mmsi_change_keeps_the_imo_and_changes_the_flag_nearby(day) -> None:
    pings, truth = day
    changes = truth[(truth["event_type"] == "identity_change") & truth["other_mmsi"].notna()
                    & truth["note"].str.startswith("new MMSI")]  # not the two-transponder yacht
    assert len(changes) >= 1
    for ev in changes.itertuples():
        old = pings[pings["mmsi"] == ev.other_mmsi].iloc[-1]
        new = pings[pings["mmsi"] == ev.mmsi].iloc[0]
        assert old["imo"] == new["imo"]
        assert str(ev.mmsi)[:3] != str(ev.other_mmsi)[:3]
        assert hours(new["timestamp"] - old["timestamp"]) <= 1.0
        assert haversine_km(old["lat"], old["lon"], new["lat"], new["lon"]) <= 5.0


def test_identities_are_realistic(day) -> None:
    pings, _ = day
    mmsis = pings["mmsi"].drop_duplicates().astype(str)
    # only the fleet on an unallocated MID and its buoys (ais.synth.identity) are irregular
    irregular = ~mmsis.str.fullmatch(r"[2-7]\d{8}")
    assert irregular.any() and mmsis[irregular].str.fullmatch(r"(150|98150)\d+").all()
    assert not mmsis.str.endswith("000000").any()
    imos = pings["imo"].dropna().drop_duplicates()
    assert len(imos) > 10
    assert all(imo_check_digit(i[:6]) == int(i[6]) for i in imos)


def test_benign_look_alikes_are_recorded_and_can_be_left_out(day) -> None:
    _, truth = day
    benign = set(truth.loc[truth["kind"] == "benign", "event_type"])
    assert benign >= {"anchorage_wait", "berth_stay", "tug_alongside", "fishing",
                      "reception_hole", "padded_name"}
    _, plain = generate(seed=11, n_background=12, events_per_type=1, benign=False)
    assert set(plain["kind"]) == {"anomaly"}


def test_generate_pings_makes_exactly_n_sorted_rows() -> None:
    df = generate_pings(50_000, seed=3)
    assert len(df) == 50_000
    assert_canonical(df)
    pd.testing.assert_frame_equal(df, generate_pings(50_000, seed=3))


# -- files -------------------------------------------------------------------------------------


def test_write_scenario_is_byte_identical_and_truth_round_trips(tmp_path: Path) -> None:
    kw = dict(n_background=6, events_per_type=1, areas=("Najin",))
    pq1, csv1 = write_scenario(tmp_path / "a", seed=5, name="s", **kw)
    pq2, csv2 = write_scenario(tmp_path / "b", seed=5, name="s", **kw)
    assert pq1.read_bytes() == pq2.read_bytes()
    assert csv1.read_bytes() == csv2.read_bytes()
    _, truth = generate(seed=5, **kw)
    pd.testing.assert_frame_equal(read_truth(csv1), truth)
    assert "Z," in csv1.read_text()


@pytest.mark.parametrize("stem", sorted(FIXTURES))
def test_committed_fixtures_regenerate_byte_for_byte(tmp_path: Path, stem: str) -> None:
    committed = FIXTURE_DIR / f"{stem}.parquet"
    if not committed.exists():
        pytest.skip(f"{committed} not present")
    kw = dict(FIXTURES[stem])
    pq_path, csv_path = write_scenario(tmp_path, kw.pop("seed"), name=stem, **kw)
    for new, old in ((pq_path, committed), (csv_path, FIXTURE_DIR / f"{stem}.truth.csv")):
        assert hashlib.sha256(new.read_bytes()).hexdigest() == \
            hashlib.sha256(old.read_bytes()).hexdigest(), f"{old.name} differs: regenerate it"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(ais.synth.world, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_imo_check_digit_matches_a_known_number() -> None:
    assert imo_check_digit("911311") == 1  # IMO 9113111
    assert imo_check_digit("907472") == 9  # IMO 9074729 from the IMO's own worked example
    assert np.isfinite(haversine_km(38.0, 125.0, 38.0, 125.0))


# -- foreign-looking worlds (ais.synth.coverage) -----------------------------------------------


def test_generated_world_is_a_regional_extract_whose_edges_vessels_cross(day) -> None:
    from ais.synth.coverage import EXTRACT_KM

    pings, truth = day
    lat, lon = pings["lat"].to_numpy(), pings["lon"].to_numpy()
    to_port = np.minimum(haversine_km(lat, lon, 38.7167, 125.40),
                         haversine_km(lat, lon, 42.2333, 130.30))
    assert to_port.max() <= EXTRACT_KM
    assert (to_port > EXTRACT_KM - 5).sum() > 20  # tracks run up to the edge
    crossers = truth.loc[truth["event_type"] == "edge_crossing", "mmsi"]
    assert len(crossers) >= 2
    for mmsi in crossers:  # out across the edge, and back in
        own = pings[pings["mmsi"] == mmsi]
        gaps = own["timestamp"].diff().dt.total_seconds().fillna(0) / 3600
        assert gaps.max() > 3


def test_satellite_reporters_are_heard_every_15_to_45_minutes_with_missed_passes(day) -> None:
    pings, truth = day
    sparse = truth.loc[truth["event_type"] == "sparse_reporter", "mmsi"]
    assert len(sparse) >= 3
    checked = 0
    for mmsi in sparse:
        minutes = pings.loc[pings["mmsi"] == mmsi, "timestamp"].diff().dt.total_seconds() / 60
        minutes = minutes[minutes < 180]  # not the hours it spent outside the extract
        if len(minutes) >= 8:
            assert 15 <= minutes.median() <= 45
            checked += 1
    assert checked >= 2
    sat_loiter = truth[(truth["event_type"] == "loitering")
                       & truth["note"].str.contains("satellite")]
    assert len(sat_loiter) == 2  # one in each area
    own = pings[pings["mmsi"] == sat_loiter["mmsi"].iloc[0]]
    assert (own["timestamp"].diff().dt.total_seconds() > 2700).any()  # a pass missed


def test_world_has_its_harbour_nights_receiver_hole_and_sparse_anomalies(day) -> None:
    _, truth = day
    kinds = dict(zip(truth["event_type"], truth["kind"], strict=False))
    for label in ("harbour_night", "receiver_hole", "satellite_gap", "edge_crossing"):
        assert kinds.get(label) == "benign", label
    meet = truth[(truth["event_type"] == "meetup") & truth["note"].str.contains("satellite")]
    assert len(meet) == 1 and meet["kind"].iloc[0] == "anomaly"


def test_more_satellite_meetups_come_with_look_alikes_drifting_a_kilometre_apart() -> None:
    kw = dict(n_background=6, events_per_type=1, areas=("Najin",))
    _, one = generate(seed=5, **kw)
    _, three = generate(seed=5, sparse_meetups=3, **kw)
    pd.testing.assert_frame_equal(one, generate(seed=5, sparse_meetups=1, **kw)[1])

    def rows(truth: pd.DataFrame, kind: str, text: str) -> pd.DataFrame:
        return truth[(truth["kind"] == kind) & truth["note"].str.contains(text)]

    assert len(rows(three, "anomaly", "satellite reporters side by side")) == 3
    apart = rows(three, "benign", "not a meetup")
    assert len(apart) == 2 and (apart["event_type"] == "satellite_neighbours").all()
    assert apart["note"].str.extract(r"(\d+) m apart")[0].astype(int).between(800, 1200).all()
    # each vessel of a look-alike pair drifts for hours: loitering, recorded as such
    loiterers = rows(three, "anomaly", "beside a vessel")
    assert set(loiterers["mmsi"]) == set(apart["mmsi"]) | set(apart["other_mmsi"].astype(int))
    with pytest.raises(ValueError, match="sparse_meetups"):
        generate(seed=5, sparse_meetups=0, **kw)
