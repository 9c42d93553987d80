"""A long input (a month of AIS) scanned one UTC day at a time, the way nightly runs are.

Each day is read on its own (DuckDB skips the row groups of other days), so memory is bounded
by one day of pings plus what the state carries, and time grows linearly with the days. The
days run through the state exactly as nightly scans do (``ais/nightly/state.py``): pings carried
from
one day to the next, continuing events keeping their ids. A day that alone would need more
than ``--memory-limit`` (one dense day of a whole region) is cut the same way into equal
windows of a few hours (12, 8, 6, 4, 3, 2 or 1), each a "night" of its own through the
state: an event that crosses a window's end is carried and comes out whole, as across
midnight. The scan says so. Without a state of the user's, a
temporary one is used and removed. The CSV holds every event of the period in its latest
version, ranked by score; ``status`` is ``new`` for events first reported in this period.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ais.config import Config
from ais.db import memory_bytes
from ais.inputs.ingest import CleaningReport, count_rows, rows_by_day
from ais.judging.surprises import OUTSIDE_AREAS
from ais.nightly.state import CarryConfig, State
from ais.pipeline import ScanResult, Timings, run_scan
from ais.views.output import write_csv

#: Peak resident memory of a whole scan per input ping (10 M synthetic pings: 2.9 GB; the
#: pings and their tracks live in numpy arrays, about 100 bytes each, plus temporaries).
BYTES_PER_PING = 300
#: ... on top of what any scan holds: Python, pandas, DuckDB, scikit-learn, the models and
#: the land grid (1, 2 and 3 M synthetic pings in one day peaked at 0.74, 1.03 and 1.26 GB).
BASE_BYTES = 500_000_000


def too_big_for_one_scan(paths: Sequence[str | Path], memory_limit: str) -> str | None:
    """Why ``paths`` should be scanned one day at a time, or None: a whole scan of them
    would need more memory than ``memory_limit`` (judged from the Parquet footers)."""
    rows = count_rows(paths)
    if rows is None:
        return None
    need = BASE_BYTES + rows * BYTES_PER_PING
    if need <= memory_bytes(memory_limit):
        return None
    return (f"the input holds {rows:,} rows, about {need / 1e9:.1f} GB in one scan, over "
            f"--memory-limit {memory_limit}: scanned one UTC day at a time (as with --by-day), "
            "a day that alone is over it in windows of hours")


#: How many equal windows a day may be cut into (whole hours each).
_CUTS = (1, 2, 3, 4, 6, 8, 12, 24)
#: Peak resident memory per ping held by a scan of one window through the state: the
#: window's pings and the pings carried into it (each vessel's last
#: ``CarryConfig.vessel_tail_h`` hours, unfinished events), with what the earlier windows
#: left in the allocator. Measured on the dense day (``bench/run.py --shape dense-day``):
#: 444 bytes (3 M pings, second 12 h window) and 507 bytes (10 M, second 12 h window, 3.42
#: GB against a --memory-limit of 2GB before the carry was counted); rounded up. Since the
#: carry is read as categoricals and put before the night one column at a time, and the
#: state's DuckDB keeps at most ``STATE_MEMORY``: the 10 M dense day in 8 windows of 3 h
#: (1.25 M pings each, 1.9 M carried) peaked at 1.77 GiB under --memory-limit 2GB.
WINDOW_BYTES_PER_PING = 550


def cuts_for(rows: int, memory_limit: str | None, carry_h: float | None = None) -> int:
    """Into how many equal windows a day of ``rows`` pings is cut to stay under
    ``memory_limit`` (1: the whole day fits; 24 at most, one hour each).

    A window holds its own pings and those carried into it, about ``carry_h`` hours of the
    day's traffic (every vessel's last hours; :class:`ais.nightly.state.CarryConfig`), so
    a window of ``h`` hours needs ``rows * (h + carry_h) / 24`` pings' memory: halving the
    window does not halve it, and a dense day needs more windows than its size alone says."""
    if memory_limit is None:
        return 1
    room = memory_bytes(memory_limit) - BASE_BYTES  # what is left for the pings
    if room <= 0:  # the process alone is over the limit: cutting the day would not help
        return 1
    if int(rows) * BYTES_PER_PING <= room:
        return 1
    carry_h = CarryConfig().vessel_tail_h if carry_h is None else carry_h
    return next((k for k in _CUTS[1:]
                 if int(rows) * (24 / k + carry_h) / 24 * WINDOW_BYTES_PER_PING <= room),
                _CUTS[-1])


def _window(day: pd.Timestamp, cfg: Config, hours: float = 24.0
            ) -> tuple[str, str] | None:
    """The part of ``[day, day + hours)`` inside the user's --since/--until, as ISO strings
    (None: empty)."""
    start, end = day, day + pd.Timedelta(hours=hours)
    if cfg.clean.since:
        start = max(start, pd.Timestamp(cfg.clean.since, tz="UTC"))
    if cfg.clean.until:
        end = min(end, pd.Timestamp(cfg.clean.until, tz="UTC"))
    return (start.isoformat(), end.isoformat()) if start < end else None


def _merge_reports(reports: list[CleaningReport]) -> CleaningReport:
    total = dataclasses.replace(reports[0], dropped=dict(reports[0].dropped))
    total.rows_in = sum(r.rows_in for r in reports)
    total.rows_out = sum(r.rows_out for r in reports)
    for r in reports[1:]:
        for reason, n in r.dropped.items():
            total.dropped[reason] = total.dropped.get(reason, 0) + n
    return total


#: Notes naming vessels with a sign of spoofing (:func:`ais.geography.land.signal_notes`),
#: which every day or window of a long scan repeats with its own counts.
_SIGN = re.compile(r"^[\d,]+ MMSI\(s\) (reported positions inland|are broadcast by more)")


def _one_line_per_sign(notes: list[str], unit: str) -> list[str]:
    """``notes`` with each sign's lines (one per day or window) cut to the last one, which
    says in how many other days or windows the sign was seen too: a cron log of a month
    gets one line per sign, not 31."""
    last: dict[str, int] = {}
    count: dict[str, int] = {}
    for i, note in enumerate(notes):
        m = _SIGN.match(note)
        if m:
            last[m.group(1)] = i
            count[m.group(1)] = count.get(m.group(1), 0) + 1
    out = []
    for i, note in enumerate(notes):
        m = _SIGN.match(note)
        if m is None:
            out.append(note)
        elif last[m.group(1)] == i:
            more = count[m.group(1)] - 1
            out.append(note if not more else
                       f"{note} (the last {unit} that showed it; {more} earlier {unit}(s) did too)")
    return out


def run_scan_by_day(paths: Sequence[str | Path], output: str | Path, cfg: Config,
                    models_dir: str | Path | None = None, *, state: State | None = None,
                    timings: Timings | None = None, skip_bad_files: bool = False,
                    memory_limit: str | None = None, client: Any = None) -> ScanResult:
    """Scan ``paths`` one UTC day at a time through ``state`` (a temporary one if None); a
    day that alone would need more than ``memory_limit`` in equal windows of whole hours.

    ``client``: a Dask ``distributed.Client`` every day's (window's) detector stage runs on
    (``ais scan --cluster``, :mod:`ais.runtime.cluster`); the cluster is the caller's, started
    once for all the days."""
    timings = timings or Timings()
    rows = rows_by_day(paths, cfg.clean)
    days = rows if rows is not None else pd.Series(dtype="int64")
    windows, cut = [], []
    for day, n in days.items():
        k = cuts_for(int(n), memory_limit)
        if k > 1:
            need = BASE_BYTES + int(n) * BYTES_PER_PING
            size = f"{need / 1e9:.1f} GB" if need >= 1e9 else f"{need / 1e6:,.0f} MB"
            cut.append(f"{day:%Y-%m-%d} ({int(n):,} rows, about {size}) in {k} windows of "
                       f"{24 // k} h")
        # the windows inside --since/--until (a window before --since is empty)
        windows += [w for w in (_window(day + pd.Timedelta(hours=24 // k * i), cfg, 24 // k)
                                for i in range(k)) if w is not None]
    if len(windows) <= 1:  # nothing to split (or a bad file the scan will name)
        return run_scan(paths, output, cfg, models_dir, state=state, timings=timings,
                        skip_bad_files=skip_bad_files, client=client)
    with tempfile.TemporaryDirectory(prefix="ais-byday-") as tmp:
        own = State.open(Path(tmp) / "state.duckdb") if state is None else None
        results: list[ScanResult] = []
        try:
            for window in windows:
                clean = dataclasses.replace(cfg.clean, since=window[0], until=window[1])
                results.append(run_scan(
                    paths, Path(tmp) / "day.csv", dataclasses.replace(cfg, clean=clean),
                    models_dir, state=state or own, timings=timings,
                    skip_bad_files=skip_bad_files, pushdown=True, client=client))
        finally:
            if own is not None:
                own.close()
    start = pd.Timestamp(windows[0][0])
    frames = [r.events for r in results if len(r.events)]
    events = pd.DataFrame()
    if frames:
        events = (pd.concat(frames, ignore_index=True)
                  .drop_duplicates("event_id", keep="last"))
        if "first_reported" in events.columns:
            events["status"] = (pd.to_datetime(events["first_reported"], utc=True) >= start
                                ).map({True: "new", False: "continuing"})
        events = events.sort_values(["anomaly_score", "event_id"], ascending=[False, True],
                                    kind="stable").reset_index(drop=True)
    out = write_csv(events, output)
    notes = [n for r in results for n in r.notes
             if not n.startswith(("state: carried", OUTSIDE_AREAS))]
    notes = _one_line_per_sign(list(dict.fromkeys(notes)), "window" if cut else "day")
    outside = [n for r in results for n in r.notes if n.startswith(OUTSIDE_AREAS)]
    if results and len(outside) == len(results):  # every day: one warning, not one a day
        notes.append(outside[0] + (f" (the first of {len(results)} days; the same on every "
                                   "other day)" if len(results) > 1 else ""))
    if cut:
        notes.append(f"scanned {len(results)} windows one at a time, each through the state "
                     f"like a nightly run: a whole day would pass --memory-limit "
                     f"{memory_limit}, so {'; '.join(cut)} (events crossing a window's end "
                     "are carried and come out whole, as across midnight)")
    else:
        notes.append(f"scanned {len(results)} days one at a time (--by-day), each through "
                     f"the state like a nightly run; memory is bounded by one day of pings")
    candidates: dict[str, int] = {}
    for r in results:
        for t, v in r.candidates.items():
            candidates[t] = candidates.get(t, 0) + v
    return ScanResult(_merge_reports([r.report for r in results]), events, out,
                      sum(r.tracks for r in results), candidates, timings, notes,
                      results[-1].run_id if results else None,
                      results[-1].night if results else None)
