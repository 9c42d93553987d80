"""One story, one row: rows another flagged row already explains are dropped."""

from __future__ import annotations

import pandas as pd

from ais.pipeline import suppress_subsumed

T0 = pd.Timestamp("2021-01-08T00:00Z")


def events(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["event_type", "mmsi", "other_mmsi", "start_h", "end_h"])
    frame["other_mmsi"] = frame["other_mmsi"].astype("Int64")
    frame["start_time"] = T0 + pd.to_timedelta(frame.pop("start_h"), unit="h")
    frame["end_time"] = T0 + pd.to_timedelta(frame.pop("end_h"), unit="h")
    frame["duration_h"] = (frame["end_time"] - frame["start_time"]).dt.total_seconds() / 3600
    return frame


def test_loitering_during_the_vessels_own_meetup_is_dropped() -> None:
    out = suppress_subsumed(events(("loitering", 416000001, None, 4, 9),
                                   ("meetup", 416000002, 416000001, 5, 8)))
    assert list(out["event_type"]) == ["meetup"]


def test_loitering_and_a_meetup_of_other_vessels_both_stay() -> None:
    """Regression: no loiterer in any meetup made an empty join that crashed a real night."""
    out = suppress_subsumed(events(("loitering", 372768000, None, 4, 9),
                                   ("meetup", 416070900, 416239500, 5, 8)))
    assert sorted(out["event_type"]) == ["loitering", "meetup"]


def test_loitering_mostly_outside_the_meetup_stays() -> None:
    out = suppress_subsumed(events(("loitering", 416000001, None, 0, 20),
                                   ("meetup", 416000002, 416000001, 5, 8)))
    assert sorted(out["event_type"]) == ["loitering", "meetup"]
