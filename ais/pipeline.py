"""The scan and the training run as library calls: ingest -> tracks -> detectors -> scoring.

Nothing here prints: results carry their own summary lines and notes for the CLI.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ais.config import Config, rules
from ais.db import connect
from ais.detectors import REGISTRY, needs, partner_columns, uses_forest
from ais.errors import ExitCode, ModelError
from ais.events import annotate_places
from ais.geography import anchorages as anch
from ais.geography import land, ports
from ais.inputs.identity import flag_of
from ais.inputs.ingest import CleaningReport, count_rows, ingest
from ais.inputs.mmsi import flag_label, irregularity
from ais.judging import scoring, waits
from ais.judging.explain import reasons, unusual_features
from ais.judging.surprises import (
    WARNING,
    area_warning,
    baseline_kind,
    synthetic_baseline_note,
    watch_area_warning,
)
from ais.nightly import routes
from ais.nightly.carry import (
    EVENT_PING_COLUMNS,
    combine,
    event_vessels,
    kept_event_pings,
    kept_partner_pings,
    night_of,
    night_out,
    night_span,
    partner_links,
    partners_out,
    reconcile,
    with_earlier,
    with_partner_pings,
)
from ais.nightly.state import CarryConfig, Night, State
from ais.runtime import stopping
from ais.runtime.held import Here, all_mmsis, count_tracks
from ais.runtime.shares import by_vessel
from ais.tracking import gear as fishing_gear
from ais.tracking.coverage import DataWindow, window_facts, window_of
from ais.tracking.tracks import build_tracks
from ais.views.output import format_events, write_csv

#: The shipped default models (inside the installed package, or models/ of a checkout).
DEFAULT_MODELS = scoring.default_models_dir()
FEATURES = {t: tuple(m.FEATURES) for t, m in REGISTRY.items() if uses_forest(t)}
#: Types found from the tracks (on the detector threads) and types paired from their results.
FROM_TRACKS = tuple(t for t in REGISTRY if not needs(t))
PAIRED = tuple(t for t in REGISTRY if needs(t))
#: Added to a dark period's calibrated score when a DPRK (or configured) port was reachable
#: during its silence (:mod:`ais.detectors.reachable`): a documented nudge up the ranking.
DPRK_REACHABLE_BONUS = 0.1


#: The stages of a scan, in order (for progress displays).
SCAN_STAGES = ("ingest", "tracks", "loitering", "signals",
               *(t for t in FROM_TRACKS if t != "loitering"), *PAIRED, "scoring", "state",
               "output")


@dataclass
class Timings:
    """Wall seconds per stage, in the order the stages ran.

    ``on_stage(name, seconds)`` is called when a stage starts (``seconds`` None) and ends, so
    a caller can show progress or log each stage; the library itself never prints.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    on_stage: Callable[[str, float | None], None] | None = None
    #: perf_counter at the first stage's start and the last stage's end
    span: list[float] = field(default_factory=list)

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)

    def record(self, name: str, seconds: float) -> None:
        """Add ``seconds`` of work measured elsewhere (e.g. on another thread) to ``name``."""
        if self.on_stage:
            self.on_stage(name, None)
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        if self.on_stage:
            self.on_stage(name, seconds)

    @property
    def total(self) -> float:
        """Wall seconds from the first stage's start to the last one's end (stages that ran
        on threads overlap, so this is less than the sum of the stages)."""
        return self.span[-1] - self.span[0] if len(self.span) == 2 else 0.0

    def lines(self) -> list[str]:
        return [f"  {k:<18} {v:8.2f} s" for k, v in self.seconds.items()] + [
            f"  {'total (wall)':<18} {self.total:8.2f} s"]


