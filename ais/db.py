"""DuckDB connections set up the way every stage expects: UTC, our SQL macros."""

from __future__ import annotations

import contextlib
import contextvars
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ais.errors import ConfigError

EARTH_RADIUS_KM = 6371.0088

_MACROS = f"""
CREATE OR REPLACE TEMP MACRO hav_km(lat1, lon1, lat2, lon2) AS
    2 * {EARTH_RADIUS_KM} * asin(sqrt(
        pow(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2)
    ));
"""


_LIMITS: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "ais_duckdb_limits", default=(None, None))
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
                     re.IGNORECASE)


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def memory_bytes(limit: str) -> int:
    """Bytes of a memory limit written like DuckDB's (``8GB`` is 8 * 1000**3, ``8GiB``
    8 * 1024**3)."""
    match = _MEMORY.match(check_memory_limit(limit))
    assert match is not None  # check_memory_limit raised otherwise
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def check_memory_limit(limit: str) -> str:
    """``limit`` if DuckDB understands it (e.g. ``8GB``, ``500MB``), else a ConfigError."""
    if not _MEMORY.match(limit):
        raise ConfigError(f"memory limit {limit!r} is not a size; write it like 8GB or 500MB")
    return limit.strip()


@contextlib.contextmanager
def memory_limit(limit: str | None, temp_directory: str | Path | None = None
                 ) -> Iterator[None]:
    """Every DuckDB connection opened inside gets ``limit`` and spills beyond it to
    ``temp_directory`` (a fresh temporary directory, removed afterwards, by default).

    The limit bounds DuckDB's own memory (sorts, joins, windows spill instead of failing);
    pandas frames come on top of it.
    """
    if limit is None:
        yield
        return
    limit = check_memory_limit(limit)
    with contextlib.ExitStack() as stack:
        if temp_directory is None:
            temp_directory = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="ais-duckdb-spill-"))
        token = _LIMITS.set((limit, str(temp_directory)))
        try:
            yield
        finally:
            _LIMITS.reset(token)


def scoped_memory_limit() -> str | None:
    """The limit of the :func:`memory_limit` block the caller runs in (None outside one), to
    hand to another process, which opens its own block (:mod:`ais.runtime.cluster`)."""
    return _LIMITS.get()[0]


def connect(
    database: str = ":memory:", *, memory_limit: str | None = None, threads: int | None = None,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection in UTC with the ``hav_km`` great-circle macro defined.

    Args:
        database: a file path or ``":memory:"``.
        memory_limit: e.g. ``"8GB"``; DuckDB spills to disk beyond it.
        threads: worker threads; DuckDB's default (all cores) when None.
        read_only: open a database file read-only (several readers may share it).
    """
    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # library code never prints
    scoped_limit, spill_dir = _LIMITS.get()
    memory_limit = memory_limit or scoped_limit
    if memory_limit:
        con.execute(f"SET memory_limit = '{check_memory_limit(memory_limit)}'")
    if spill_dir:
        con.execute(f"SET temp_directory = '{spill_dir.replace(chr(39), chr(39) * 2)}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(_MACROS)
    return con


def fetch_frame(con: duckdb.DuckDBPyConnection, query: str,
                non_null_ints: tuple[str, ...] = (), categorical_text: bool = False
                ) -> pd.DataFrame:
    """Run ``query`` and return a pandas frame through Arrow (several times faster than
    ``.df()`` for millions of rows with text). Integer columns become nullable ``Int64``,
    except ``non_null_ints``, which become plain ``int64``; with ``categorical_text``, text
    columns become categoricals (a few distinct names over millions of rows)."""
    table = con.sql(query).to_arrow_table()
    if categorical_text:
        table = pa.table([c.dictionary_encode() if pa.types.is_string(c.type)
                          or pa.types.is_large_string(c.type) else c for c in table.columns],
                         names=table.column_names)
    return arrow_frame(table, non_null_ints)


def arrow_frame(table: pa.Table, non_null_ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """An Arrow table as pandas, as :func:`fetch_frame` returns it; the table's buffers are
    released column by column as they are converted (so the peak is not two copies)."""
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(),
                                          pa.int32(): pd.Int32Dtype()}.get,
                            split_blocks=True, self_destruct=True)
    del table
    for col in non_null_ints:
        frame[col] = frame[col].astype("int64")
    return frame


def plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its categorical (dictionary-encoded) columns as plain text, for a
    table that outlives the scan (DuckDB would otherwise store them as an ENUM of tonight's
    values only)."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.assign(**{c: _decoded(frame[c]) for c in cats})


def _decoded(column: pd.Series) -> pd.Series | pd.api.extensions.ExtensionArray:
    """A categorical column as its plain values; text is decoded by Arrow (about 20x faster
    than pandas' ``astype``) into pandas' Arrow-backed strings."""
    values = pa.array(column)
    if pa.types.is_string(values.type.value_type) or pa.types.is_large_string(
            values.type.value_type):
        return pd.arrays.ArrowStringArray(values.dictionary_decode().cast(pa.large_string()))
    return column.astype(column.cat.categories.dtype)

