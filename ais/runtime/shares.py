"""Workers read their own share of the input, and build its tracks, for ``ais scan --cluster``.

A share is the vessels whose MMSI is ``k`` modulo ``n`` (rows without a usable MMSI go to
share 0, where ingest counts them as dropped). Each worker reads every input file but keeps
only its share's rows (:func:`read_share`: the same :func:`ais.inputs.ingest.ingest`, with a
filter on the MMSI), so ingest's per-vessel work (the drop reasons, duplicates, the sort, the
text dictionaries) and the tracks (:func:`share_tracks`, each vessel's whole track) are done
where the rows are, and the client never holds the pings as read.

Everything here is pure pandas and numpy (no Dask: :mod:`ais.runtime.cluster` sends it), so
the tests cut and put back the same shares in one process:

* the shares' cleaning reports add up to the report of one read (:func:`combine_reports`);
* the shares' tracks put together (:func:`whole`: every text column on the union of the
  shares' categories, which is the one read's, rows in MMSI order) are the one-process
  tracks, row for row;
* the partitions of the detector stage (:mod:`ais.runtime.partitions`) are cut from the
  shares' tracks on the workers (:func:`split`, then :func:`whole` of each partition's
  pieces): the shuffle goes from worker to worker;
* per-vessel answers of shares or partitions put together (:func:`by_vessel`) are the
  whole's; :func:`rows_of` and :func:`rows_around` take a few vessels' rows where they are
  (:mod:`ais.runtime.held`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ais.config import Config
from ais.inputs.ingest import CleaningReport, Ingested, RawRead, clean_raw, ingest, read_raw
from ais.judging.surprises import AreaFacts, area_facts


def share_of(mmsi: np.ndarray, n: int) -> np.ndarray:
    """Each MMSI's share, 0..n-1, as :func:`ais.inputs.ingest.share_sql` picks them."""
    return np.mod(np.asarray(mmsi, np.int64), n)


@dataclass
class ShareFacts:
    """What the client learns of a share before its tracks are built: the cleaning report,
    the first and last ping (the night, when no --since/--until), and what the watch-area
    warning needs (:func:`ais.judging.surprises.area_facts`)."""

    report: CleaningReport
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    area: AreaFacts


def read_share(paths: Sequence[str | Path], cfg: Config, k: int, n: int,
               skip_bad_files: bool, window: tuple[str, str] | None) -> Ingested:
    """Share ``k`` of ``n`` of the input, read and cleaned as :func:`ingest` cleans it all
    (run on a worker)."""
    return ingest(paths, cfg.clean, skip_bad_files=skip_bad_files, window=window,
                  share=(k, n))


