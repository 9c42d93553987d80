"""Precision and recall of a flagged CSV against a truth table (synthetic scenarios).

A flagged row matches a truth event of the same type when the vessels agree (both MMSIs of
the pair for meetups; for other types a shared MMSI, so an MMSI change matches by the new or
the previous MMSI) and the time spans overlap (an open
truth event lasts to the end of time). Each truth event is matched at most once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ais.events import EVENT_TYPES


@dataclass
class Evaluation:
    """Per-type and overall precision, recall and F1, and precision in the top K rows."""

    table: pd.DataFrame
    precision_at_k: float
    k: int

    def lines(self) -> list[str]:
        out = [f"{'event_type':<16} {'truth':>5} {'flagged':>7} {'tp':>4} {'precision':>9} "
               f"{'recall':>6} {'f1':>5}"]
        for _, r in self.table.iterrows():
            out.append(f"{r['event_type']:<16} {r['truth']:>5} {r['flagged']:>7} {r['tp']:>4} "
                       f"{r['precision']:>9.3f} {r['recall']:>6.3f} {r['f1']:>5.3f}")
        out.append(f"precision in the top {self.k} rows: {self.precision_at_k:.3f}")
        return out


def _vessels(frame: pd.DataFrame) -> list[set[int]]:
    other = pd.to_numeric(frame["other_mmsi"], errors="coerce")
    return [{int(m)} | ({int(o)} if pd.notna(o) else set())
            for m, o in zip(frame["mmsi"], other, strict=True)]


def _seconds(times: pd.Series, missing: float = np.nan) -> np.ndarray:
    ts = pd.to_datetime(times, utc=True, format="ISO8601")
    secs = (ts - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(float)
    return np.where(np.isnan(secs), missing, secs)


def match(flagged: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """For each flagged row, the index of the truth row it matches, or -1."""
    f_start, f_end = _seconds(flagged["start_time"]), _seconds(flagged["end_time"], np.inf)
    t_start, t_end = _seconds(truth["start_time"]), _seconds(truth["end_time"], np.inf)
    f_v, t_v = _vessels(flagged), _vessels(truth)
    used: set[int] = set()
    out = np.full(len(flagged), -1)
    scores = (pd.to_numeric(flagged["anomaly_score"], errors="coerce").fillna(0).to_numpy()
              if "anomaly_score" in flagged.columns else np.zeros(len(flagged)))
    order = np.argsort(-scores, kind="stable")
    for i in order:  # loop over flagged events (tens to thousands), not pings
        same = ((truth["event_type"].to_numpy() == flagged["event_type"].iloc[i])
                & (t_start <= f_end[i]) & (t_end >= f_start[i]))
        pair = flagged["event_type"].iloc[i] in ("meetup", "dark_meetup")
        for j in np.flatnonzero(same):
            vessels_agree = f_v[i] == t_v[j] if pair else bool(f_v[i] & t_v[j])
            if j not in used and vessels_agree:
                used.add(int(j))
                out[i] = j
                break
    return out


#: Columns every truth table has (``ais synth`` writes them); a flagged CSV has others.
TRUTH_COLUMNS = ("event_type", "kind", "mmsi", "start_time", "end_time")
FLAGGED_COLUMNS = ("event_id", "event_type", "mmsi", "start_time", "end_time",
                   "anomaly_score")


def check_inputs(flagged: pd.DataFrame, truth: pd.DataFrame, flagged_name: str = "flagged",
                 truth_name: str = "truth") -> None:
    """Refuse a truth file that is not a truth table (e.g. the flagged CSV given twice) and
    a flagged file that is not a flagged CSV, naming the file, the columns and the fix.

    Raises:
        ValueError: with the message to show.
    """
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing or "anomaly_score" in truth.columns:
        what = ("a flagged-events CSV" if "anomaly_score" in truth.columns
                else f"no truth table (no {', '.join(missing)} column)")
        raise ValueError(f"{truth_name} is {what}, not a truth table; pass the "
                         "NAME.truth.csv that `ais synth` wrote beside its Parquet (columns "
                         f"{', '.join(TRUTH_COLUMNS)}, ...)")
    missing = [c for c in FLAGGED_COLUMNS if c not in flagged.columns]
    if missing:
        raise ValueError(f"{flagged_name} is not a flagged-events CSV (no {', '.join(missing)} "
                         "column); pass the CSV `ais scan` wrote")


def evaluate(flagged: pd.DataFrame, truth: pd.DataFrame) -> Evaluation:
    """Score flagged events against the anomalies of a truth table (benign rows ignored)."""
    if "kind" in truth.columns:
        truth = truth[truth["kind"] == "anomaly"]
    truth = truth[truth["event_type"].isin(EVENT_TYPES)].reset_index(drop=True)
    flagged = flagged.reset_index(drop=True)
    matched = match(flagged, truth) if len(flagged) and len(truth) else np.full(len(flagged), -1)
    rows = []
    for t in (*EVENT_TYPES, "all"):
        fmask = (flagged["event_type"] == t).to_numpy() if t != "all" else np.ones(
            len(flagged), bool)
        n_truth = int((truth["event_type"] == t).sum()) if t != "all" else len(truth)
        tp = int((matched[fmask] >= 0).sum())
        p = tp / fmask.sum() if fmask.sum() else (1.0 if n_truth == 0 else 0.0)
        r = tp / n_truth if n_truth else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append({"event_type": t, "truth": n_truth, "flagged": int(fmask.sum()), "tp": tp,
                     "precision": p, "recall": r, "f1": f1})
    k = len(truth)
    top = flagged.sort_values("anomaly_score", ascending=False, kind="stable").index[:k] \
        if "anomaly_score" in flagged.columns else flagged.index[:k]
    p_at_k = float((matched[np.asarray(top, dtype=int)] >= 0).mean()) if k and len(top) else 0.0
    return Evaluation(pd.DataFrame(rows), p_at_k, k)