class _Stage:
    def __init__(self, timings: Timings, name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        if self.timings.on_stage:
            self.timings.on_stage(self.name, None)
        self.t0 = time.perf_counter()
        if not self.timings.span:
            self.timings.span.append(self.t0)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        end = time.perf_counter()
        seconds = end - self.t0
        self.timings.span[1:] = [end]
        self.timings.seconds[self.name] = self.timings.seconds.get(self.name, 0.0) + seconds
        if self.timings.on_stage and exc_type is None:
            self.timings.on_stage(self.name, seconds)


@dataclass
class Detected:
    """Tracks and candidates of every type (annotated with area and port distance)."""

    report: CleaningReport
    tracks: pd.DataFrame | None
    candidates: dict[str, pd.DataFrame]
    #: per MMSI spoofing signs (see ais.geography.land.vessel_signals)
    signals: pd.DataFrame | None = None
    #: anchorages used: those given (stored beside the models) and those learned here
    anchorages: pd.DataFrame | None = None
    #: fishing gear and buoys set aside (mmsi, why; see ais.tracking.gear)
    gear: pd.DataFrame | None = None
    #: what the scan's reader should know of how the stage ran (a lost Dask worker)
    notes: list[str] = field(default_factory=list)
    #: rows the paired detectors keep for tomorrow, by type: tonight's (their ``partners``
    #: hook) and those earlier nights kept (``earlier`` of :func:`detect_pings`)
    partners: dict[str, pd.DataFrame] = field(default_factory=dict)
    earlier: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: the stationary pings the learned anchorages came from, earlier nights' and tonight's
    #: (:func:`ais.geography.anchorages.still`; None without a state)
    still: pd.DataFrame | None = None
    #: the tracks where they are held (:mod:`ais.runtime.held`): ``tracks`` itself in one
    #: process; on a cluster's workers (``tracks`` is then None), asked there
    held: Any = None


def detect(paths: Sequence[str | Path], cfg: Config, timings: Timings | None = None,
           *, skip_bad_files: bool = False, anchorages: pd.DataFrame | None = None
           ) -> Detected:
    """Ingest, build tracks and run every detector (``skip_bad_files``: see ``ingest``)."""
    timings = timings or Timings()
    with timings.stage("ingest"):
        ingested = ingest(paths, cfg.clean, skip_bad_files=skip_bad_files)
    return detect_pings(ingested.pings, ingested.report, cfg, timings, anchorages=anchorages)


def detect_pings(pings: pd.DataFrame, report: CleaningReport, cfg: Config,
                 timings: Timings | None = None, *, workers: int = 2,
                 anchorages: pd.DataFrame | None = None, client: Any = None,
                 earlier: dict[str, pd.DataFrame] | None = None,
                 still_before: pd.DataFrame | None = None,
                 since: pd.Timestamp | None = None, held: Any = None) -> Detected:
    """Tracks and candidates from already-cleaned pings.

    The detectors and the spoofing signs are independent pure functions of the tracks; they
    run on ``workers`` threads (numpy and DuckDB release the GIL, so two cores both work).
    Each stage's seconds are its own wall time, so on two threads they overlap.
    Anchorages learned from ``tracks`` join the ``anchorages`` given
    (:mod:`ais.geography.anchorages`);
    every candidate then meets the checks of :mod:`ais.judging.waits` (ports of the table, learned
    anchorages, navigational status, shore, vessel roles).

    With a Dask ``client`` (``distributed.Client``, :mod:`ais.runtime.cluster`) the detector
    stage runs on its cluster instead of the threads, with the same result; the tracks, the
    paired types, the links and everything after stay here.

    ``earlier``: candidates earlier nights kept as rows for the paired detectors (the state's
    ``partners``, :func:`ais.nightly.carry.with_earlier`): they pair with tonight's, and are
    never reported again as events of their own type.

    ``still_before``: the stationary pings of earlier nights (the state's, by vessel and
    cell); with it, anchorages are learned from those and tonight's own pings (at or after
    ``since``), as one scan of all those nights would learn them, not from tonight alone.

    ``held``: the tracks already built where they are held (:mod:`ais.runtime.held`; on a
    cluster's workers, from the shares they read: :func:`ais.runtime.cluster.
    build_share_tracks`); ``pings`` is then unused. Every question after the tracks (the
    anchorages, the window, the partitions and halos, the paired types' vessels) is asked
    where they are, so the client holds answers, not the pings.
    """
    earlier = earlier or {}
    timings = timings or Timings()
    with timings.stage("tracks"):
        if held is None:
            held = Here(build_tracks(pings, cfg.tracks))
        still = None
        if still_before is None:
            learned = anch.learn_from_still(by_vessel(held.map(anch.still, cfg)), cfg)
        else:
            still = anch.add_still(still_before, by_vessel(held.map(anch.still, cfg, since)))
            learned = anch.learn_from_still(still, cfg)
        known = anch.combine(anchorages, learned)
        # the data's span and extent, given to every detector (never inferred by one)
        window = window_of(held.map(window_facts))

    from_tracks = tuple(t for t in REGISTRY if not needs(t))
    paired = tuple(t for t in REGISTRY if needs(t))
    # the longest first, so the two threads finish together
    jobs = ("loitering", "signals", *(t for t in from_tracks if t != "loitering")) \
        if "loitering" in from_tracks else ("signals", *from_tracks)
    results: dict[str, Any] = {}
    notes: list[str] = []
    if client is not None:  # on a Dask cluster (ais.runtime.cluster), in the same order
        from ais.runtime.cluster import run_jobs

        for name, (result, seconds) in run_jobs(client, jobs, held, cfg, window,
                                                 known, notes).items():
            results[name] = result
            timings.record(name, seconds)
    else:
        # each job runs in a copy of this context, so the DuckDB memory limit and spill
        # folder of ais.db.memory_limit reach the connections the detectors open on their
        # threads
        pool = concurrent.futures.ThreadPoolExecutor(max(1, workers),
                                                     thread_name_prefix="ais-detect")
        tracks = held.frame
        try:
            futures = {name: pool.submit(contextvars.copy_context().run, detect_job, name,
                                         tracks, cfg, window, known)
                       for name in jobs}
            for name in jobs:  # in a fixed order, whatever finishes first
                results[name], seconds = futures[name].result()
                timings.record(name, seconds)
        finally:  # a failure or a stop (SIGTERM) does not wait for the jobs not yet started
            pool.shutdown(wait=True, cancel_futures=True)
    signals, gear = results["signals"]
    candidates = {t: fishing_gear.set_aside(results[t], gear) for t in from_tracks}
    partners: dict[str, pd.DataFrame] = {}
    for name in paired:  # pairs of other types' candidates (events, not pings)
        t0 = time.perf_counter()
        given = {t: with_earlier(candidates.get(t), earlier.get(t)) for t in needs(name)}
        # a paired type reads per-vessel facts of a few vessels' tracks: those its module
        # names (else every vessel of the given candidates), then those of the rows that
        # pass for the waits; only their rows, and the columns read, are fetched
        columns = _paired_columns(name, held.columns)
        module: Any = REGISTRY[name]
        mine = held.of_vessels(module.track_vessels(cfg, given)
                               if hasattr(module, "track_vessels") else
                               _vessels_of_all(given), columns)
        found = annotate_places(module.detect(mine, cfg, given), cfg)
        mine = held.of_vessels(event_vessels(found[found["passes_rule"].astype(bool)]),
                               columns)
        candidates[name] = _checked(name, found, mine, cfg, known)
        del mine
        if hasattr(REGISTRY[name], "link_back"):
            candidates = REGISTRY[name].link_back(candidates, candidates[name])  # type: ignore[attr-defined]
        if hasattr(REGISTRY[name], "partners"):
            partners.update(REGISTRY[name].partners(candidates, cfg))  # type: ignore[attr-defined]
        timings.record(name, time.perf_counter() - t0)
    for name, module in REGISTRY.items():
        if hasattr(module, "link"):
            candidates[name] = module.link(candidates[name], candidates, cfg)
    candidates = {t: candidates[t] for t in REGISTRY}
    return Detected(report, held.frame if isinstance(held, Here) else None, candidates,
                    signals, known, gear, notes, partners, earlier, still, held)


def detect_job(name: str, tracks: pd.DataFrame, cfg: Config, window: DataWindow,
               known: pd.DataFrame, around: pd.DataFrame | None = None
               ) -> tuple[Any, float]:
    """One job of the detector stage and its seconds: a type found from the tracks (its
    detector given the whole scan's ``window``, the places, then :func:`_checked`), or
    "signals" (the spoofing signs and the fishing gear to set aside, ais.tracking.gear).
    ``around``: a partition's halo, for a type that reads other vessels' pings
    (:data:`ais.runtime.partitions.WITH_HALO`).

    A module-level function of its arguments only, so a Dask worker can run it
    (:mod:`ais.runtime.cluster`)."""
    t0 = time.perf_counter()
    if name == "signals":
        return ((land.vessel_signals(tracks, cfg), fishing_gear.find(tracks)),
                time.perf_counter() - t0)
    module = REGISTRY[name]
    halo: dict[str, pd.DataFrame] = {}
    own = None
    if around is not None and getattr(module, "HALO", "") == "vessels":
        # the halo's vessels take part (a meeting's other vessel); the events of the
        # partition's own vessels are kept. The tracks are sorted by MMSI and the two hold
        # different vessels: a stable sort by MMSI puts every row in the whole's order.
        own = tracks["mmsi"].unique()
        both = pd.concat([tracks, around], ignore_index=True)
        order = np.argsort(both["mmsi"].to_numpy(np.int64), kind="stable")
        tracks = both.take(order).reset_index(drop=True)
        del both
    elif around is not None:  # evidence only (the dark periods' reception)
        halo = {"around": around}
    found = annotate_places(module.detect(tracks, cfg, window=window, **halo), cfg)
    if own is not None:
        found = found[found["mmsi"].astype("int64").isin(own).to_numpy()].reset_index(
            drop=True)
    return _checked(name, found, tracks, cfg, known), time.perf_counter() - t0


def _vessels_of_all(given: dict[str, pd.DataFrame | None]) -> np.ndarray:
    """The MMSIs taking part in any of the ``given`` candidates."""
    found = [event_vessels(g) for g in given.values() if g is not None and len(g)]
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)


