"""One behaviour is one module behind the Detector protocol plus one registry line: a toy
detector added that way is found, scored, explained, given ids, exported and drawn without
a change anywhere else."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ais import detectors
from ais.cli import main
from ais.config import Config
from ais.detectors import REGISTRY, Detector
from ais.events import EVENT_TYPES, conform
from ais.synth.world import vessel

SPEEDER = 412555001


def _toy() -> types.ModuleType:
    """'speeding': a vessel reporting more than 25 kn; rule-scored, one row per track."""
    toy = types.ModuleType("speeding")
    toy.EVENT_TYPE, toy.ID_PREFIX, toy.COLOUR = "speeding", "SPD", "#00ced1"
    toy.OTHER_ROLE, toy.AT_SEA, toy.FOREST, toy.NEEDS = "", False, False, ()
    toy.FEATURES = ("max_speed_kn",)

    def detect(tracks: pd.DataFrame, cfg: Config, window=None) -> pd.DataFrame:
        fast = tracks[pd.to_numeric(tracks["sog"], errors="coerce") > 25]
        g = fast.groupby(["mmsi", "track"], as_index=False)
        rows = g.agg(start_time=("timestamp", "min"), end_time=("timestamp", "max"),
                     lat=("lat", "first"), lon=("lon", "first"), max_speed_kn=("sog", "max"))
        rows["duration_h"] = (rows["end_time"] - rows["start_time"]).dt.total_seconds() / 3600
        rows["passes_rule"] = True
        rows["context"] = "at sea"
        return conform(rows, "speeding", toy.FEATURES)

    toy.detect = detect
    toy.decisive = lambda events, cfg: np.ones(len(events), dtype=bool)
    toy.rule_score = lambda events: np.full(len(events), 0.9)
    toy.reason = lambda ev: f"Sailed at up to {float(ev['max_speed_kn']):.0f} kn"
    return toy


@pytest.fixture
def with_toy(monkeypatch):
    monkeypatch.setitem(REGISTRY, "speeding", _toy())
    return REGISTRY["speeding"]


def test_every_registered_detector_satisfies_the_protocol():
    for name, module in REGISTRY.items():
        assert module.EVENT_TYPE == name
        for attr in Detector.__annotations__:
            assert hasattr(module, attr), (name, attr)
        for hook in ("detect", "decisive", "reason"):
            assert callable(getattr(module, hook)), (name, hook)
        if not module.FOREST:
            assert callable(getattr(module, "rule_score", None)), name
    assert set(REGISTRY) == set(EVENT_TYPES)
    assert len({m.ID_PREFIX for m in REGISTRY.values()}) == len(REGISTRY)


def test_a_toy_detector_added_by_one_registry_line_reaches_the_csv_and_the_views(
        with_toy, tmp_path):
    ship = vessel(SPEEDER, "FAST ONE", ship_type="cargo", at=(38.3, 124.5),
                  report_every_s=120).sail(to=(38.9, 124.2), speed_kn=30)
    src = tmp_path / "fast.parquet"
    ship.pings().to_parquet(src)
    out = tmp_path / "f.csv"
    result = CliRunner().invoke(main, ["scan", str(src), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    flagged = pd.read_csv(out)
    row = flagged[flagged["event_type"] == "speeding"].iloc[0]
    assert row["mmsi"] == SPEEDER and row["event_id"].startswith("SPD-")
    assert row["reason"].startswith("Sailed at up to 3")
    assert row["anomaly_score"] == pytest.approx(0.9) and row["rule_decisive"]
    report = tmp_path / "r.html"
    assert CliRunner().invoke(main, ["report", str(out), "-o", str(report)]).exit_code == 0
    assert ".event.speeding { border-left-color: #00ced1; }" in report.read_text()
    kml = tmp_path / "f.kml"
    exported = CliRunner().invoke(main, ["export", str(out), "--format", "kml", "-o", str(kml)])
    assert exported.exit_code == 0, exported.output
    assert "ffd1ce00" in kml.read_text()  # the toy's colour as KML's aabbggrr
    assert detectors.other_role("speeding") == "other vessel"


# --- partition-pure: the data window is given, never inferred -----------------------------

OIL_TERMINAL = (38.7202, 125.3702)
T0 = pd.Timestamp("2026-01-05T00:00Z")


def _world():
    """A tanker moors at Nampo's oil terminal and is last heard there at 16:00; a meetup of
    two ships ends at 20:00; another ship reports two days later."""
    from ais.synth.world import Scenario

    sc = Scenario(seed=7, report_every_s=300)
    sc.vessel(352123456, "OCEAN GRACE", ship_type="tanker", start=T0 + pd.Timedelta(hours=6),
              at=(38.68, 125.25)).sail(to=OIL_TERMINAL, speed_kn=8).moor(hours=8)
    for mmsi, lat in ((351234567, 38.40), (351234568, 38.4012)):
        sc.vessel(mmsi, "PAIR", ship_type="tanker", start=T0 + pd.Timedelta(hours=14),
                  at=(lat, 124.55), report_every_s=60).wait(hours=6)
    sc.vessel(412345077, "LATE ONE", ship_type="cargo", start=T0 + pd.Timedelta(hours=54),
              at=(38.2, 124.3)).sail(to=(38.0, 124.0), speed_kn=10)
    return sc.pings()


@pytest.mark.parametrize("event_type, mmsis", [
    ("port_call", [352123456]), ("meetup", [351234567, 351234568])])
def test_a_partition_given_the_whole_window_answers_as_the_whole_scan(event_type, mmsis):
    from ais.inputs.ingest import ingest_frame
    from ais.tracking.coverage import data_window
    from ais.tracking.tracks import build_tracks

    cfg = Config()
    tracks = build_tracks(ingest_frame(_world()).pings, cfg.tracks)
    whole = REGISTRY[event_type].detect(tracks, cfg, window=data_window(tracks))
    part = tracks[tracks["mmsi"].isin(mmsis)].reset_index(drop=True)
    alone = REGISTRY[event_type].detect(part, cfg, window=data_window(tracks))
    cols = ["mmsi", "start_time", "end_time", "duration_h", "is_open"]
    assert len(whole) == 1 and not whole["is_open"].iloc[0]
    pd.testing.assert_frame_equal(alone[cols], whole[cols])
    # without the window a partition would think its own last ping is the end of the data
    blind = REGISTRY[event_type].detect(part, cfg)
    assert blind["is_open"].iloc[0]