def file_runs(files: Sequence[str], sizes: Sequence[int], n: int) -> list[list[str]]:
    """``files`` cut into at most ``n`` runs of neighbouring files of about as many bytes
    (each run read by one worker, :func:`read_part`), in their order; no empty run."""
    total = max(int(sum(sizes)), 1)
    runs: list[list[str]] = [[] for _ in range(n)]
    before = 0
    for name, size in zip(files, sizes, strict=True):
        runs[min(before * n // total, n - 1)].append(name)
        before += int(size)
    return [r for r in runs if r]


def read_part(files: Sequence[str], cfg: Config, n: int, skip_bad_files: bool,
              window: tuple[str, str] | None) -> RawRead:
    """Some of the input files read once, each share's rows apart, not cleaned (run on a
    worker; :func:`ais.inputs.ingest.read_raw`)."""
    return read_raw(files, n, skip_bad_files=skip_bad_files, window=window)


def report_of(part: RawRead) -> CleaningReport:
    """The report of the files a part read."""
    return part.report


def table_of(part: RawRead, k: int) -> pa.Table:
    """Share ``k``'s rows of a part."""
    return part.tables[k]


def clean_share(tables: Sequence[pa.Table], reports: Sequence[CleaningReport], cfg: Config
                ) -> Ingested:
    """A share cleaned from its rows in every part (run on a worker;
    :func:`ais.inputs.ingest.clean_raw`): the same as :func:`read_share` of every file."""
    return clean_raw(tables, reports, cfg.clean)


def facts(ingested: Ingested, cfg: Config) -> ShareFacts:
    """A share's :class:`ShareFacts` (run on the worker that holds it)."""
    times = ingested.pings["timestamp"]
    first = pd.Timestamp(times.min()) if len(times) else None
    last = pd.Timestamp(times.max()) if len(times) else None
    return ShareFacts(ingested.report, first, last, area_facts(ingested.pings, cfg))


def share_tracks(ingested: Ingested, carried: pd.DataFrame | None, cfg: Config
                 ) -> pd.DataFrame:
    """A share's tracks: its pings after the pings the state carried for its vessels
    (:func:`ais.nightly.carry.combine`), cut into tracks (run on a worker)."""
    from ais.nightly.carry import combine
    from ais.tracking.tracks import build_tracks

    pings = ingested.pings
    if carried is not None and len(carried):
        pings = combine(carried, pings)
    return build_tracks(pings, cfg.tracks)


def combine_reports(reports: Sequence[CleaningReport]) -> CleaningReport:
    """The one read's report from its shares': rows added up; the files, their column
    mapping, the bad, repaired and decoded files are every share's (each read them all:
    :func:`same_files` checks they agree)."""
    first = reports[0]
    out = CleaningReport(files=list(first.files), column_mapping=dict(first.column_mapping),
                         bad_files=list(first.bad_files),
                         repaired_text=list(first.repaired_text), decoded=list(first.decoded))
    out.rows_in = sum(r.rows_in for r in reports)
    out.rows_out = sum(r.rows_out for r in reports)
    out.dropped = {reason: sum(r.dropped.get(reason, 0) for r in reports)
                   for reason in first.dropped}
    return out


def same_files(reports: Sequence[CleaningReport]) -> bool:
    """True when every share read the same files (no file was unreadable on one worker
    only); else the shares are not one read."""
    first = reports[0]
    return all(r.files == first.files and r.bad_files == first.bad_files
               and r.repaired_text == first.repaired_text for r in reports[1:])


class Outline(NamedTuple):
    """What the client needs of a share's tracks before it fetches them: rows, columns and
    the text columns' categories."""

    rows: int
    columns: list[str]
    categories: dict[str, pd.Index]


def outline(tracks: pd.DataFrame) -> Outline:
    """A share's :class:`Outline` (run on the worker that holds it)."""
    return Outline(len(tracks), list(tracks.columns), categories_of([tracks]))


def categories_of(frames: Sequence[pd.DataFrame]) -> dict[str, pd.Index]:
    """Each text (categorical) column's categories over ``frames``: the sorted union, as one
    read of all their rows would make them (ingest's categories are a read's sorted
    distinct values)."""
    return union_categories([{name: frame[name].dtype.categories for name in frame.columns
                              if isinstance(frame[name].dtype, pd.CategoricalDtype)}
                             for frame in frames])


def whole(frames: Sequence[pd.DataFrame], categories: dict[str, pd.Index]) -> pd.DataFrame:
    """Frames of disjoint vessels, each sorted by MMSI, as one frame: rows in MMSI order
    (each vessel's rows in its frame's order), every text column on ``categories``
    (:func:`categories_of` of all the shares)."""
    full = [f for f in frames if len(f)] or list(frames[:1])
    return assemble(lambda name: [f[name] for f in full], list(full[0].columns), categories)


def assemble(fetch: Callable[[str], list[pd.Series]], names: Sequence[str],
             categories: dict[str, pd.Index]) -> pd.DataFrame:
    """:func:`whole`, one column at a time: ``fetch(name)`` gives that column of each frame,
    so only the column being put together is held twice, not the whole frames."""
    mmsi = np.concatenate([c.to_numpy(np.int64) for c in fetch("mmsi")])
    order = np.argsort(mmsi, kind="stable")
    del mmsi
    columns: dict[str, object] = {}
    for name in names:
        parts = fetch(name)
        if name in categories:
            parts = [p.cat.set_categories(categories[name]) for p in parts]
            codes = np.concatenate([p.cat.codes.to_numpy() for p in parts])
            columns[name] = pd.Categorical.from_codes(np.take(codes, order),
                                                      dtype=parts[0].dtype, validate=False)
            del codes
        else:
            joined = pd.concat(parts, ignore_index=True)
            del parts
            columns[name] = joined.take(order).reset_index(drop=True)
            del joined
    return pd.DataFrame(columns, copy=False)


def union_categories(each: Sequence[dict[str, pd.Index]]) -> dict[str, pd.Index]:
    """The shares' :func:`categories_of` as the whole's: each column's sorted union."""
    out: dict[str, pd.Index] = {}
    for cats in each:
        for name, index in cats.items():
            out[name] = index if name not in out else out[name].union(index)
    return {name: index.sort_values() for name, index in out.items()}


def split(tracks: pd.DataFrame, part_of: pd.Series, n: int) -> list[pd.DataFrame]:
    """A share's tracks cut into the ``n`` partitions of the detector stage (``part_of``:
    each MMSI's partition, :func:`ais.runtime.partitions.place_keys`), each piece in the
    share's order (run on the worker that holds the share)."""
    key = part_of.reindex(tracks["mmsi"].to_numpy(np.int64)).to_numpy()
    return [tracks[key == k].reset_index(drop=True) for k in range(n)]


def by_vessel(parts: Sequence[pd.DataFrame],
              categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    """Per-vessel results of frames of disjoint vessels (each in MMSI order, as a share's or
    a partition's are) as the result of the whole: rows in MMSI order, each vessel's rows in
    its frame's order, text columns on ``categories`` (default: the union of the parts').
    One part is returned as it is (the one-process path)."""
    if len(parts) == 1:
        return parts[0]
    cats = categories_of(parts) if categories is None else categories
    return whole(parts, {name: index for name, index in cats.items()
                         if name in parts[0].columns})


def rows_of(tracks: pd.DataFrame, mmsis: np.ndarray, columns: Sequence[str] | None
            ) -> pd.DataFrame:
    """Every row of the vessels ``mmsis`` (sorted, distinct) that ``tracks`` (in MMSI order)
    holds, ``columns`` of them (all when None), in the frame's order (run on a worker)."""
    from ais.tracking.tracks import vessel_rows

    rows = vessel_rows(tracks["mmsi"].to_numpy(np.int64), np.asarray(mmsis, np.int64))
    frame = tracks if columns is None else tracks[list(columns)]
    return frame.iloc[rows].reset_index(drop=True)


def rows_around(tracks: pd.DataFrame, wanted: pd.DataFrame, columns: Sequence[str]
                ) -> pd.DataFrame:
    """The rows ``columns`` of each ``wanted`` vessel (``ev_mmsi, lo, hi``) from its earliest
    ``lo`` to its latest ``hi`` that ``tracks`` holds (:func:`ais.views.triage._rows_around`;
    run on a worker)."""
    from ais.views.triage import _rows_around

    rows = _rows_around(tracks, wanted)  # a vessel not held here: no rows
    if rows is None:
        return tracks.loc[np.isin(tracks["mmsi"].to_numpy(), wanted["ev_mmsi"].to_numpy()),
                          list(columns)].reset_index(drop=True)
    return tracks.iloc[rows][list(columns)].reset_index(drop=True)