def _paired_columns(name: str, columns: Sequence[str]) -> list[str] | None:
    """The tracks' columns a paired type reads with the checks after it (its module's and
    :mod:`ais.judging.waits`'s ``TRACK_COLUMNS``); None (all) when its module does not say,
    or has an ``annotate`` hook of its own."""
    module = REGISTRY[name]
    own = getattr(module, "TRACK_COLUMNS", None)
    if own is None or hasattr(module, "annotate"):
        return None
    wanted = {"mmsi", *own, *waits.TRACK_COLUMNS}
    return [c for c in columns if c in wanted]


def _checked(name: str, found: pd.DataFrame, tracks: pd.DataFrame, cfg: Config,
             known: pd.DataFrame) -> pd.DataFrame:
    """A detector's candidates after the checks every type meets: at sea when its module
    says it is at sea by definition, the waits (:mod:`ais.judging.waits`), then the module's
    own ``annotate`` hook if it has one."""
    module = REGISTRY[name]
    if module.AT_SEA:
        found = land.at_sea_only(found, cfg)
    found = waits.apply(found, name, tracks, cfg, known)
    if hasattr(module, "annotate"):
        found = module.annotate(found, tracks, cfg)
    return found


def _vessels(held: Any, mmsis: pd.Series) -> pd.DataFrame:
    """Display identity of the vessels ``mmsis``: the most broadcast raw name, call sign, IMO
    and type (asked where the tracks are held: one row per vessel)."""
    wanted = pd.to_numeric(mmsis).dropna().astype("int64")
    parts = held.map(_identity_modes, wanted.unique())
    vessels = parts[0] if len(parts) == 1 else pd.concat(
        [p.astype({c: object for c in p.columns if c != "mmsi"}) for p in parts],
        ignore_index=True)
    flags = flag_of(vessels["mmsi"])
    vessels["flag"] = flag_label(vessels["mmsi"]).to_numpy()  # or what is irregular
    vessels["flag_iso2"] = flags["flag_iso2"].to_numpy()
    return vessels


