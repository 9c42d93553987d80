"""anomaly_score for identity changes: a documented rarity model, not a forest.

Real identity changes are too rare for a forest: a baseline week holds a handful, so the
forest was never fitted and every change scored 0.5, sinking below the forests' scores. The
score here answers the same question the forests' calibrated scores answer ("more unusual
than what share of ordinary traffic?"), but over *identity observations*: each vessel's
identity record in the window is one, and nearly all of them show no change at all. A change
scores ``1 - p``, where ``p`` estimates the share of ordinary vessel-weeks whose identity
record is at least this unusual:

``p = BASE[kind] * product of FACTORS that apply`` (clipped to ``[P_MIN, 1]``)

Base rates (assumptions, stated so they can be argued with and changed in one place):

- ``name``: a vessel broadcasts an unrelated new name about once in 250 vessel-weeks (ships
  change hands at roughly 3-5 % of the fleet a year, and operators fix misconfigured names;
  truncations, padding and respellings are not changes here, see :mod:`ais.inputs.names`);
- ``similar_name`` (one character edit, e.g. 'LURONGYU0788' -> 'LURONGYU50788'): typo fixes,
  about ten times as common (a new hull number, 'LURONGYU 9485' -> 'LURONGYU 2903', is a new
  name);
- ``callsign`` / ``imo`` alone: corrections of a mistyped field, one in 300;
- ``mmsi``: one hull under a new MMSI (a reflag or a new transponder), one in 1,000;
- ``two_transponders``: one hull heard on two MMSIs at once, one in 200 (yachts and work boats
  with a class-A and a class-B set are not rare).

Factors (each < 1 makes the change rarer, > 1 commoner):

- a DPRK flag on either side: x 0.05 (the behaviour this tool watches for);
- a new flag (the MID changed): x 0.2; the new flag is an ITF flag of convenience: x 0.5;
- an IMO number failing its check digit: x 0.3; an unallocated MID: x 0.5;
- a name with nothing in common with the old one: x (0.25 + 0.75 (1 - name_distance));
- the change made at sea (>= ``AT_SEA_KM`` from the nearest port, or no port known): x 0.5
  (registrations change in port);
- several names in the window: x 0.7 for each beyond two;
- name and call sign changed together (a full re-registration): x 0.5;
- the same new name broadcast by another ship of a shared MMSI: x 5 (the report may be the
  other ship's); back-and-forth switching among the names: x 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.inputs.identity import FLAGS_OF_CONVENIENCE

BASE = {"name": 1 / 250, "similar_name": 1 / 25, "callsign": 1 / 300, "imo": 1 / 300,
        "mmsi": 1 / 1000, "two_transponders": 1 / 200}
SIMILAR_EDITS = 1
AT_SEA_KM = 20.0
P_MIN = 1e-5


def _col(ev: pd.DataFrame, name: str, default: float = 0.0) -> np.ndarray:
    if name not in ev.columns:
        return np.full(len(ev), default)
    return pd.to_numeric(ev[name], errors="coerce").fillna(default).to_numpy(dtype=float)


def rarity(ev: pd.DataFrame) -> np.ndarray:
    """``p`` of the module docstring for each identity change."""
    dist = _col(ev, "name_distance")
    name = _col(ev, "name_changed") == 1
    typo = _col(ev, "name_edits", SIMILAR_EDITS + 1) <= SIMILAR_EDITS
    base = np.select(
        [_col(ev, "two_transponders") == 1, _col(ev, "mmsi_changed") == 1, name & typo, name,
         _col(ev, "callsign_changed") == 1],
        [BASE["two_transponders"], BASE["mmsi"], BASE["similar_name"], BASE["name"],
         BASE["callsign"]], BASE["imo"])
    p = base.copy()
    p *= np.where(_col(ev, "dprk_involved") == 1, 0.05, 1.0)
    flag_changed = _col(ev, "flag_changed") == 1
    p *= np.where(flag_changed, 0.2, 1.0)
    new_foc = (ev["flag_after"].isin(FLAGS_OF_CONVENIENCE).to_numpy()
               if "flag_after" in ev.columns else np.zeros(len(ev), bool))
    p *= np.where(flag_changed & new_foc, 0.5, 1.0)
    p *= np.where(_col(ev, "imo_invalid") == 1, 0.3, 1.0)
    p *= np.where(_col(ev, "unallocated_mid") == 1, 0.5, 1.0)
    p *= np.where(name, 0.25 + 0.75 * (1 - np.clip(dist, 0, 1)), 1.0)
    port_km = _col(ev, "distance_to_port_km", np.inf)
    p *= np.where(port_km >= AT_SEA_KM, 0.5, 1.0)
    n_names = _col(ev, "n_identities", 2)
    p *= 0.7 ** np.clip(n_names - 2, 0, 10)
    p *= np.where(name & (_col(ev, "callsign_changed") == 1), 0.5, 1.0)
    p *= np.where(_col(ev, "shared_mmsi") == 1, 5.0, 1.0)
    chain = _col(ev, "chain_size", 1)
    switches = _col(ev, "n_switches", 1)
    back_and_forth = (_col(ev, "two_transponders") == 0) & (switches > np.maximum(chain, 1))
    p *= np.where(back_and_forth, 3.0, 1.0)
    return np.clip(p, P_MIN, 1.0)


def score(ev: pd.DataFrame) -> np.ndarray:
    """anomaly_score (0..1) of identity changes: ``1 - rarity``."""
    return 1.0 - rarity(ev)
