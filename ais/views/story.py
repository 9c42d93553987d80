"""The story of one flagged event in plain text lines, for ``ais show EVENT_ID``.

Headline (type, id, score, reason), who was involved (both vessels' identities), what
happened when (first and last ping of each vessel in the window, the silences, identity
switches, closest approach), and how the event's features compare with the baseline the
forest was fitted on. Pure: takes the event and its pings, returns lines; the CLI prints.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ais.config import TrackConfig
from ais.detectors import REGISTRY, other_role
from ais.geography.geo import haversine_km
from ais.judging.scoring import QUANTILES, Models
from ais.views.triage import as_event, as_pings, is_missing, pings_for, vessels_of

#: Silences longer than this show in the timeline (the track builder's segment gap).
GAP_H = TrackConfig.gap_h
#: At most this many identity switches are listed per vessel.
MAX_SWITCHES = 6



def _text(value: object) -> str:
    """A value as text; missing values (None, NaN, NA, "") as ''."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _num(value: object, digits: int = 1) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return f"{v:.{digits}f}" if math.isfinite(v) else "?"


def _t(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%MZ") if pd.notna(ts) else "?"


def _pos(lat: float, lon: float) -> str:
    return (f"{abs(lat):.4f}{'N' if lat >= 0 else 'S'} "
            f"{abs(lon):.4f}{'E' if lon >= 0 else 'W'}")


def _headline(ev: pd.Series, models: Models | None) -> list[str]:
    score = pd.to_numeric(ev.get("anomaly_score"), errors="coerce")
    head = f"{ev['event_id']}  {ev['event_type']}  anomaly_score {_num(score, 3)}"
    model = models.types.get(ev["event_type"]) if models is not None else None
    detector = REGISTRY.get(ev["event_type"])
    if detector is not None and not detector.FOREST:
        head += (" (a documented rule score, not a comparison with a baseline: see "
                 f"`ais.detectors.{ev['event_type']}.rule_score`)")
    elif model is not None and model.forest is None:
        head += (f" (neutral: only {model.n_baseline} baseline {ev['event_type']} candidates,"
                 " too few for a forest)")
    elif pd.notna(score):
        head += (f" (more unusual than {score:.0%} of the baseline's "
                 f"{ev['event_type']} candidates)")
    lines = [head]
    if str(ev.get("rule_decisive")).lower() in ("true", "1"):
        lines.append("Flagged by its rule alone (rule_decisive), whatever the score.")
    lines.append(f"Reason: {_text(ev.get('reason')) or '?'}")
    end = ("still open at the end of the data" if pd.isna(ev.get("end_time"))
           else _t(ev["end_time"]))
    lines.append(f"When:   {_t(ev['start_time'])} -> {end} ({_num(ev.get('duration_h'))} h)")
    where = f"Where:  {_pos(float(ev['lat']), float(ev['lon']))}"
    if _text(ev.get("area")):
        where += f", watch area {_text(ev.get('area'))}"
    if _text(ev.get("nearest_port")):
        where += (f", {_num(ev.get('distance_to_port_km'))} km from "
                  f"{_text(ev.get('nearest_port'))}")
    if _text(ev.get("context")):
        where += f" ({_text(ev.get('context'))})"
    lines.append(where)
    return lines


def _identity_from_pings(pings: pd.DataFrame) -> dict[str, str]:
    """The most broadcast name, call sign, IMO and type of one vessel's pings."""
    out = {}
    for key, col in (("vessel_name", "name"), ("callsign", "callsign"), ("imo", "imo"),
                     ("vessel_type", "vessel_class")):
        if col in pings.columns and pings[col].notna().any():
            out[key] = _text(pings[col].mode(dropna=True).iloc[0])
    return out


def _identity_line(ev: pd.Series, prefix: str, mmsi: int, role: str,
                   pings: pd.DataFrame) -> str:
    fallback = _identity_from_pings(pings[pings["mmsi"] == mmsi])

    def field(name: str) -> str:
        return _text(ev.get(prefix + name)) or fallback.get(name, "")

    parts = [f"MMSI {mmsi}", field("vessel_name") or "(no name)"]
    for label, name in (("flag", "flag"), ("IMO", "imo"), ("call sign", "callsign")):
        if field(name):
            parts.append(f"{label} {field(name)}")
    kind = field("vessel_type") or _text(ev.get(prefix + "ship_type"))
    if kind:
        parts.append(f"type {kind}")
    return f"  {role:<14}" + " | ".join(parts)


def _identity_runs(p: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive pings of one vessel with the same (name, call sign, IMO); runs of
    a single ping (a garbled static message) are left out."""
    cols = [c for c in ("name", "callsign", "imo") if c in p.columns]
    if not cols or p.empty:
        return pd.DataFrame(columns=["key", "start", "end", "n"])
    key = p[cols].astype("string").fillna("").apply(lambda s: s.str.strip().str.upper())
    key = key.agg("|".join, axis=1)
    run = (key != key.shift()).cumsum()
    runs = pd.DataFrame({"key": key, "t": p["timestamp"], "run": run}).groupby("run").agg(
        key=("key", "first"), start=("t", "min"), end=("t", "max"), n=("t", "size"))
    runs = runs[runs["n"] >= 2]
    # merge neighbouring runs left with the same identity once single pings are dropped
    runs = runs[runs["key"] != runs["key"].shift()]
    return runs.reset_index(drop=True)


def _describe_switch(before: str, after: str) -> str:
    labels = ("name", "call sign", "IMO")
    changes = [f"{label} '{b}' -> '{a}'" for label, b, a
               in zip(labels, before.split("|"), after.split("|"), strict=False) if a != b]
    return "; ".join(changes)


def _vessel_moments(ev: pd.Series, mmsi: int, role: str, p: pd.DataFrame
                    ) -> list[tuple[pd.Timestamp, str]]:
    who = f"{role} {mmsi}"
    if p.empty:
        return []
    first, last = p.iloc[0], p.iloc[-1]
    moments = [
        (first["timestamp"], f"{who}: first ping in the window, {_pos(first['lat'], first['lon'])}"
         f", {_num(first.get('sog'))} kn"),
        (last["timestamp"], f"{who}: last ping in the window, {_pos(last['lat'], last['lon'])}"
         f", {_num(last.get('sog'))} kn"),
    ]
    for _, seg in p.groupby("track", sort=False):
        dt_h = seg["timestamp"].diff().dt.total_seconds().to_numpy() / 3600
        for i in np.flatnonzero(dt_h > GAP_H):  # loop over silences, not pings
            a, b = seg.iloc[i - 1], seg.iloc[i]
            km = float(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]))
            moments.append((a["timestamp"], f"{who}: goes silent at "
                            f"{_pos(a['lat'], a['lon'])} ({_num(dt_h[i])} h gap begins)"))
            moments.append((b["timestamp"], f"{who}: reappears after {_num(dt_h[i])} h, "
                            f"{_num(km)} km away"
                            f" (implied {_num(km / 1.852 / dt_h[i])} kn)"))
    runs = _identity_runs(p)
    switches = list(zip(runs["key"].iloc[:-1], runs["key"].iloc[1:], runs["start"].iloc[1:],
                        strict=True))
    for before, after, when in switches[:MAX_SWITCHES]:
        moments.append((when, f"{who}: identity switch: {_describe_switch(before, after)}"))
    if len(switches) > MAX_SWITCHES:
        moments.append((switches[-1][2], f"{who}: ... and {len(switches) - MAX_SWITCHES} "
                        "more identity switches"))
    return moments


def _closest_approach(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.Timestamp, float] | None:
    """When and how close two vessels came (pings paired within 10 minutes)."""
    if a.empty or b.empty:
        return None
    pairs = pd.merge_asof(
        a[["timestamp", "lat", "lon"]].sort_values("timestamp"),
        b[["timestamp", "lat", "lon"]].sort_values("timestamp"),
        on="timestamp", direction="nearest", tolerance=pd.Timedelta(minutes=10),
        suffixes=("", "_b")).dropna(subset=["lat_b"])
    if pairs.empty:
        return None
    d = haversine_km(pairs["lat"], pairs["lon"], pairs["lat_b"], pairs["lon_b"]) * 1000
    i = int(np.argmin(d))
    return pairs["timestamp"].iloc[i], float(d[i])


def _timeline(ev: pd.Series, pings: pd.DataFrame) -> list[str]:
    role_other = other_role(ev["event_type"])
    vessels = vessels_of(ev)
    moments: list[tuple[pd.Timestamp, str]] = [(ev["start_time"], "** event starts")]
    if pd.notna(ev.get("end_time")):
        moments.append((ev["end_time"], "** event ends"))
    else:
        moments.append((ev["start_time"], "** still open at the end of the data"))
    for i, mmsi in enumerate(vessels):
        p = pings[pings["mmsi"] == mmsi]
        moments += _vessel_moments(ev, mmsi, "vessel" if i == 0 else role_other, p)
    if len(vessels) == 2 and ev["event_type"] == "meetup":
        closest = _closest_approach(pings[pings["mmsi"] == vessels[0]],
                                    pings[pings["mmsi"] == vessels[1]])
        if closest is not None:
            moments.append((closest[0], f"closest approach: {closest[1]:.0f} m"))
    if pings.empty:
        return ["  (no pings of these vessels in the window)"] + [
            f"  {_t(t)}  {text}" for t, text in moments]
    moments.sort(key=lambda m: m[0])
    return [f"  {_t(t)}  {text}" for t, text in moments]


def _features(ev: pd.Series, models: Models | None) -> list[str]:
    model = models.types.get(ev["event_type"]) if models is not None else None
    if model is not None and model.n_baseline > 0 and all(
            f in ev.index for f in model.features):
        frame = ev[model.features].to_frame().T.apply(pd.to_numeric, errors="coerce")
        pct = model.percentile_of(frame)[0]
        q = model.feature_quantiles
        i10, i50, i90 = (int(np.searchsorted(QUANTILES, x - 1e-9)) for x in (0.1, 0.5, 0.9))
        lines = [f"  {'feature':<26}{'value':>10}  {'baseline p10 / p50 / p90':>26}  "
                 f"percentile   (n={model.n_baseline} baseline candidates)"]
        for j, name in enumerate(model.features):
            value = frame[name].iloc[0]
            p = pct[j]
            mark = "  <- unusual" if np.isfinite(p) and abs(p - 0.5) >= 0.4 else ""
            ref = f"{_num(q[i10, j], 2)} / {_num(q[i50, j], 2)} / {_num(q[i90, j], 2)}"
            shown = f"{p * 100:.0f}" if np.isfinite(p) else "-"
            lines.append(f"  {name:<26}{_num(value, 2):>10}  {ref:>26}  {shown:>10}{mark}")
        return lines
    why = ("the event row carries no feature values to compare with the models"
           if model is not None else "no models given")
    unusual = _text(ev.get("unusual_features"))
    if unusual:
        return [f"  from the CSV's unusual_features ({why}):"] + [
            f"  {part.strip()}" for part in unusual.split(";") if part.strip()]
    return [f"  no feature outside the baseline's 10th-90th percentiles was recorded ({why})"]


def story_lines(event: pd.Series, pings: pd.DataFrame, models: Models | None = None
                ) -> list[str]:
    """The event's story as lines of text.

    Args:
        event: one row of the flagged events (from a scan, or read back from the CSV).
        pings: the track rows of the event's vessel(s) around it; when the frame has an
            ``event_id`` column only this event's rows are used.
        models: the forests the event was scored with; gives the feature table against the
            baseline (when the event carries its feature columns). Without them the CSV's
            ``unusual_features`` are listed.
    """
    ev = as_event(event)
    p = pings_for(pings, ev["event_id"])
    p = as_pings(p)
    role_other = other_role(ev["event_type"])
    vessels = vessels_of(ev)
    lines = _headline(ev, models)
    lines += ["", "Vessels"]
    lines.append(_identity_line(ev, "", vessels[0], "vessel", p))
    if len(vessels) > 1:
        lines.append(_identity_line(ev, "other_", vessels[1], role_other, p))
    lines += ["", "Timeline (UTC)"] + _timeline(ev, p)
    lines += ["", "Features against the baseline"] + _features(ev, models)
    return lines