def _identity_modes(tracks: pd.DataFrame, mmsis: np.ndarray) -> pd.DataFrame:
    """The most broadcast raw name, call sign, IMO and type of the vessels ``mmsis`` that
    ``tracks`` holds (a tie: the smallest value, the same on every run)."""
    con = connect()
    con.register("t", tracks[["mmsi", "name", "callsign", "imo", "ship_type", "vessel_class"]])
    con.register("wanted", pd.DataFrame({"mmsi": np.asarray(mmsis, np.int64)}))
    vessels = con.execute("""
        -- mode(x ORDER BY x): a tie goes to the smallest value, the same on every run
        SELECT mmsi, mode(name ORDER BY name) AS vessel_name,
               mode(callsign ORDER BY callsign) AS callsign, mode(imo ORDER BY imo) AS imo,
               mode(ship_type ORDER BY ship_type) AS ship_type,
               mode(vessel_class ORDER BY vessel_class) AS vessel_type
        FROM t SEMI JOIN wanted USING (mmsi) GROUP BY mmsi
    """).df()
    con.close()
    return vessels


def _decisive(ev: pd.DataFrame, cfg: Config) -> np.ndarray:
    """Events whose rule alone justifies a flag, whatever the score says (each module's
    ``decisive``; see ScoringConfig). ``ev`` holds events of one type."""
    if ev.empty:
        return np.zeros(0, dtype=bool)
    return np.asarray(REGISTRY[ev["event_type"].iloc[0]].decisive(ev, cfg), dtype=bool)


