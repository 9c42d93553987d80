"""Words for analysts: one ``reason`` sentence per event and the features that made it unusual.

``reason`` states what happened with numbers and units, built from the event's own fields.
``unusual_features`` compares each feature with the baseline the forest was fitted on, e.g.
"duration_h 31.2 (baseline p99 9.5)", most extreme first; it is derived from the model's
baseline quantiles, not from fixed text. A feature is listed only when its value breaks the
reference it quotes: above the highest baseline percentile it exceeds (at least the
``1 - tail`` one), or below the lowest one it falls under; a value equal to the baseline's
extreme (``in_port 0.00`` where most of the baseline is 0) is not unusual.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ais.judging.scoring import QUANTILES, TypeModel


def _num(x: object, digits: int = 1) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(v):
        return "?"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.0f}"


def _where(ev: pd.Series) -> str:
    port = ev.get("nearest_port") or "the nearest port"
    return f"{_num(ev.get('distance_to_port_km'), 0)} km from {port}"


def _loitering(ev: pd.Series) -> str:
    return (f"Loitered {_num(ev['duration_h'])} h at {_num(ev.get('mean_speed_kn'))} kn mean "
            f"within {_num(ev.get('radius_km'))} km, {_where(ev)} ({ev.get('context', '')})")


def _reachable(ev: pd.Series) -> str:
    ports = ev.get("reachable_ports")
    return f"; could have called at {ports}" if isinstance(ports, str) and ports else ""


def _dark(ev: pd.Series) -> str:
    n = ev.get("neighbours_reporting")
    others = (f"while {_num(n, 0)} other vessel{'' if n == 1 else 's'} kept reporting nearby"
              if pd.notna(n) else "")
    if bool(ev.get("is_open")):
        return (f"Dark for {_num(ev['duration_h'])} h and still silent at the end of the data, "
                f"last seen {_where(ev)} {others}").strip() + _reachable(ev)
    return (f"Dark {_num(ev['duration_h'])} h starting {_where(ev)} {others}; reappeared "
            f"{_num(ev.get('distance_km'), 0)} km away (implied "
            f"{_num(ev.get('implied_speed_kn'))} kn)") + _reachable(ev)


def _meetup(ev: pd.Series) -> str:
    other = str(ev.get("other_mmsi", ""))
    who = ev.get("other_name")
    flag = ev.get("other_flag_iso2")
    partner = other + (f" ({who}" if isinstance(who, str) and who else " (") + (
        f", {flag})" if isinstance(flag, str) and flag else ")")
    partner = partner.replace(" ()", "")
    dark = "; a vessel went dark just before or after" if ev.get("dark_before_after") == 1 \
        else ""
    return (f"Alongside {partner} for {_num(ev['duration_h'])} h at "
            f"{_num(ev.get('median_distance_m'), 0)} m median distance and "
            f"{_num(ev.get('median_speed_kn'))} kn, {_where(ev)}{dark}")


def _identity(ev: pd.Series) -> str:
    parts = []
    if ev.get("two_transponders") == 1:
        return (f"One hull, two transponders: MMSI {ev['mmsi']} and MMSI {ev['other_mmsi']} "
                "send the same hull identity from the same place over the same hours "
                f"({_num(float(ev.get('handover_km', 0) or 0) * 1000, 0)} m apart in median "
                f"over {_num(ev.get('n_switches'), 0)} paired reports), {_where(ev)}")
    if ev.get("mmsi_changed") == 1:
        fb, fa = ev.get("flag_before") or "?", ev.get("flag_after") or "?"
        parts.append(f"new MMSI {ev['mmsi']} ({fa}) took over from {ev['other_mmsi']} ({fb}) "
                     f"{_num(ev.get('handover_gap_h'))} h and {_num(ev.get('handover_km'))} km "
                     "apart with the same hull identity")
    if ev.get("name_changed") == 1:
        parts.append(f"name '{ev.get('name_before')}' -> '{ev.get('name_after')}'")
    if ev.get("callsign_changed") == 1:
        parts.append(f"call sign {ev.get('callsign_before')} -> {ev.get('callsign_after')}")
    if ev.get("imo_changed") == 1:
        parts.append(f"IMO {ev.get('imo_before')} -> {ev.get('imo_after')}")
    text = "Identity change: " + "; ".join(parts)
    n = ev.get("n_switches")
    k = ev.get("n_identities")
    size = ev.get("chain_size")
    if pd.notna(size) and float(size) > 1 and ev.get("name_changed") == 1:
        text += (f" (rename {int(ev.get('chain_index'))} of {int(size)} in this track"
                 + (f", {int(n)} switches among {int(k)} names" if pd.notna(n) and pd.notna(k)
                    and float(n) > float(size) else "") + ")")
    elif pd.notna(n) and float(n) > 1 and pd.notna(k) and float(k) > 2:
        text += f" ({int(n)} changes among {int(k)} names)"
    elif pd.notna(n) and float(n) > 1:
        text += f" ({int(n)} switches back and forth)"
    if ev.get("shared_mmsi") == 1:
        text += (f"; another ship {_num(ev.get('shared_mmsi_km'), 0)} km away broadcast the "
                 "same new name under this MMSI at about the same time (a shared MMSI), so "
                 "the name may be the other ship's")
    return text + f", {_where(ev)}"


_REASONS = {"loitering": _loitering, "dark_period": _dark, "meetup": _meetup,
            "identity_change": _identity}


def reasons(events: pd.DataFrame) -> pd.Series:
    """One sentence per event (loops over events, never over pings)."""
    from ais.detectors import REGISTRY

    def one(ev: pd.Series) -> str:
        t = ev["event_type"]
        return _REASONS[t](ev) if t in _REASONS else REGISTRY[t].reason(ev)

    return pd.Series([one(ev) for _, ev in events.iterrows()],
                     index=events.index, dtype="str")


def _broken_reference(value: float, quantiles: np.ndarray, tail: float
                      ) -> tuple[str, float] | None:
    """("p99", 9.5) or ("max", 11.3): the most extreme baseline percentile that ``value``
    lies strictly beyond, when it is at least as far out as the ``tail`` (p90 or above / p10
    or below); None when the value breaks no such reference."""
    if not np.isfinite(value) or not np.isfinite(quantiles).any():
        return None
    finite = np.isfinite(quantiles)
    above = np.flatnonzero(finite & (value > quantiles) & (QUANTILES >= 1 - tail - 1e-9))
    below = np.flatnonzero(finite & (value < quantiles) & (QUANTILES <= tail + 1e-9))
    if len(above):
        i = int(above.max())
    elif len(below):
        i = int(below.min())
    else:
        return None
    pct = round(QUANTILES[i] * 100)
    return {0: "min", 100: "max"}.get(pct, f"p{pct:d}"), float(quantiles[i])


def unusual_features(events: pd.DataFrame, model: TypeModel, top: int = 3,
                     tail: float = 0.10) -> pd.Series:
    """The features most outside the baseline, in words, for events of the model's type:
    each with the baseline percentile its value breaks (see :func:`_broken_reference`)."""
    if events.empty or model.n_baseline == 0:
        return pd.Series("", index=events.index, dtype="str")
    pct = model.percentile_of(events)
    values = events[model.features].to_numpy(dtype=float, na_value=np.nan)
    extreme = np.abs(np.nan_to_num(pct, nan=0.5) - 0.5)
    out = []
    for i in range(len(events)):  # loop over events
        order = np.argsort(-extreme[i], kind="stable")
        words: list[str] = []
        for j in order:
            if len(words) == top:
                break
            p = pct[i, j]
            if not np.isfinite(p) or abs(p - 0.5) < 0.5 - tail:
                continue
            ref = _broken_reference(values[i, j], model.feature_quantiles[:, j], tail)
            if ref is None:
                continue
            words.append(f"{model.features[j]} {_num(values[i, j], 2)} "
                         f"(baseline {ref[0]} {_num(ref[1], 2)})")
        out.append("; ".join(words))
    return pd.Series(out, index=events.index, dtype="str")
