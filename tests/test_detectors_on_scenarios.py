"""All detectors together on generated days: truth found, benign look-alikes left alone."""

from __future__ import annotations

import pandas as pd
import pytest

from ais.config import Config
from ais.events import EVENT_TYPES
from ais.inputs.ingest import ingest_frame
from ais.judging.evaluate import match
from ais.pipeline import detect_pings
from ais.synth.world import generate

LOOK_ALIKE_OF = {
    "anchorage_wait": "loitering", "berth_stay": "loitering", "fishing": "meetup",
    "tug_alongside": "meetup", "reception_hole": "dark_period", "padded_name": "identity_change",
    # foreign-data look-alikes (ais.synth.coverage)
    "edge_crossing": "dark_period", "satellite_gap": "dark_period",
    "receiver_hole": "dark_period", "harbour_night": "dark_period",
    "sparse_reporter": "dark_period",
}


@pytest.fixture(scope="module")
def scenario():
    pings, truth = generate(21, days=1, events_per_type=4)  # a seed no fixture uses
    ingested = ingest_frame(pings)
    return detect_pings(ingested.pings, ingested.report, Config()), truth


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_rule_passing_candidates_find_the_injected_events(scenario, event_type):
    detected, truth = scenario
    truth = truth[(truth["kind"] == "anomaly") & (truth["event_type"] == event_type)]
    cand = detected.candidates[event_type]
    passing = cand[cand["passes_rule"]].reset_index(drop=True)
    found = {j for j in match(passing, truth.reset_index(drop=True)) if j >= 0}
    assert len(found) / len(truth) >= 0.95


@pytest.mark.parametrize("label", sorted(LOOK_ALIKE_OF))
def test_benign_look_alikes_do_not_pass_the_rule(scenario, label):
    detected, truth = scenario
    benign = truth[truth["event_type"] == label]
    if benign.empty:
        pytest.skip(f"seed 21 generated no {label}")
    event_type = LOOK_ALIKE_OF[label]
    cand = detected.candidates[event_type]
    passing = cand[cand["passes_rule"]].reset_index(drop=True)
    as_truth = benign.assign(event_type=event_type, other_mmsi=pd.NA).reset_index(drop=True)
    if event_type == "meetup":  # a look-alike involves the vessel, whichever side it is on
        swapped = passing.assign(mmsi=passing["other_mmsi"])
        passing = pd.concat([passing, swapped], ignore_index=True).assign(other_mmsi=pd.NA)
    hits = [j for j in match(passing, as_truth) if j >= 0]
    assert not hits, f"{label} flagged as {event_type}: {benign.iloc[hits]['note'].tolist()}"


def test_detectors_on_two_threads_find_exactly_what_one_thread_finds(scenario):
    detected, _ = scenario
    ingested = ingest_frame(generate(21, days=1, events_per_type=4)[0])
    alone = detect_pings(ingested.pings, ingested.report, Config(), workers=1)
    assert list(alone.candidates) == list(detected.candidates)
    for event_type, cand in detected.candidates.items():
        assert len(cand) > 0, event_type
        pd.testing.assert_frame_equal(cand, alone.candidates[event_type], obj=event_type)
    pd.testing.assert_frame_equal(detected.signals, alone.signals)
