"""Candidate recall of the detectors on generated scenarios (default thresholds, no scoring).

    python bench/recall.py --seeds 11 12 13 --days 2 --events-per-type 8

For each seed: generate a scenario, run ingest -> tracks -> detectors, and count the truth
anomalies matched by a candidate of the same type (any candidate, and candidates passing
the rule), using the same matching as `ais evaluate`.
"""

from __future__ import annotations

import argparse

import pandas as pd

from ais.config import Config
from ais.events import EVENT_TYPES
from ais.inputs.ingest import ingest_frame
from ais.judging.evaluate import match
from ais.pipeline import detect_pings
from ais.synth.world import generate


def recall(seed: int, days: int, events_per_type: int) -> pd.DataFrame:
    pings, truth = generate(seed, days=days, events_per_type=events_per_type)
    ingested = ingest_frame(pings)
    detected = detect_pings(ingested.pings, ingested.report, Config())
    truth = truth[truth["kind"] == "anomaly"].reset_index(drop=True)
    rows = []
    for t in EVENT_TYPES:
        tt = truth[truth["event_type"] == t].reset_index(drop=True)
        cand = detected.candidates[t]
        found = {}
        for label, frame in (("candidates", cand), ("passing_rule", cand[cand["passes_rule"]])):
            m = match(frame.reset_index(drop=True), tt) if len(frame) and len(tt) else []
            found[label] = len({j for j in m if j >= 0})
        rows.append({"seed": seed, "event_type": t, "truth": len(tt), **found})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", nargs="+", type=int, default=[11, 12, 13])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--events-per-type", type=int, default=8)
    args = parser.parse_args()
    table = pd.concat([recall(s, args.days, args.events_per_type) for s in args.seeds])
    total = table.groupby("event_type", sort=False)[["truth", "candidates", "passing_rule"]].sum()
    total["recall_candidates"] = total["candidates"] / total["truth"]
    total["recall_rule"] = total["passing_rule"] / total["truth"]
    print(table.to_string(index=False))
    print()
    print(total.to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