def _overlap_h(a_start: pd.Series, a_end: pd.Series, b_start: pd.Series, b_end: pd.Series
               ) -> np.ndarray:
    """Hours two intervals overlap (an open end overlaps as far as the other one goes).
    Pandas' own comparisons keep the datetime dtype even for zero rows (numpy's do not)."""
    a_end, b_end = a_end.fillna(b_end), b_end.fillna(a_end)
    end = a_end.where(a_end <= b_end, b_end)
    start = a_start.where(a_start >= b_start, b_start)
    return (end - start).dt.total_seconds().to_numpy() / 3600


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
    flagged = []
    for event_type, cand in detected.candidates.items():
        if cand.empty:
            continue
        model = models.types[event_type] if uses_forest(event_type) else None
        ev = cand.copy()
        if model is None:  # no forest for this type: its module's documented rule score
            who = _vessels(detected.held, ev["mmsi"]).set_index("mmsi")
            ev["flag_iso2"] = who["flag_iso2"].reindex(ev["mmsi"]).to_numpy()
            ev["vessel_type"] = who["vessel_type"].reindex(ev["mmsi"]).to_numpy()
            ev["anomaly_score"] = REGISTRY[event_type].rule_score(ev)  # type: ignore[attr-defined]
        else:
            ev["anomaly_score"] = scoring.score(event_type, model, ev)
        if "dprk_port_reachable" in ev.columns:
            ev["anomaly_score"] = np.clip(ev["anomaly_score"] + DPRK_REACHABLE_BONUS
                                          * ev["dprk_port_reachable"].fillna(0), 0, 1)
        ev["rule_decisive"] = _decisive(ev, cfg) & cfg.scoring.decisive
        keep = ev["passes_rule"] & ((ev["anomaly_score"] >= cfg.scoring.threshold)
                                    | ev["rule_decisive"])
        ev = ev[keep].copy()
        if ev.empty:
            continue
        ev["unusual_features"] = (unusual_features(ev, model) if model is not None
                                  else pd.Series("", index=ev.index, dtype="str"))
        flagged.append(ev)
    if not flagged:
        return pd.DataFrame()
    events = suppress_subsumed(pd.concat(flagged, ignore_index=True))
    events["reason"] = reasons(events)
    if detected.signals is not None:
        signs = land.spoofing_sentences(events["mmsi"], detected.signals)
        events["reason"] = (events["reason"] + " " + signs).str.strip()
    odd = irregularity(events["mmsi"]).to_numpy()
    events["reason"] = (events["reason"] + " " + np.where(
        odd != "", "Irregular MMSI: " + odd.astype(str) + ".", "")).str.strip()
    ident = _vessels(detected.held, pd.concat([events["mmsi"], events["other_mmsi"]])
                     ).set_index("mmsi")
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
    run_id: int | None = None
    night: Night | None = None

    def summary_lines(self) -> list[str]:
        lines = list(self.report.lines())
        lines.append(f"built {self.tracks:,} vessel tracks; candidates: " + ", ".join(
            f"{k} {v}" for k, v in self.candidates.items()))
        lines.extend(n for n in self.notes if not n.startswith(WARNING))
        counts = self.events["event_type"].value_counts() if len(self.events) else {}
        per_type = ", ".join(f"{k} {v}" for k, v in sorted(dict(counts).items())) or "none"
        status = ""
        if "status" in self.events.columns and len(self.events):
            st = self.events["status"].value_counts()
            status = f"; {st.get('new', 0)} new, {st.get('continuing', 0)} continuing"
        lines.append(f"flagged {len(self.events)} events ({per_type}){status}; "
                     f"wrote {self.output}")
        lines.extend(self.warnings)  # last, where a reader of the summary looks
        return lines

    @property
    def warnings(self) -> list[str]:
        """Notes that say the result may be empty or misleading for a reason to fix."""
        return [n for n in self.notes if n.startswith(WARNING)]

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


