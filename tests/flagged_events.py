"""Real inputs for the analyst views: the flagged events of the Nampo fixture day, scored
with the shipped models, and the pings of each event's vessels around it.

Computed once per test session (a scan takes a few seconds); tests must not mutate them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from ais.config import Config
from ais.judging.scoring import Models

from .conftest import FIXTURES


@dataclass(frozen=True)
class Flagged:
    events: pd.DataFrame
    tracks: pd.DataFrame
    pings: pd.DataFrame
    models: Models
    cfg: Config

    def event(self, event_type: str) -> pd.Series:
        """The highest-ranked event of a type."""
        return self.events[self.events["event_type"] == event_type].iloc[0]


@functools.cache
def nampo_flagged() -> Flagged:
    from ais import pipeline
    from ais.views.triage import event_pings

    cfg = Config()
    detected = pipeline.detect([FIXTURES / "nampo_day.parquet"], cfg)
    models, _ = pipeline.load_models(None, detected, cfg)
    events = pipeline.score_events(detected, models, cfg)
    return Flagged(events, detected.tracks, event_pings(events, detected.tracks), models, cfg)
