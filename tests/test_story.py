"""`ais show EVENT_ID`'s story: who, what happened when, and the features against the
baseline, on the flagged events of the Nampo fixture day and on tiny hand-made tracks."""

from __future__ import annotations

import pandas as pd
import pytest

from ais.views.output import write_csv
from ais.views.story import story_lines
from ais.views.triage import as_events, event_pings

from .conftest import ping_frame
from .flagged_events import nampo_flagged


@pytest.fixture(scope="module")
def flagged():
    return nampo_flagged()


def _csv_events(flagged, tmp_path) -> pd.DataFrame:
    """The events as an analyst's CSV gives them back: strings for times, no features."""
    path = write_csv(flagged.events, tmp_path / "flagged.csv")
    return pd.read_csv(path)


def _hhmm(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%MZ")


def test_meetup_story_names_both_vessels_and_their_first_and_last_pings(flagged):
    ev = flagged.event("meetup")
    text = "\n".join(story_lines(ev, flagged.pings, flagged.models))
    assert text.splitlines()[0].startswith(f"{ev['event_id']}  meetup  anomaly_score")
    assert ev["reason"] in text
    for prefix, key in (("", "mmsi"), ("other_", "other_mmsi")):
        line = next(li for li in text.splitlines() if f"MMSI {int(ev[key])} |" in li)
        for col in ("vessel_name", "flag", "callsign"):
            assert str(ev[prefix + col]) in line
        assert str(int(ev[prefix + "imo"])) in line
    mine = flagged.pings[flagged.pings["event_id"] == ev["event_id"]]
    for mmsi in (ev["mmsi"], ev["other_mmsi"]):
        times = mine.loc[mine["mmsi"] == mmsi, "timestamp"]
        assert f"{_hhmm(times.min())}  " in text and f"{_hhmm(times.max())}  " in text
    assert "closest approach" in text


def test_timeline_is_in_time_order_and_brackets_the_event(flagged):
    ev = flagged.event("meetup")
    lines = story_lines(ev, flagged.pings, flagged.models)
    start = lines.index("Timeline (UTC)") + 1
    end = lines.index("", start)
    stamps = [line.split("  ")[1] for line in lines[start:end]]
    assert stamps == sorted(stamps)
    assert any("event starts" in line for line in lines[start:end])
    assert any("event ends" in line for line in lines[start:end])


def test_dark_period_story_shows_the_gap_from_last_ping_before_to_first_after(flagged):
    ev = flagged.event("dark_period")
    text = "\n".join(story_lines(ev, flagged.pings, flagged.models))
    assert f"{_hhmm(ev['start_time'])}  vessel {ev['mmsi']}: goes silent" in text
    assert f"{_hhmm(ev['end_time'])}  vessel {ev['mmsi']}: reappears after " \
           f"{ev['duration_h']:.1f} h" in text


def test_features_table_marks_what_the_csv_calls_unusual(flagged):
    ev = flagged.event("dark_period")
    lines = story_lines(ev, flagged.pings, flagged.models)
    table = lines[lines.index("Features against the baseline") + 2:]
    features = flagged.models.types["dark_period"].features
    assert [line.split()[0] for line in table] == list(features)
    marked = {line.split()[0] for line in table if line.endswith("<- unusual")}
    named = {part.split()[0] for part in ev["unusual_features"].split("; ")}
    assert named and named <= marked


def test_story_from_the_csv_lists_its_unusual_features_and_the_identity_switch(
        flagged, tmp_path):
    csv = _csv_events(flagged, tmp_path)
    # the story of any row lists the unusual features its CSV row names (which rows have
    # some depends on the shipped baseline: take the first that does)
    with_features = csv[csv["unusual_features"].fillna("") != ""].iloc[0]
    text = "\n".join(story_lines(with_features, flagged.pings, flagged.models))
    for part in with_features["unusual_features"].split("; "):
        assert part in text
    ev = csv[(csv["event_type"] == "identity_change") & csv["other_mmsi"].isna()].iloc[0]
    text = "\n".join(story_lines(ev, flagged.pings, flagged.models))
    scanned = flagged.events.set_index("event_id").loc[ev["event_id"]]
    assert f"name '{scanned['name_before']}' -> '{scanned['name_after']}'" in text


def test_mmsi_change_calls_the_other_mmsi_previous(flagged):
    events = flagged.events
    ev = events[(events["event_type"] == "identity_change") & events["other_mmsi"].notna()
                ].iloc[0]
    lines = story_lines(ev, flagged.pings)
    assert any(line.strip().startswith(f"previous MMSI MMSI {int(ev['other_mmsi'])}")
               for line in lines)


def test_an_event_without_pings_still_has_a_story(flagged):
    ev = flagged.event("loitering")
    lines = story_lines(ev, flagged.pings.iloc[:0])
    assert "  (no pings of these vessels in the window)" in lines
    assert any(ev["reason"] in line for line in lines)


def test_a_single_garbled_name_is_not_an_identity_switch():
    rows = [(1, f"2026-01-05 00:{m:02d}", 38.5, 124.5, "SEA STAR", "ABC1")
            for m in range(0, 50, 5)]
    rows[4] = (1, "2026-01-05 00:20", 38.5, 124.5, "SE@ ST#R", "ABC1")  # one garbled ping
    rows += [(1, f"2026-01-05 01:{m:02d}", 38.5, 124.5, "SUN RISE", "XYZ9")
             for m in range(0, 30, 5)]
    pings = ping_frame(rows, ("mmsi", "timestamp", "lat", "lon", "name", "callsign"))
    event = pd.Series({"event_id": "IDC-x", "event_type": "identity_change", "mmsi": 1,
                       "other_mmsi": None, "start_time": "2026-01-05T00:45:00Z",
                       "end_time": "2026-01-05T01:00:00Z", "duration_h": 0.25, "lat": 38.5,
                       "lon": 124.5, "anomaly_score": 0.7, "reason": "renamed"})
    switches = [line for line in story_lines(event, pings) if "identity switch" in line]
    assert len(switches) == 1
    assert "name 'SEA STAR' -> 'SUN RISE'" in switches[0]
    assert "call sign 'ABC1' -> 'XYZ9'" in switches[0]


def test_event_pings_keep_only_the_event_vessels_within_the_padded_window(flagged):
    ev = as_events(flagged.events.head(3))
    pings = event_pings(ev, flagged.tracks, pad_h=2.0)
    for _, event in ev.iterrows():
        mine = pings[pings["event_id"] == event["event_id"]]
        assert not mine.empty
        assert set(mine["mmsi"]) <= {event["mmsi"], event["other_mmsi"]}
        assert mine["timestamp"].min() >= event["start_time"] - pd.Timedelta(hours=2)
        assert mine["timestamp"].max() <= event["end_time"] + pd.Timedelta(hours=2)


def test_event_pings_are_the_same_whatever_the_order_of_the_tracks(flagged):
    # sorted tracks are searched by vessel and time; any other order is filtered row by row
    ev = as_events(flagged.events)
    sorted_pings = event_pings(ev, flagged.tracks)
    shuffled = event_pings(ev, flagged.tracks.sample(frac=1, random_state=3))
    assert len(sorted_pings) > 0 and set(sorted_pings["event_id"]) == set(ev["event_id"])
    pd.testing.assert_frame_equal(sorted_pings.reset_index(drop=True),
                                  shuffled.reset_index(drop=True))
    # the window is inclusive at both ends, as DuckDB's join has it
    first = ev.iloc[0]
    at_edge = event_pings(ev.head(1), flagged.tracks, pad_h=0.0)
    assert at_edge["timestamp"].min() >= first["start_time"]


def test_csv_times_and_an_open_end_read_back_as_utc_timestamps(flagged, tmp_path):
    back = as_events(_csv_events(flagged, tmp_path))
    pd.testing.assert_series_equal(back["start_time"], flagged.events["start_time"]
                                   .dt.as_unit(back["start_time"].dt.unit), check_names=False)
    open_ = flagged.events["end_time"].isna()
    assert open_.any() and back.loc[open_, "end_time"].isna().all()


def test_a_state_without_stored_tracks_gives_a_story_and_a_map(flagged):
    from ais.views.maps import event_map

    ev = flagged.event("meetup")
    assert any(ev["reason"] in line for line in story_lines(ev, pd.DataFrame()))
    assert event_map(ev, pd.DataFrame(), flagged.cfg, small=True).startswith(b"\x89PNG")


def test_a_rule_scored_event_does_not_claim_a_baseline_comparison(flagged):
    """Port calls and dark meetups have no forest: their score is a documented rule, and
    the story must not say 'more unusual than 80% of the baseline's candidates'."""
    ev = flagged.event("port_call")
    head = story_lines(ev, flagged.pings, flagged.models)[0]
    assert "documented rule score" in head
    assert "more unusual than" not in head
    meetup = story_lines(flagged.event("meetup"), flagged.pings, flagged.models)[0]
    assert "more unusual than" in meetup