def _irregular_note(held: Any, show: int = 5) -> list[str]:
    """The scan summary's line on kept MMSIs of an irregular form (a signal, not an error)."""
    mmsis = pd.Series(all_mmsis(held))
    odd = irregularity(mmsis)
    hit = odd[odd != ""]
    if hit.empty:
        return []
    kinds = hit.str.replace(r" \(.*| \d+$", "", regex=True).value_counts()
    return [f"kept {len(hit)} MMSI(s) of an irregular form, named in their events' flag and "
            "reason: " + ", ".join(f"{k} {v}" for k, v in kinds.head(show).items())]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("ais", "pandas", "numpy", "pyarrow", "duckdb", "scikit-learn", "movingpandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    return out


def _event_rows(events: pd.DataFrame) -> list[str]:
    """Each event's CSV row and feature values as JSON (what the state keeps for show,
    export and report)."""
    if events.empty:
        return []
    rows = format_events(events)
    features = sorted({f for fs in FEATURES.values() for f in fs} & set(events.columns))
    rows[features] = events[features].to_numpy()  # for `ais show`'s features table
    return rows.to_json(orient="records", lines=True, date_format="iso").splitlines()


#: Inputs of at most this many rows load the models while they are read (the read is short,
#: and the scan would otherwise wait about a second for the models at scoring); larger ones
#: load them while the tracks are built, since beside DuckDB's read they slowed it by as much
#: as they saved (1 M pings: 3.3 -> 2.65 s; 10 M pings: the read took 4.4-5.3 s instead of
#: 3.0-3.3 s).
PREFETCH_DURING_INGEST_ROWS = 3_000_000


def _prefetch(models_dir: str | Path | None, cfg: Config) -> threading.Thread:
    """Unpack the land grid of the watch areas and load the models (and scikit-learn) in a
    background thread, while the main thread reads a small input or builds the tracks of a
    large one (numpy work on one core, which releases the GIL): on two cores about a second
    of a scan done for free (see :data:`PREFETCH_DURING_INGEST_ROWS`)."""
    def work() -> None:
        # a failure here is met again, and reported, where the scan needs the thing
        with contextlib.suppress(Exception):
            land.warm(cfg)
        with contextlib.suppress(Exception):
            ports.port_index(cfg)
        with contextlib.suppress(Exception):
            scoring.load(models_dir if models_dir is not None else DEFAULT_MODELS, FEATURES)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                              name="ais-prefetch", daemon=True)
    thread.start()
    return thread


