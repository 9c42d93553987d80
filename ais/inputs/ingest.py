"""Read Parquet AIS into DuckDB: find files, map column names, coerce types, clean, sort.

Everything per ping happens in one DuckDB query over all files; Python only looks at file
schemas. The result is a pandas frame with the canonical columns plus the normalised identity
fields, and a :class:`CleaningReport` saying how many rows were dropped and why.
"""

from __future__ import annotations

import functools
import glob
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ais.config import CleanConfig
from ais.db import connect
from ais.errors import InputError
from ais.inputs.identity import normalise_sql
from ais.inputs.mmsi import REASONS as MMSI_REASONS
from ais.inputs.mmsi import drop_reason_sql
from ais.inputs.pingframe import (  # noqa: F401  (OUTPUT_COLUMNS: the frame's columns, for callers)
    OPTIONAL_NUMBERS,
    OUTPUT_COLUMNS,
    duplicates,
    read_columns,
    sort_order,
    sorted_frame,
)
from ais.inputs.readers import FORMATS_TEXT, PARQUET, format_of, is_input, row_count, source
from ais.inputs.readers.codes import nav_status_sql

#: Canonical column -> accepted spellings (compared case-insensitively), first match wins.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "mmsi": ("mmsi", "ssvid", "userid", "user_id"),
    "timestamp": ("timestamp", "basedatetime", "# timestamp", "ts", "time", "datetime",
                  "timestamp_utc", "msgtime"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "longitude", "long", "lng", "x"),
    "sog": ("sog", "speed", "speed_kn", "speed_knots"),
    "cog": ("cog", "course"),
    "heading": ("heading", "true_heading", "trueheading"),
    "name": ("name", "vesselname", "shipname", "vessel_name", "ship_name"),
    "callsign": ("callsign", "call_sign", "call sign"),
    "imo": ("imo", "imo_number", "imonumber"),
    "ship_type": ("ship_type", "vesseltype", "ship type", "shiptype", "vessel_type"),
    "nav_status": ("nav_status", "status", "navigational status", "navstatus",
                   "navigational_status"),
    "length": ("length", "length_m"),
    "width": ("width", "width_m"),
    "draught": ("draught", "draft"),
    "destination": ("destination",),
}
REQUIRED = ("mmsi", "timestamp", "lat", "lon")

#: Drop reasons in the order they are tested; a row is counted under the first that applies.
DROP_REASONS: dict[str, str] = {
    **MMSI_REASONS,
    "missing_timestamp": "timestamp missing or unparseable",
    "timestamp_out_of_range": "timestamp outside the configured valid range",
    "outside_time_window": "outside the --since/--until window of this scan (not an error)",
    "position_not_available": "lat/lon missing, not a number or infinite, the 'not available' "
                              "sentinel (91/181), or 0,0",
    "position_out_of_range": "lat at or beyond the poles (|lat| >= 90) or lon outside "
                             "-180..180",
    "exact_duplicate": "exact duplicate of another row",
    "repeated_mmsi_timestamp": "another row has the same MMSI and timestamp (merged: the "
                               "position of the first in a deterministic order, the name, "
                               "call sign, IMO and type of any row that has them)",
}



@dataclass
class CleaningReport:
    """What ingest read, kept and dropped. ``dropped`` maps a reason in DROP_REASONS to rows."""

    files: list[str] = field(default_factory=list)
    rows_in: int = 0
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    column_mapping: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (file, reason) of input files left out by ``skip_bad_files``
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    #: files whose text was not valid UTF-8 and was repaired (bad bytes became U+FFFD)
    repaired_text: list[str] = field(default_factory=list)
    #: one line per NMEA log: messages decoded and sentences left out by reason
    decoded: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def lines(self) -> list[str]:
        """Human-readable summary lines for the CLI."""
        out = [f"read {self.rows_in:,} rows from {len(self.files)} file(s); "
               f"kept {self.rows_out:,}, dropped {self.rows_dropped:,}"]
        for reason, n in sorted(self.dropped.items(), key=lambda kv: -kv[1]):
            if n:
                out.append(f"  dropped {n:,} rows: {reason} ({DROP_REASONS[reason]})")
        for path in self.repaired_text:
            out.append(f"  {path}: text that is not valid UTF-8 was read with the bad bytes "
                       "replaced by U+FFFD")
        out.extend(f"  {line}" for line in self.decoded)
        return out + self.bad_file_lines()

    def bad_file_lines(self) -> list[str]:
        """One line per input file left out by ``skip_bad_files`` (file and reason)."""
        if not self.bad_files:
            return []
        return [f"skipped {len(self.bad_files)} bad input file(s):"] + [
            f"  {reason}" if reason.startswith(path) else f"  {path}: {reason}"
            for path, reason in self.bad_files]


@dataclass
class Ingested:
    """Cleaned pings sorted by (mmsi, timestamp) and the report of how they were made."""

    pings: pd.DataFrame
    report: CleaningReport


# ---------------------------------------------------------------- finding and checking files

_GLOB_CHARS = re.compile(r"[*?\[]")


