"""Trust on foreign data (issue 15): irregular MMSIs kept and named, duplicates merged,
names compared as people read them, single static reports, gear set aside, dated chains,
two transponders on one hull, and identity scores that rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import identity_change
from ais.ingest import ingest, ingest_frame
from ais.mmsi import flag_label
from ais.synth import vessel

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
