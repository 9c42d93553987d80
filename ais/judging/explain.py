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

import numpy as np
import pandas as pd

from ais.detectors.words import num
from ais.judging.scoring import QUANTILES, TypeModel


def reasons(events: pd.DataFrame) -> pd.Series:
    """One sentence per event (loops over events, never over pings)."""
    from ais.detectors import REGISTRY

    def one(ev: pd.Series) -> str:
        return REGISTRY[ev["event_type"]].reason(ev)

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
            words.append(f"{model.features[j]} {num(values[i, j], 2)} "
                         f"(baseline {ref[0]} {num(ref[1], 2)})")
        out.append("; ".join(words))
    return pd.Series(out, index=events.index, dtype="str")
