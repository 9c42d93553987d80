"""Numbers and places in the words of a reason sentence (each detector's ``reason``)."""

from __future__ import annotations

import math

import pandas as pd


def num(x: object, digits: int = 1) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(v):
        return "?"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.0f}"


def where(ev: pd.Series) -> str:
    port = ev.get("nearest_port") or "the nearest port"
    return f"{num(ev.get('distance_to_port_km'), 0)} km from {port}"
