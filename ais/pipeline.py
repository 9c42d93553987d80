"""The scan and the training run as library calls: ingest -> tracks -> detectors -> scoring.

Nothing here prints: results carry their own summary lines and notes for the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ais import scoring
from ais.config import Config
from ais.db import connect
from ais.detectors import REGISTRY
from ais.errors import ModelError
from ais.events import annotate_places
from ais.explain import reasons, unusual_features
from ais.identity import flag_of
from ais.ingest import CleaningReport, ingest
from ais.output import write_csv
from ais.tracks import build_tracks

#: The shipped default model (a source checkout or an editable install has it).
DEFAULT_MODELS = Path(__file__).resolve().parents[1] / "models"
FEATURES = {t: tuple(m.FEATURES) for t, m in REGISTRY.items()}


@dataclass
class Timings:
    """Wall seconds per stage, in the order the stages ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)

    def lines(self) -> list[str]:
        return [f"  {k:<18} {v:8.2f} s" for k, v in self.seconds.items()]


class _Stage:
    def __init__(self, timings: Timings, name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings.seconds[self.name] = time.perf_counter() - self.t0


@dataclass
class Detected:
    """Tracks and candidates of every type (annotated with area and port distance)."""

    report: CleaningReport
    tracks: pd.DataFrame
    candidates: dict[str, pd.DataFrame]


def detect(paths: Sequence[str | Path], cfg: Config, timings: Timings | None = None
           ) -> Detected:
    """Ingest, build tracks and run every detector."""
    timings = timings or Timings()
    with timings.stage("ingest"):
        ingested = ingest(paths, cfg.clean)
    return detect_pings(ingested.pings, ingested.report, cfg, timings)


def detect_pings(pings: pd.DataFrame, report: CleaningReport, cfg: Config,
                 timings: Timings | None = None) -> Detected:
    """Tracks and candidates from already-cleaned pings."""
    timings = timings or Timings()
    with timings.stage("tracks"):
        tracks = build_tracks(pings, cfg.tracks)
    candidates = {}
    for event_type, module in REGISTRY.items():
        with timings.stage(event_type):
            candidates[event_type] = annotate_places(module.detect(tracks, cfg), cfg)
    return Detected(report, tracks, candidates)


def _vessels(tracks: pd.DataFrame) -> pd.DataFrame:
    """Display identity per MMSI: the most broadcast raw name, call sign, IMO and type."""
    con = connect()
    con.register("t", tracks[["mmsi", "name", "callsign", "imo", "ship_type", "vessel_class"]])
    vessels = con.execute("""
        SELECT mmsi, mode(name) AS vessel_name, mode(callsign) AS callsign,
               mode(imo) AS imo, mode(ship_type) AS ship_type, mode(vessel_class) AS vessel_type
        FROM t GROUP BY mmsi
    """).df()
    con.close()
    flags = flag_of(vessels["mmsi"])
    vessels["flag"] = flags["flag"].to_numpy()
    vessels["flag_iso2"] = flags["flag_iso2"].to_numpy()
    return vessels


def _decisive(ev: pd.DataFrame, cfg: Config) -> np.ndarray:
    """Events whose rule alone justifies a flag, whatever the forest says (see ScoringConfig)."""
    t = ev["event_type"].iloc[0] if len(ev) else ""
    col = lambda name: ev[name] if name in ev.columns else pd.Series(0.0, index=ev.index)  # noqa: E731
    if t == "dark_period":
        return ((ev["duration_h"] >= cfg.dark_period.intentional_gap_h)
                & (col("neighbours_reporting") >= cfg.dark_period.min_neighbours)).to_numpy()
    if t == "identity_change":
        return ((col("flag_changed") == 1) | (col("dprk_involved") == 1)).to_numpy()
    if t == "meetup":
        return (col("either_dprk") == 1).to_numpy()
    return np.zeros(len(ev), dtype=bool)


def _overlap_h(a_start, a_end, b_start, b_end) -> np.ndarray:
    end = np.minimum(a_end.fillna(b_end), b_end.fillna(a_end))
    return (end - np.maximum(a_start, b_start)).dt.total_seconds().to_numpy() / 3600


def suppress_subsumed(events: pd.DataFrame) -> pd.DataFrame:
    """Drop rows that another flagged row already explains, so one story is one row.

    - loitering by a vessel during its own flagged meetup (the meetup row tells it), when
      they overlap for at least half the loitering;
    - the silence of an old MMSI that a flagged identity change shows was handed over to a
      new MMSI (the hull did not go dark; it changed its number).
    """
    drop = pd.Series(False, index=events.index)
    loiter = events[events["event_type"] == "loitering"].reset_index()
    meet = events[events["event_type"] == "meetup"]
    if len(loiter) and len(meet):
        sides = pd.concat([meet[["mmsi", "start_time", "end_time"]],
                           meet[["other_mmsi", "start_time", "end_time"]]
                           .rename(columns={"other_mmsi": "mmsi"})]).astype({"mmsi": "int64"})
        pairs = loiter[["index", "mmsi", "start_time", "end_time", "duration_h"]].merge(
            sides, on="mmsi", suffixes=("", "_m"))
        share = _overlap_h(pairs["start_time"], pairs["end_time"], pairs["start_time_m"],
                           pairs["end_time_m"]) / pairs["duration_h"].clip(lower=1e-9)
        drop[pairs.loc[share >= 0.5, "index"].to_numpy()] = True
    dark = events[events["event_type"] == "dark_period"].reset_index()
    ident = events[(events["event_type"] == "identity_change")
                   & (events.get("mmsi_changed", 0) == 1)]
    if len(dark) and len(ident):
        old = ident[["other_mmsi", "start_time"]].rename(
            columns={"other_mmsi": "mmsi", "start_time": "handover"}).astype({"mmsi": "int64"})
        pairs = dark[["index", "mmsi", "start_time"]].merge(old, on="mmsi")
        close = (pairs["start_time"] - pairs["handover"]).abs() <= pd.Timedelta(hours=1)
        drop[pairs.loc[close, "index"].to_numpy()] = True
    return events[~drop].reset_index(drop=True)


def score_events(detected: Detected, models: scoring.Models, cfg: Config) -> pd.DataFrame:
    """Score, flag, explain and rank the candidates; returns the flagged events."""
    vessels = _vessels(detected.tracks)
    flagged = []
    for event_type, cand in detected.candidates.items():
        if cand.empty:
            continue
        model = models.types[event_type]
        ev = cand.copy()
        ev["anomaly_score"] = model.score(ev)
        ev["rule_decisive"] = _decisive(ev, cfg) & cfg.scoring.decisive
        keep = ev["passes_rule"] & ((ev["anomaly_score"] >= cfg.scoring.threshold)
                                    | ev["rule_decisive"])
        ev = ev[keep].copy()
        if ev.empty:
            continue
        ev["unusual_features"] = unusual_features(ev, model)
        flagged.append(ev)
    if not flagged:
        return pd.DataFrame()
    events = suppress_subsumed(pd.concat(flagged, ignore_index=True))
    events["reason"] = reasons(events)
    ident = vessels.set_index("mmsi")
    for prefix, key in (("", "mmsi"), ("other_", "other_mmsi")):
        joined = ident.reindex(events[key].astype("Int64").astype("float").astype("Int64"))
        for col in ("vessel_name", "flag", "imo", "ship_type", "vessel_type", "callsign"):
            events[prefix + col] = joined[col].to_numpy()
    events["track_id"] = events["mmsi"].astype(str) + "_" + events["track"].astype(str)
    events["anomaly_score"] = events["anomaly_score"].round(4)
    return events.sort_values(["anomaly_score", "event_id"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)


@dataclass
class ScanResult:
    """What a scan did: the cleaning report, the events written, notes and stage timings."""

    report: CleaningReport
    events: pd.DataFrame
    output: Path
    tracks: int
    candidates: dict[str, int]
    timings: Timings
    notes: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = list(self.report.lines())
        lines.append(f"built {self.tracks:,} vessel tracks; candidates: " + ", ".join(
            f"{k} {v}" for k, v in self.candidates.items()))
        lines.extend(self.notes)
        counts = self.events["event_type"].value_counts() if len(self.events) else {}
        per_type = ", ".join(f"{k} {v}" for k, v in sorted(dict(counts).items())) or "none"
        lines.append(f"flagged {len(self.events)} events ({per_type}); wrote {self.output}")
        return lines


def load_models(models_dir: str | Path | None, detected: Detected, cfg: Config
                ) -> tuple[scoring.Models, str]:
    """The models to score with, and a note saying which were used."""
    if models_dir is not None:
        return scoring.load(models_dir, FEATURES), f"scored with the models in {models_dir}"
    try:
        return (scoring.load(DEFAULT_MODELS, FEATURES),
                f"scored with the shipped default models ({DEFAULT_MODELS})")
    except ModelError as exc:
        models = scoring.fit(detected.candidates, FEATURES, cfg.seed,
                             {"trained_on": "the scanned data itself"})
        return models, (f"no usable default model ({exc}); fitted the forests on the scanned "
                        "data itself, so scores say how unusual an event is within this scan")


def run_scan(paths: Sequence[str | Path], output: str | Path, cfg: Config,
             models_dir: str | Path | None = None) -> ScanResult:
    """The nightly scan: detect, score against the models, write the CSV atomically."""
    timings = Timings()
    detected = detect(paths, cfg, timings)
    with timings.stage("scoring"):
        models, note = load_models(models_dir, detected, cfg)
        events = score_events(detected, models, cfg)
    with timings.stage("output"):
        out = write_csv(events, output)
    n_tracks = int(detected.tracks[["mmsi", "track"]].drop_duplicates().shape[0])
    return ScanResult(detected.report, events, out, n_tracks,
                      {k: len(v) for k, v in detected.candidates.items()}, timings, [note])


def run_train(paths: Sequence[str | Path], models_dir: str | Path, cfg: Config
              ) -> tuple[scoring.Models, Detected, Path]:
    """Fit the forests on the candidates of a baseline window and save them."""
    detected = detect(paths, cfg)
    times = detected.tracks["timestamp"]
    meta = {
        "trained_on": [str(p) for p in paths],
        "training_window": [times.min().isoformat() if len(times) else None,
                            times.max().isoformat() if len(times) else None],
        "rows": detected.report.rows_out,
        "thresholds": {"scoring.threshold": cfg.scoring.threshold},
    }
    models = scoring.fit(detected.candidates, FEATURES, cfg.seed, meta)
    path = scoring.save(models, models_dir)
    return models, detected, path