def run_scan(paths: Sequence[str | Path], output: str | Path, cfg: Config,
             models_dir: str | Path | None = None, *, state: State | None = None,
             carry: CarryConfig | None = None, timings: Timings | None = None,
             skip_bad_files: bool = False, pushdown: bool = False,
             client: Any = None) -> ScanResult:
    """The nightly scan: detect, score against the models, write the CSV atomically.

    ``client``: a Dask ``distributed.Client`` to run the detector stage on (see
    :func:`detect_pings`; the CLI's ``--cluster``); without it, two local threads.

    ``pushdown``: read only the rows inside ``cfg.clean.since``/``until`` (not counting the
    others); used to scan a long input one day at a time (:mod:`ais.nightly.byday`).

    With a ``state``, the scan starts from the pings the previous night carried over, gives
    continuing events their earlier ids, leaves out events reported on an earlier night that
    did not continue, and commits tonight's carry, events and run log in one transaction
    after the CSV is written.
    """
    timings = timings or Timings()
    if models_dir is not None:  # a bad model fails the scan before the long part
        scoring.load(models_dir, FEATURES)
    carry = carry or CarryConfig()
    notes: list[str] = []
    run_id = None
    if state is not None:
        run_id, stale = state.begin_run([str(p) for p in paths], str(output))
        notes.extend(stale)
    shares, held = None, None  # on a cluster: what the workers hold, let go at the end
    try:
        window = None
        if pushdown:  # ais.nightly.byday sets both ends of each window
            since, until = cfg.clean.since, cfg.clean.until
            if since is None or until is None:  # ingest would fail on None.replace
                raise ValueError("pushdown needs cfg.clean.since and cfg.clean.until")
            window = (since, until)
        # a small input is read before the models would be loaded: load them beside it
        rows = count_rows(paths)
        prefetch = (_prefetch(models_dir, cfg) if rows is not None
                    and rows <= PREFETCH_DURING_INGEST_ROWS else None)
        with timings.stage("ingest"):
            if client is not None:  # each worker reads its share, if it sees the files
                from ais.runtime.cluster import read_on_workers

                shares = read_on_workers(client, paths, cfg, skip_bad_files, window, notes)
            ingested = (None if shares is not None else
                        ingest(paths, cfg.clean, skip_bad_files=skip_bad_files,
                               window=window))
        stored = anch.load(models_dir if models_dir is not None else DEFAULT_MODELS)
        prefetch = prefetch or _prefetch(models_dir, cfg)
        if ingested is not None:
            night = night_of(ingested.pings, cfg.clean.since, cfg.clean.until)
            # hold tonight's pings in one place only: once the carry is put before them,
            # the frame ingest returned is garbage (else it would sit beside the combined)
            report, pings = ingested.report, ingested.pings
            outside = watch_area_warning(pings, cfg)  # tonight's, not the carried ones
        else:
            assert shares is not None
            night = night_span(shares.first, shares.last, cfg.clean.since, cfg.clean.until)
            report, pings = shares.report, None
            outside = area_warning([f.area for f in shares.facts], cfg)
        from_night, n_carried = None, 0
        earlier: dict[str, pd.DataFrame] = {}
        still_before = None
        carried = None
        del ingested
        if state is not None and night is not None:
            seen, from_night = state.previous_nights(night)
            notes.extend(seen)
            carried = state.carry(from_night, night)
            n_carried = len(carried)
            if n_carried:
                notes.append(f"state: carried {n_carried:,} pings of "
                             f"{carried['mmsi'].nunique():,} vessels from the night starting "
                             f"{from_night:%Y-%m-%d %H:%M} UTC")
            if pings is not None:
                pings = combine(carried, pings)
                carried = None
            earlier = state.partners(from_night)
            still_before = state.still(from_night)
        if outside:
            notes.append(outside)
        if shares is not None:  # built and held on the workers, each share's with its carry
            with timings.stage("tracks"):
                from ais.runtime.cluster import build_share_tracks

                held = build_share_tracks(client, shares, carried, cfg)
        del carried
        detected = detect_pings(pings, report, cfg, timings, anchorages=stored,
                                client=client, earlier=earlier, still_before=still_before,
                                since=night.start if night is not None else None, held=held)
        del pings  # the detected tracks hold what is needed
        notes.extend(detected.notes)
        with timings.stage("scoring"):
            prefetch.join()
            models, note = load_models(models_dir, detected, cfg)
            events = score_events(detected, models, cfg)
        notes.append(note)
        synthetic = synthetic_baseline_note(models.meta)
        if synthetic:
            notes.append(synthetic)
        notes.extend(land.signal_notes(detected.signals))
        notes.extend(fishing_gear.note(detected.gear))
        notes.extend(_irregular_note(detected.held))
        if state is not None and night is not None:
            with timings.stage("state"):
                reported = state.reported(night.start - pd.Timedelta(days=carry.keep_days))
                events = reconcile(events, reported, night)
                events = routes.annotate(events, state.port_calls())
        with timings.stage("output"):
            out = write_csv(events, output)
        n_tracks = count_tracks(detected.held)
        result = ScanResult(report, events, out, n_tracks,
                            {k: len(v) for k, v in detected.candidates.items()}, timings,
                            notes, run_id, night)
        if state is not None:
            with timings.stage("state"):
                _commit(state, result, detected, from_night, n_carried, carry)
        return result
    except BaseException as exc:
        if state is not None and run_id is not None:
            why = stopping.failure(exc)  # a signal that landed inside a DuckDB query
            state.fail_run(run_id, int(getattr(why, "exit_code", ExitCode.ERROR)),
                           f"{type(why).__name__}: {why}")
        raise
    finally:
        if held is not None:
            held.release()
        if shares is not None:
            shares.release(client)