def resolve_inputs(paths: Iterable[str | Path],
                   bad: list[tuple[str, str]] | None = None) -> list[Path]:
    """Expand files, directories (recursively, hive partitions included) and globs.

    A path that exists is that file or directory, even when its name holds ``*?[``
    (``ais [2026-01-05] (1).parquet``); a path that does not exist is tried as a glob.

    Args:
        paths: files, directories or glob patterns.
        bad: when given, a path that yields no file is recorded here as (path, reason)
            instead of raising.

    Raises:
        InputError: a path does not exist, or a directory or glob holds no Parquet file.
    """
    files: list[Path] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_file():  # a path that exists is read as is, whatever its characters
            found, problem = [path], None
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_input(p))
            problem = None if found else f"{path}: directory holds no AIS file ({FORMATS_TEXT})"
        elif _GLOB_CHARS.search(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            problem = None if found else (f"{text}: no such file, and as a pattern it matches "
                                          "no file")
        else:
            found, problem = [], f"{path}: no such file or directory"
        if problem is not None:
            if bad is None:
                raise InputError(problem)
            bad.append((text, problem))
        files.extend(found)
    unique = list(dict.fromkeys(files))
    if not unique:
        raise InputError("no usable input file: " + "; ".join(r for _, r in bad or [])
                         if bad else "no input files given")
    return unique


def _hive_keys(path: Path) -> dict[str, str]:
    return dict(part.split("=", 1) for part in path.parent.parts if "=" in part)


def read_schema(path: Path) -> pa.Schema:
    """The file's columns (Parquet, CSV or decoded NMEA: :mod:`ais.inputs.readers`), or an
    InputError that names the file and the problem."""
    return source(path).schema


def column_candidates(names: Sequence[str]) -> dict[str, list[str]]:
    """Canonical name -> every column of ``names`` that spells it (case-insensitively, in
    the order of :data:`COLUMN_ALIASES`, then of the file); a column serves one field only."""
    return {c: list(cols) for c, cols in _candidates(tuple(names))}


@functools.lru_cache(maxsize=256)  # a folder of many files has a few schemas
def _candidates(names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(name.strip().lower(), []).append(name)
    taken: set[str] = set()
    found: dict[str, list[str]] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            for name in by_lower.get(alias, ()):
                if name not in taken:
                    found.setdefault(canonical, []).append(name)
                    taken.add(name)
    return tuple((c, tuple(cols)) for c, cols in found.items())


def map_columns(path: Path, names: Sequence[str]) -> dict[str, str]:
    """Map canonical names to this file's column names, case-insensitively (the first
    spelling when a file has several: see :func:`column_candidates`).

    Raises:
        InputError: the file lacks a required column; the message lists the columns found.
    """
    mapping = {c: cols[0] for c, cols in column_candidates(names).items()}
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        wanted = "; ".join(f"{c}: one of {', '.join(COLUMN_ALIASES[c][:4])}" for c in missing)
        what = ("no usable position columns" if {"lat", "lon"} & set(missing)
                else "missing required columns")
        raise InputError(
            f"{path}: {what} ({', '.join(missing)}). Columns found: "
            f"{', '.join(names) or '(none)'}. Expected {wanted}; rename the columns or "
            "convert the file."
        )
    return mapping


def duckdb_names(names: Sequence[str]) -> list[str]:
    """The names DuckDB gives these columns: names are case-insensitive in DuckDB, so a
    second ``mmsi`` beside ``MMSI`` becomes ``mmsi_1`` (and so on, as DuckDB does it)."""
    used: set[str] = set()
    count: dict[str, int] = {}
    out = []
    for name in names:
        candidate = name
        while candidate.lower() in used:
            count[candidate.lower()] = count.get(candidate.lower(), 0) + 1
            candidate = f"{candidate}_{count[candidate.lower()]}"
        used.add(candidate.lower())
        out.append(candidate)
    return out


def is_text(typ: pa.DataType) -> bool:
    """Any of Arrow's string types: string, large_string, string_view (newer writers)."""
    return (pa.types.is_string(typ) or pa.types.is_large_string(typ)
            or pa.types.is_string_view(typ))


def _usable_type(canonical: str, typ: pa.DataType) -> bool:
    """Whether a column of this Arrow type can hold the canonical field at all."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_null(typ) or is_text(typ):
        return True
    if canonical == "timestamp":
        return (pa.types.is_timestamp(typ) or pa.types.is_date(typ) or pa.types.is_integer(typ)
                or pa.types.is_floating(typ))
    if canonical in _NUMERIC:
        return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)
    return not pa.types.is_nested(typ)


def _pairs(mapping: dict[str, str] | dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(c, src) for c, cols in mapping.items()
            for src in ([cols] if isinstance(cols, str) else cols)]


def check_types(path: Path, schema: pa.Schema,
                mapping: dict[str, str] | dict[str, list[str]]) -> None:
    """Refuse columns whose type cannot hold their field (e.g. lat as booleans or lists).

    Raises:
        InputError: naming the file, the column, its type and the fix.
    """
    types = {f.name: f.type for f in schema}
    for canonical, src in _pairs(mapping):
        typ = types.get(src)  # hive keys are strings and absent from the schema
        if typ is not None and not _usable_type(canonical, typ):
            want = ("a timestamp, an ISO 8601 string or epoch seconds"
                    if canonical == "timestamp" else
                    "numbers or numeric strings" if canonical in _NUMERIC else "text")
            raise InputError(
                f"{path}: column {src!r} ({canonical}) has type {typ}, which cannot hold "
                f"{canonical} values; convert it to {want}, or rename the column")


# ---------------------------------------------------------------- SQL for one file's columns

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _timestamp_sql(col: str, typ: pa.DataType) -> str:
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return f"CAST({col} AS TIMESTAMPTZ)"  # naive values are UTC: the session zone is UTC
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        # epoch seconds, or milli-, micro- or nanoseconds when the magnitude says so
        num = f"CAST({col} AS DOUBLE)"
        return (f"CASE WHEN NOT isfinite({num}) THEN NULL "
                f"WHEN abs({num}) < 1e11 THEN to_timestamp({num}) "
                f"WHEN abs({num}) < 1e14 THEN to_timestamp({num} / 1e3) "
                f"WHEN abs({num}) < 1e17 THEN to_timestamp({num} / 1e6) "
                f"WHEN abs({num}) < 1e20 THEN to_timestamp({num} / 1e9) END")
    text = f"trim(CAST({col} AS VARCHAR))"  # ISO 8601, or DMA's 'DD/MM/YYYY HH:MM:SS'
    return (f"coalesce(TRY_CAST({text} AS TIMESTAMPTZ), "
            f"CAST(try_strptime({text}, '%d/%m/%Y %H:%M:%S') AS TIMESTAMPTZ))")


def _mmsi_sql(col: str, typ: pa.DataType) -> str:
    if pa.types.is_integer(typ):
        return f"TRY_CAST({col} AS BIGINT)"  # an unsigned 64-bit value may not fit
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return (f"CASE WHEN isfinite({col}) AND {col} = floor({col}) "
                f"AND abs({col}) < 1e12 THEN CAST({col} AS BIGINT) END")
    return (f"TRY_CAST(regexp_replace(CAST({col} AS VARCHAR), '\\s', '', 'g') AS BIGINT)")


def _double_sql(col: str) -> str:
    return (f"CASE WHEN isfinite(TRY_CAST({col} AS DOUBLE)) "
            f"THEN TRY_CAST({col} AS DOUBLE) END")


def _text_sql(col: str) -> str:
    # the value as broadcast; it is cleaned once per distinct value in _clean (_clean_text_sql)
    return f"CAST({col} AS VARCHAR)"


def _clean_text_sql(col: str) -> str:
    # control characters are removed for display; the value stays otherwise as broadcast
    return f"nullif(trim(regexp_replace({col}, '[\\x00-\\x1f\\x7f]', '', 'g')), '')"


_NUMERIC = ("mmsi", "lat", "lon", "sog", "cog", "heading", "length", "width", "draught")

_NULL_TYPES = {"mmsi": "BIGINT", "timestamp": "TIMESTAMPTZ", "lat": "DOUBLE", "lon": "DOUBLE",
               "sog": "DOUBLE", "cog": "DOUBLE", "heading": "DOUBLE", "length": "DOUBLE",
               "width": "DOUBLE", "draught": "DOUBLE"}


def _field_sql(canonical: str, col: str, typ: pa.DataType) -> str:
    """One canonical field from one column, coerced to its type."""
    if canonical == "mmsi":
        return _mmsi_sql(col, typ)
    if canonical == "timestamp":
        return _timestamp_sql(col, typ)
    if canonical in ("lat", "lon", "sog", "cog", "heading", "length", "width", "draught"):
        return _double_sql(col)
    if canonical in ("name", "callsign", "destination"):
        return _text_sql(col)
    return f"nullif(trim(CAST({col} AS VARCHAR)), '')"


def _select(types: dict[str, pa.DataType] | pa.Schema, mapping: dict[str, str],
            label_sql: str, from_sql: str,
            alternates: dict[str, tuple[str, ...]] | None = None) -> str:
    """SELECT of the canonical columns from ``from_sql``. ``mapping`` and ``alternates``
    name columns as DuckDB sees them; a field with alternates (two spellings that agree,
    checked by :func:`_disagreement`) takes the first non-null of them."""
    if isinstance(types, pa.Schema):
        types = {f.name: f.type for f in types}
    cols: dict[str, str] = {}
    for canonical in COLUMN_ALIASES:
        src = mapping.get(canonical)
        if src is None:
            cols[canonical] = f"CAST(NULL AS {_NULL_TYPES.get(canonical, 'VARCHAR')})"
            continue
        exprs = [_field_sql(canonical, _q(c), types.get(c, pa.string()))
                 for c in (src, *(alternates or {}).get(canonical, ()))]
        cols[canonical] = exprs[0] if len(exprs) == 1 else f"coalesce({', '.join(exprs)})"
    select = ",\n  ".join(f"{expr} AS {name}" for name, expr in cols.items())
    return f"SELECT {select},\n  {label_sql} AS source_file\nFROM {from_sql}"


# ---------------------------------------------------------------- many files as one scan

#: The column DuckDB adds with each row's file name (``read_parquet(..., filename = ...)``).
_FILE_COLUMN = "__ais_source_file"


@dataclass(frozen=True)
class _Source:
    """One input file as its footer describes it: columns, how they map, hive keys."""

    path: Path
    #: (name in the file, name in DuckDB, Arrow type), the file's columns then hive keys
    columns: tuple[tuple[str, str, pa.DataType], ...]
    #: canonical -> the file's columns spelling it (the first is read; others must agree)
    candidates: tuple[tuple[str, tuple[str, ...]], ...]
    hive: tuple[tuple[str, str], ...]
    #: the Parquet file made from a CSV or NMEA input (:mod:`ais.inputs.readers`); None: the file
    data: Path | None = None

    @property
    def parquet(self) -> Path:
        """The Parquet file DuckDB reads for this input."""
        return self.path if self.data is None else self.data

    @property
    def mapping(self) -> dict[str, str]:
        """Canonical -> column name in the file (what the report shows)."""
        return {c: cols[0] for c, cols in self.candidates}

    def duckdb(self) -> tuple[dict[str, pa.DataType], dict[str, str],
                              dict[str, tuple[str, ...]]]:
        """Types, mapping and alternates by the names DuckDB gives the columns."""
        name = {file_name: db for file_name, db, _ in self.columns}
        types = {db: typ for _, db, typ in self.columns}
        mapping = {c: name[cols[0]] for c, cols in self.candidates}
        alternates = {c: tuple(name[x] for x in cols[1:]) for c, cols in self.candidates
                      if len(cols) > 1}
        return types, mapping, alternates

    def group_key(self) -> tuple:
        """Files with equal keys are read by one ``read_parquet`` over their list; a path
        DuckDB would take for a glob (``*?[``) is read alone, through Arrow."""
        if self.data is None and _GLOB_CHARS.search(str(self.path)):
            return ("alone", str(self.path))
        return (tuple((f, d, str(t)) for f, d, t in self.columns), self.candidates,
                tuple(k for k, _ in self.hive))


def inspect_file(path: Path) -> _Source:
    """Read one file's footer and map its columns (nothing else is read).

    Raises:
        InputError: the file is empty, not Parquet, lacks a required column or has a column
            of a type that cannot hold its field.
    """
    schema = read_schema(path)
    hive = tuple(_hive_keys(path).items())
    names = list(schema.names) + [k for k, _ in hive if k not in schema.names]
    map_columns(path, names)  # raises when a required column is missing
    candidates = column_candidates(names)
    check_types(path, schema, candidates)
    types = [f.type for f in schema] + [pa.string()] * (len(names) - len(schema))
    columns = tuple(zip(names, duckdb_names(names), types, strict=True))
    data = None if format_of(path) == PARQUET else source(path).data
    return _Source(path, columns, tuple((c, tuple(v)) for c, v in candidates.items()), hive,
                   data)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _group_select(con: duckdb.DuckDBPyConnection, group: list[_Source], name: str) -> str:
    """One SELECT of the canonical columns over every file of ``group`` (same columns)."""
    first = group[0]
    types, mapping, alternates = first.duckdb()
    if first.group_key()[0] == "alone":  # a name DuckDB would glob: read through Arrow
        import pyarrow.dataset as ds

        con.register(name, ds.dataset(str(first.path), format="parquet"))
        hive = "".join(f", {_sql_text(v)} AS {_q(k)}" for k, v in first.hive)
        return _select(types, mapping, _sql_text(str(first.path)),
                       f"(SELECT *{hive} FROM {name})", alternates)
    files = "[" + ", ".join(_sql_text(str(s.parquet)) for s in group) + "]"
    label = _q(_FILE_COLUMN)
    if any(s.data is not None for s in group):  # name the input, not the file made from it
        label = ("CASE " + label + " " + " ".join(
            f"WHEN {_sql_text(str(s.parquet))} THEN {_sql_text(str(s.path))}" for s in group)
            + " END")
    return _select(types, mapping, label,
                   f"read_parquet({files}, hive_partitioning = {str(bool(first.hive)).lower()}"
                   f", filename = {_sql_text(_FILE_COLUMN)})", alternates)


def _groups(sources: Iterable[_Source]) -> list[list[_Source]]:
    groups: dict[tuple, list[_Source]] = {}
    for src in sources:
        groups.setdefault(src.group_key(), []).append(src)
    return list(groups.values())


def _disagreement(con: duckdb.DuckDBPyConnection, group: list[_Source], name: str
                  ) -> tuple[Path, str] | None:
    """The first file of ``group`` with two columns for one field (``MMSI`` and ``mmsi``,
    ``lat`` and ``latitude``) that disagree in a row where both have a value, and why."""
    first = group[0]
    types, mapping, alternates = first.duckdb()
    if not alternates:
        return None
    from_sql = _group_select(con, group, name).split("\nFROM ", 1)[1]
    label = (_q(_FILE_COLUMN) if first.group_key()[0] != "alone"
             else _sql_text(str(first.path)))
    for canonical, others in alternates.items():
        a = _field_sql(canonical, _q(mapping[canonical]), types[mapping[canonical]])
        for other in others:
            b = _field_sql(canonical, _q(other), types[other])
            try:
                row = con.execute(
                    f"SELECT {label}, CAST({a} AS VARCHAR), CAST({b} AS VARCHAR) "
                    f"FROM {from_sql} WHERE {a} IS NOT NULL AND {b} IS NOT NULL "
                    f"AND {a} <> {b} LIMIT 1").fetchall()
            except duckdb.Error:
                return None  # an unreadable file: the read itself names it

            if row:
                path, va, vb = row[0]
                path = next((s.path for s in group if str(s.parquet) == path), path)
                cand = dict(first.candidates)[canonical]
                by_db = {db: f for f, db, _ in first.columns}
                col_a, col_b = cand[0], by_db[other]
                return Path(path), (
                    f"columns {col_a!r} and {col_b!r} both hold {canonical} and disagree "
                    f"(one row has {col_a} = {va}, {col_b} = {vb}); keep the right one and "
                    f"drop or rename the other (e.g. to {col_b}_old), so that one column "
                    f"holds {canonical}")
    return None


def _union_sql(con: duckdb.DuckDBPyConnection, sources: list[_Source],
               repaired: dict[Path, str]) -> str:
    """All inputs as one query: one ``read_parquet`` per group of files with the same
    columns (a folder of a year of hourly files is one scan), plus the repaired ones."""
    parts = [_group_select(con, group, f"input_{i}")
             for i, group in enumerate(_groups(s for s in sources if s.path not in repaired))]
    return "\nUNION ALL BY NAME\n".join(parts + list(repaired.values()))


def _failing_file(con: duckdb.DuckDBPyConnection, sources: list[_Source],
                  repaired: dict[Path, str]) -> tuple[Path | None, str]:
    """After a failed read, the file that fails (and why): each group is read whole, and a
    failing group is halved until one file is left (a year of hourly files: about 14 reads,
    not 8,760)."""
    def error(select: str) -> str | None:
        try:
            con.execute(f"SELECT min(hash(t)) FROM ({select}) t").fetchall()
        except duckdb.Error as exc:
            return str(exc).splitlines()[0]
        return None

    for path, select in repaired.items():
        problem = error(select)
        if problem:
            return path, problem
    for i, group in enumerate(_groups(s for s in sources if s.path not in repaired)):
        problem = error(_group_select(con, group, f"check_{i}"))
        while problem and len(group) > 1:
            halves = group[: len(group) // 2], group[len(group) // 2:]
            for half in halves:
                problem = error(_group_select(con, half, f"check_{i}"))
                if problem:
                    group = half
                    break
        if problem:
            return group[0].path, problem
    return None, ""


# ---------------------------------------------------------------- cleaning

_VESSEL_CLASS = """CASE
    WHEN ship_type IS NULL THEN 'unknown'
    WHEN TRY_CAST(ship_type AS INTEGER) IS NOT NULL THEN (
        CASE
            WHEN TRY_CAST(ship_type AS INTEGER) = 30 THEN 'fishing'
            WHEN TRY_CAST(ship_type AS INTEGER) IN (31, 32, 52) THEN 'tug'
            WHEN TRY_CAST(ship_type AS INTEGER) = 50 THEN 'pilot'
            WHEN TRY_CAST(ship_type AS INTEGER) IN (51, 53, 54, 55, 58) THEN 'service'
            WHEN TRY_CAST(ship_type AS INTEGER) BETWEEN 60 AND 69 THEN 'passenger'
            WHEN TRY_CAST(ship_type AS INTEGER) BETWEEN 70 AND 79 THEN 'cargo'
            WHEN TRY_CAST(ship_type AS INTEGER) BETWEEN 80 AND 89 THEN 'tanker'
            WHEN TRY_CAST(ship_type AS INTEGER) IN (36, 37) THEN 'pleasure'
            ELSE 'other' END)
    WHEN lower(ship_type) LIKE '%tanker%' THEN 'tanker'
    WHEN lower(ship_type) LIKE '%cargo%' OR lower(ship_type) LIKE '%bulk%'
         OR lower(ship_type) LIKE '%container%' THEN 'cargo'
    WHEN lower(ship_type) LIKE '%fish%' OR lower(ship_type) LIKE '%trawl%' THEN 'fishing'
    WHEN lower(ship_type) LIKE '%tug%' OR lower(ship_type) LIKE '%tow%' THEN 'tug'
    WHEN lower(ship_type) LIKE '%pilot%' THEN 'pilot'
    WHEN lower(ship_type) LIKE '%passenger%' OR lower(ship_type) LIKE '%ferry%' THEN 'passenger'
    WHEN lower(ship_type) LIKE '%not available%' THEN 'unknown'
    ELSE 'other' END"""


def count_rows(paths: Iterable[str | Path]) -> int | None:
    """Rows in the input files from their Parquet footers alone (no data is read; a CSV or
    NMEA input is parsed into the Parquet file the scan reads); None when a file cannot tell
    (the scan itself will say why)."""
    try:
        return sum(row_count(p) for p in resolve_inputs(paths))
    except (InputError, OSError, pa.ArrowException):
        return None


def days_with_data(paths: Iterable[str | Path], cfg: CleanConfig | None = None
                   ) -> list[pd.Timestamp] | None:
    """The UTC days the inputs have plausible pings on, reading only the time column; None
    when it cannot be told cheaply (a bad file: the scan itself will say why)."""
    rows = rows_by_day(paths, cfg)
    return None if rows is None else list(rows.index)


def rows_by_day(paths: Iterable[str | Path], cfg: CleanConfig | None = None
                ) -> pd.Series | None:
    """Rows with a plausible time on each UTC day (index: the days, in order), reading only
    the time column; None when it cannot be told cheaply (a bad file)."""
    cfg = cfg or CleanConfig()
    try:
        sources = [inspect_file(path) for path in resolve_inputs(paths)]
        con = connect()
        earliest, latest = cfg.earliest.replace("'", ""), cfg.latest.replace("'", "")
        days = con.execute(f"""
            SELECT date_trunc('day', timestamp) AS day, count(*) AS n
            FROM ({_union_sql(con, sources, {})})
            WHERE timestamp >= TIMESTAMPTZ '{earliest}' AND timestamp < TIMESTAMPTZ '{latest}'
            GROUP BY day ORDER BY day
        """).df()
        con.close()
    except (InputError, duckdb.Error):
        return None
    return pd.Series(days["n"].to_numpy(np.int64),
                     index=[pd.Timestamp(d).tz_convert("UTC") for d in days["day"]])


def share_sql(k: int, n: int) -> str:
    """The condition of ``ingest(share=(k, n))`` on the BIGINT column ``mmsi``: the MMSI is
    ``k`` modulo ``n`` (no usable MMSI: share 0)."""
    return f"{_share_of_sql(n)} = {k}"


def _share_of_sql(n: int) -> str:
    """Each row's share, 0..n-1, of ``n`` (see :func:`share_sql`)."""
    return f"coalesce(((mmsi % {n}) + {n}) % {n}, 0)"


def _reason_sql(cfg: CleanConfig) -> str:
    """Null the sentinels and give each row its first drop reason (NULL: keep)."""
    earliest, latest = cfg.earliest.replace("'", ""), cfg.latest.replace("'", "")
    bounds = []
    if cfg.since:
        bounds.append(f"timestamp < TIMESTAMPTZ '{cfg.since.replace(chr(39), '')}'")
    if cfg.until:
        bounds.append(f"timestamp >= TIMESTAMPTZ '{cfg.until.replace(chr(39), '')}'")
    window = " OR ".join(bounds) or "false"
    return f"""
    WITH typed AS (
        SELECT * REPLACE (
            CASE WHEN lat = 91 THEN NULL ELSE lat END AS lat,
            CASE WHEN lon = 181 THEN NULL ELSE lon END AS lon,
            CASE WHEN sog >= 102.2 OR sog < 0 THEN NULL ELSE sog END AS sog,
            CASE WHEN cog >= 360 OR cog < 0 THEN NULL ELSE cog END AS cog,
            CASE WHEN heading > 359 OR heading < 0 THEN NULL ELSE heading END AS heading,
            TRY_CAST(regexp_extract(imo, '(^|[^0-9])([1-9][0-9]{{6}})([^0-9]|$)', 2)
                     AS BIGINT) AS imo
        )
        FROM raw
    )
    SELECT *,
        CASE
            {drop_reason_sql()}
            WHEN timestamp IS NULL THEN 'missing_timestamp'
            WHEN timestamp < TIMESTAMPTZ '{earliest}' OR timestamp >= TIMESTAMPTZ '{latest}'
                THEN 'timestamp_out_of_range'
            WHEN {window} THEN 'outside_time_window'
            WHEN lat IS NULL OR lon IS NULL OR (lat = 0 AND lon = 0)
                THEN 'position_not_available'
            WHEN abs(lat) >= 90 OR abs(lon) > 180 THEN 'position_out_of_range'
        END AS drop_reason
    FROM typed
    """


def ingest(
    paths: Iterable[str | Path],
    cfg: CleanConfig | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    skip_bad_files: bool = False,
    window: tuple[str, str] | None = None,
    share: tuple[int, int] | None = None,
) -> Ingested:
    """Read, map, coerce, clean and sort AIS pings from Parquet files.

    Args:
        paths: files, directories (searched recursively) or glob patterns.
        cfg: validity rules; defaults to ``CleanConfig()``.
        con: a DuckDB connection to work in (a private in-memory one by default).
        skip_bad_files: leave out files that cannot be read (missing, not Parquet, truncated,
            wrong columns) and name them in ``report.bad_files`` instead of raising.
        window: (since, until): read only the rows in this UTC window; rows outside it are
            not part of this read at all (not counted), so a long input can be scanned one
            window at a time (DuckDB skips row groups outside it).
        share: (k, n): read only the rows of the vessels whose MMSI is k modulo n (rows
            without a usable MMSI: share 0), as a worker of ``ais scan --cluster`` reads
            its share (:mod:`ais.runtime.shares`); the shares' reports add up to the whole.

    Returns:
        The cleaned pings sorted by (mmsi, timestamp) and the cleaning report.

    Raises:
        InputError: a path is missing, a file is not Parquet, or lacks required columns
            (with ``skip_bad_files``: only when no file is usable). Nothing is read when any
            file is bad.
    """
    cfg = cfg or CleanConfig()
    clean_cfg = cfg
    return _read(paths, con or connect(), skip_bad_files, window, share,
                 lambda con, report: _clean(con, report, clean_cfg))


def read_raw(paths: Iterable[str | Path], n: int, *, skip_bad_files: bool = False,
             window: tuple[str, str] | None = None) -> RawRead:
    """The input read as :func:`ingest` reads it, up to its canonical columns, not cleaned:
    one Arrow table per share ``k`` of ``n`` (:func:`share_sql`), for :func:`clean_raw` of
    the tables of a share from every part of the input (``ais scan --cluster`` reads each
    file once: :mod:`ais.runtime.shares`). Errors: as :func:`ingest`'s."""
    def split(con: duckdb.DuckDBPyConnection, report: CleaningReport) -> RawRead:
        # one pass over the files, then cut by share
        table = con.sql(f"SELECT * EXCLUDE (source_file), {_share_of_sql(n)} AS {_SHARE} "
                        "FROM raw").to_arrow_table()
        con.execute("DROP VIEW IF EXISTS raw")
        share = table.column(_SHARE).to_numpy()
        table = table.drop_columns([_SHARE])
        return RawRead([table.filter(pa.array(share == k)) for k in range(n)], report)

    con = connect()
    try:
        return _read(paths, con, skip_bad_files, window, None, split)
    finally:
        con.close()


#: The column of each row's share in :func:`read_raw`.
_SHARE = "__ais_share"


@dataclass
class RawRead:
    """What :func:`read_raw` read: each share's rows, and the report of the files read
    (no rows counted yet: :func:`clean_raw` counts them)."""

    tables: list[pa.Table]
    report: CleaningReport


def clean_raw(tables: Sequence[pa.Table], reports: Sequence[CleaningReport],
              cfg: CleanConfig | None = None) -> Ingested:
    """One share's rows from every part of the input (:func:`read_raw`, parts of disjoint
    files, ``reports`` theirs in the order of the files) cleaned and sorted as :func:`ingest`
    cleans them: the same pings and counts as ``ingest(all the files, share=(k, n))`` (the
    cleaning does not depend on the order of the rows: ties are broken by content,
    :func:`ais.inputs.pingframe.duplicates`)."""
    report = CleaningReport()
    for part in reports:
        report.files.extend(part.files)
        report.column_mapping.update(part.column_mapping)
        report.bad_files.extend(part.bad_files)
        report.repaired_text.extend(part.repaired_text)
        report.decoded.extend(part.decoded)
    full = [t for t in tables if t.num_rows] or list(tables[:1])
    con = connect()
    try:
        con.register("raw_parts", pa.concat_tables(full, promote_options="permissive"))
        con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_parts")
        return _clean(con, report, cfg or CleanConfig())
    finally:
        con.close()


_T = TypeVar("_T")


def _read(paths: Iterable[str | Path], con: duckdb.DuckDBPyConnection, skip_bad_files: bool,
          window: tuple[str, str] | None, share: tuple[int, int] | None,
          finish: Callable[[duckdb.DuckDBPyConnection, CleaningReport], _T]) -> _T:
    """The read of :func:`ingest`: files found and checked, the view ``raw`` of their
    canonical columns made, then ``finish(con, report)``; a file that fails there is left
    out (``skip_bad_files``) or repaired, and ``finish`` runs again."""
    report = CleaningReport()
    files = resolve_inputs(paths, report.bad_files if skip_bad_files else None)
    sources: dict[Path, _Source] = {}
    repaired: dict[Path, str] = {}

    def refuse(path: Path, message: str, cause: BaseException | None = None) -> None:
        if not skip_bad_files:
            raise InputError(message) from cause
        report.bad_files.append((str(path), message))
        sources.pop(path, None)
        repaired.pop(path, None)

    for file in files:
        try:
            sources[file] = inspect_file(file)
        except InputError as exc:
            refuse(file, str(exc), exc)
    for src in sources.values():
        if src.data is not None:  # CSV or NMEA: what reading it said
            made = source(src.path)
            if made.decoded is not None:
                report.decoded.append(made.decoded.line(str(src.path)))
            if made.repaired_text:
                report.repaired_text.append(str(src.path))
    for i, group in enumerate(_groups(sources.values())):
        while group and (found := _disagreement(con, group, f"agree_{i}")):
            refuse(found[0], f"{found[0]}: {found[1]}")
            group = [s for s in group if s.path != found[0]]
    while True:
        if not sources:
            raise InputError("no usable input file: " + "; ".join(
                r for _, r in report.bad_files))
        report.files = [str(f) for f in sources]
        report.column_mapping = {str(p): src.mapping for p, src in sources.items()}
        try:
            union = _union_sql(con, list(sources.values()), repaired)
            if window is not None:
                since, until = (w.replace("'", "") for w in window)
                union = (f"SELECT * FROM ({union}) WHERE timestamp >= TIMESTAMPTZ '{since}' "
                         f"AND timestamp < TIMESTAMPTZ '{until}'")
            if share is not None:
                union = f"SELECT * FROM ({union}) WHERE {share_sql(*share)}"
            con.execute("CREATE OR REPLACE TEMP VIEW raw AS\n" + union)
            return finish(con, report)
        except (InputError, duckdb.Error) as exc:
            if isinstance(exc, InputError) and not isinstance(exc.__cause__, duckdb.Error):
                raise
            path, problem = _failing_file(con, list(sources.values()), repaired)
            if path is None:
                raise InputError(f"reading the input failed: {exc}") from exc
            if "string encoding" in problem and str(path) not in report.repaired_text:
                repaired[path] = _repaired_select(con, sources[path], len(report.repaired_text))
                report.repaired_text.append(str(path))
                continue
            refuse(path, f"{path}: cannot be read ({problem}); check it is an intact Parquet "
                         "file, e.g. re-export it with pyarrow or DuckDB", exc)


def _repaired_select(con: duckdb.DuckDBPyConnection, source: _Source, i: int) -> str:
    """A SELECT over the file read by Arrow with invalid UTF-8 replaced by U+FFFD."""
    table = pq.read_table(source.parquet)
    for j, fld in enumerate(table.schema):
        typ = fld.type.value_type if pa.types.is_dictionary(fld.type) else fld.type
        if is_text(typ):
            col = table.column(j).cast(pa.large_binary()).combine_chunks().dictionary_encode()
            text = [None if v is None else v.decode("utf-8", "replace")
                    for v in col.dictionary.to_pylist()]  # distinct values only
            fixed = pa.DictionaryArray.from_arrays(col.indices, pa.array(text, pa.large_string()))
            table = table.set_column(j, fld.name, fixed.cast(pa.large_string()))
    for key, value in source.hive:
        if key not in table.schema.names:
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    name = f"repaired_{i}"
    con.register(name, table)
    types, mapping, alternates = source.duckdb()
    return _select(types, mapping, _sql_text(str(source.path)), name, alternates)


def ingest_frame(frame: pd.DataFrame, cfg: CleanConfig | None = None,
                 label: str = "<frame>") -> Ingested:
    """Clean an in-memory frame exactly like :func:`ingest` cleans files (tests, synth).

    Raises:
        InputError: the frame lacks required columns.
    """
    cfg = cfg or CleanConfig()
    con = connect()
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    mapping = map_columns(Path(label), list(schema.names))
    con.register("input_frame", frame)
    label_sql = "'" + label.replace("'", "''") + "'"
    con.execute("CREATE TEMP VIEW raw AS " + _select(schema, mapping, label_sql, "input_frame"))
    report = CleaningReport(files=[label], column_mapping={label: mapping})
    return _clean(con, report, cfg)


#: Per-ping text columns, each looked up in a dictionary of its distinct values:
#: dictionary -> (raw column, SQL of the dictionary's columns from ``raw``, output columns).
_DICTIONARIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "names": ("name", f"{_clean_text_sql('raw')} AS name, "
                      f"{normalise_sql(_clean_text_sql('raw'))} AS name_norm",
              ("name", "name_norm")),
    "callsigns": ("callsign", f"{_clean_text_sql('raw')} AS callsign, "
                              f"{normalise_sql(_clean_text_sql('raw'))} AS callsign_norm",
                  ("callsign", "callsign_norm")),
    "destinations": ("destination", f"{_clean_text_sql('raw')} AS destination",
                     ("destination",)),
    "types": ("ship_type", f"raw AS ship_type, {_VESSEL_CLASS.replace('ship_type', 'raw')} "
                           "AS vessel_class", ("ship_type", "vessel_class")),
    "statuses": ("nav_status", f"{nav_status_sql('raw')} AS nav_status", ("nav_status",)),
}


#: Rows per batch streamed from DuckDB into the preallocated arrays.
_BATCH_ROWS = 1 << 19


def _clean(con: duckdb.DuckDBPyConnection, report: CleaningReport, cfg: CleanConfig
           ) -> Ingested:
    """Null sentinels, drop and count bad rows, normalise identities, sort (view ``raw``).

    The input is read in passes that stream (DuckDB keeps nothing per ping): one counts the
    drop reasons; one per text column collects its distinct values, which are cleaned and
    normalised once each into a small dictionary; the last streams the kept pings, with
    dictionary ids instead of text, into arrays allocated once at their final size. Sorting,
    duplicates and the text columns are then done on arrays: a permutation, neighbours
    compared, dictionaries indexed. Each array is released as soon as its sorted copy is
    made, so the pings are held about once, plus one column.
    """
    con.execute(f"CREATE OR REPLACE TEMP VIEW reasoned AS {_reason_sql(cfg)}")
    sent = {c for mapping in report.column_mapping.values() for c in mapping}
    numbers = [c for c in ("lat", "lon", "sog", "cog", "heading", *OPTIONAL_NUMBERS)
               if c not in OPTIONAL_NUMBERS or c in sent]
    try:
        counts = dict(con.execute(
            "SELECT coalesce(drop_reason, ''), count(*) FROM reasoned GROUP BY 1").fetchall())
        for table_name, (col, sql, _) in _DICTIONARIES.items():
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {table_name} AS
                SELECT CAST(row_number() OVER (ORDER BY raw) - 1 AS INTEGER) AS id, raw, {sql}
                FROM (SELECT DISTINCT {col} AS raw FROM raw WHERE {col} IS NOT NULL)
            """)
        dictionaries = {t: con.sql(f"SELECT {', '.join(cols)} FROM {t} ORDER BY id")
                        .to_arrow_table() for t, (_, _, cols) in _DICTIONARIES.items()}
        reader = con.sql(f"""
            SELECT r.mmsi, r.timestamp, {", ".join(f"r.{c}" for c in numbers)},
                   coalesce(n.id, -1) AS names, coalesce(c.id, -1) AS callsigns,
                   coalesce(d.id, -1) AS destinations, coalesce(ty.id, -1) AS types,
                   coalesce(st.id, -1) AS statuses,
                   hash(r.lat, r.lon, r.sog, r.cog, r.heading, n.name, c.callsign, r.imo,
                        r.ship_type, r.nav_status, r.length, r.width, r.draught, d.destination)
                       AS content_hash
            FROM reasoned r
            LEFT JOIN names n ON r.name = n.raw
            LEFT JOIN callsigns c ON r.callsign = c.raw
            LEFT JOIN destinations d ON r.destination = d.raw
            LEFT JOIN types ty ON r.ship_type = ty.raw
            LEFT JOIN statuses st ON r.nav_status = st.raw
            WHERE r.drop_reason IS NULL
        """).to_arrow_reader(_BATCH_ROWS)
        columns = read_columns(reader, int(counts.get("", 0)))
    except duckdb.Error as exc:
        raise InputError(f"reading the input failed: {exc}") from exc
    con.execute("DROP VIEW reasoned; DROP VIEW IF EXISTS raw; DROP TABLE IF EXISTS raw; "
                + " ".join(f"DROP TABLE {t};" for t in _DICTIONARIES))
    mmsi, micros = columns.pop("mmsi"), columns.pop("timestamp")
    assert isinstance(mmsi, np.ndarray) and isinstance(micros, np.ndarray)  # plain columns
    order = sort_order(mmsi, micros)
    keys = {"mmsi": np.take(mmsi, order), "timestamp": np.take(micros, order)}  # once each
    del mmsi, micros
    order, keep, dup_counts = duplicates(columns, order, keys)
    if keep is not None:
        keys = {name: values[keep] for name, values in keys.items()}
    del columns["content_hash"]
    report.rows_in = int(sum(counts.values()))
    report.dropped = {reason: int(counts.get(reason, 0)) + dup_counts.get(reason, 0)
                      for reason in DROP_REASONS}
    pings = sorted_frame(columns, order, dictionaries, keys)
    report.rows_out = len(pings)
    return Ingested(pings=pings, report=report)