def _commit(state: State, result: ScanResult, detected: Detected,
            from_night: pd.Timestamp | None, n_carried: int, carry: CarryConfig) -> None:
    """Store tonight in the state: carry, identities, events with their pings, run log."""
    night, events = result.night, result.events
    assert result.run_id is not None  # begun in this state when the scan started
    run = {
        "exit_code": int(ExitCode.after_run(getattr(result.report, "bad_files", None))),
        "carried_from": from_night, "rows_in": result.report.rows_in,
        "rows_out": result.report.rows_out, "carried_pings": n_carried,
        "candidates": result.candidates, "flagged": len(events),
        "new": int((events.get("status", pd.Series(dtype=str)) == "new").sum()),
        "continued": int((events.get("status", pd.Series(dtype=str)) == "continuing").sum()),
        "seconds": {k: round(v, 3) for k, v in result.timings.seconds.items()},
        "versions": _versions(), "notes": result.notes,
    }
    if night is None:  # nothing usable tonight: log the run, keep yesterday's carry
        state.commit_night(result.run_id, None, carry=None, events=events,
                           event_rows=_event_rows(events), event_pings=pd.DataFrame(),
                           identities=None, run=run)
        return
    held = detected.held
    # each part's identities and carry where the tracks are (the carry reads the identities'
    # rows in its own part), put together in MMSI order
    outs = held.map(night_out, detected.candidates, night, carry, events)
    identities = by_vessel([i for i, _ in outs])
    carried = by_vessel([c for _, c in outs], held.categories)
    del outs
    columns = [c for c in EVENT_PING_COLUMNS if c in held.columns]
    kept = partners_out(detected.partners, detected.earlier, night, carry.keep_days)
    found = [f["event_id"] for f in detected.partners.values() if len(f)]
    tonights = kept[kept["event_id"].isin(pd.concat(found))] if found and len(kept) else None
    # an event paired with a row an earlier night kept (a dark meetup with an earlier wait)
    # is stored with the pings that night kept of the row: only those rows' pings are read
    links = partner_links(events, partner_columns())
    before = [f["event_id"] for f in detected.earlier.values() if len(f)]
    wanted = links["partner_id"][links["partner_id"].isin(pd.concat(before))] if before else []
    state.commit_night(
        result.run_id, night,
        carry=carried,
        events=events, event_rows=_event_rows(events),
        event_pings=with_partner_pings(
            kept_event_pings(events, held, columns), links,
            state.partner_pings(from_night, sorted(set(wanted)))),
        identities=identities[identities["pings"] > 0],
        partners=kept,
        partner_pings=kept_partner_pings(tonights, held, columns),
        partners_from=from_night,
        still=(None if detected.still is None else detected.still[
            detected.still["last_seen"] >= night.end - pd.Timedelta(days=carry.keep_days)]),
        run=run)


def run_train(paths: Sequence[str | Path], models_dir: str | Path, cfg: Config,
              *, skip_bad_files: bool = False) -> tuple[scoring.Models, Detected, Path]:
    """Fit the forests on the candidates of a baseline window and save them."""
    detected = detect(paths, cfg, skip_bad_files=skip_bad_files)
    assert detected.tracks is not None  # one process: the tracks are here
    times = detected.tracks["timestamp"]
    meta = {
        "trained_on": detected.report.files,
        "training_window": [times.min().isoformat() if len(times) else None,
                            times.max().isoformat() if len(times) else None],
        "rows": detected.report.rows_out,
        "baseline": baseline_kind(list(detected.report.files)),
        "thresholds": {"scoring.threshold": cfg.scoring.threshold},
        "rules": rules(cfg),  # every threshold the baseline's candidates were found with
    }
    models = scoring.fit(detected.candidates, FEATURES, cfg.seed, meta)
    path = scoring.save(models, models_dir)
    anch.save(detected.anchorages if detected.anchorages is not None else anch.empty(),
              models_dir)
    return models, detected, path
