"""The input formats a scan reads, each turned into something DuckDB reads like Parquet.

- Parquet (``.parquet``, hive-partitioned folders too): read as it is.
- CSV (``.csv``, ``.csv.gz``, ``.zip`` holding CSV) in the MarineCadastre and Danish DMA
  layouts (or any other with the recognised column spellings): read by DuckDB's ``read_csv``,
  every column as text, so a malformed value is a bad row that cleaning counts, never a
  failed read (:mod:`ais.inputs.readers.csv`).
- Raw NMEA logs (``.nmea``, ``.txt``, ``.log``, gzipped too, or any file whose first bytes
  are AIS sentences): decoded with pyais once per process into a temporary Parquet file
  (:mod:`ais.inputs.readers.nmea`); ``ais convert`` writes it for good.

:func:`source` gives, for one file, the Arrow schema of its columns and the SQL ``FROM`` that
reads it; ingest maps, coerces and cleans those columns the same way whatever the format.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ais.errors import InputError

if TYPE_CHECKING:
    from ais.inputs.readers.nmea import DecodeReport

PARQUET, CSV, NMEA = "parquet", "csv", "nmea"

#: File name endings (lower case) -> format. Others are sniffed from their first bytes.
SUFFIXES: dict[str, str] = {
    ".parquet": PARQUET, ".pq": PARQUET,
    ".csv": CSV, ".csv.gz": CSV, ".zip": CSV,
    ".nmea": NMEA, ".nmea.gz": NMEA, ".txt": NMEA, ".txt.gz": NMEA, ".log": NMEA,
    ".log.gz": NMEA, ".ais": NMEA, ".ais.gz": NMEA,
}

#: What the input formats are called in messages.
FORMATS_TEXT = ".parquet, .csv, .csv.gz, .zip (CSV), .nmea, .txt, .log (NMEA, gzipped too)"


def format_of(path: Path) -> str:
    """The format of a file: by its name ending, else by its first bytes (Parquet when
    unsure, whose reader then says what is wrong)."""
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    from ais.inputs.readers.nmea import looks_like_nmea

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return PARQUET
    if head[:4] == b"PAR1":
        return PARQUET
    if looks_like_nmea(head):
        return NMEA
    return PARQUET


def is_input(path: Path) -> bool:
    """Whether a file found in a directory is one a scan reads (by its name)."""
    name = path.name.lower()
    return not name.startswith(".") and any(name.endswith(s) for s in SUFFIXES)


@dataclass(frozen=True)
class Source:
    """One input file as DuckDB reads it."""

    path: Path
    format: str
    schema: pa.Schema
    #: SQL ``FROM`` item reading the file's columns
    from_sql: str
    #: the Parquet file DuckDB reads: the input itself, or the one made from it
    data: Path
    #: for NMEA: what the decoder read and left out (an ``nmea.DecodeReport``)
    decoded: DecodeReport | None = None
    #: text that was not valid UTF-8 was read with the bad bytes replaced by U+FFFD
    repaired_text: bool = False


def _quote(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class _Scratch:
    """Files made from inputs (decoded NMEA, unzipped CSV), kept for this process, keyed by
    the input's path, size and modification time, so a by-day scan decodes a log once."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._made: dict[tuple, Any] = {}
        self._lock = threading.RLock()

    def dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="ais-inputs-"))
            atexit.register(shutil.rmtree, self._dir, True)
        return self._dir

    def get(self, path: Path, kind: str, make) -> Any:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, kind)
        with self._lock:
            if key not in self._made:
                self._made[key] = make(self.dir() / f"{len(self._made)}")
            return self._made[key]


_SCRATCH = _Scratch()


def _decoded_nmea(path: Path) -> tuple[Path, DecodeReport]:
    from ais.inputs.readers.nmea import read_nmea

    def make(stem: Path) -> tuple[Path, DecodeReport]:
        try:
            table, report = read_nmea(path)
        except OSError as exc:  # includes a gzip file cut short (EOFError is not OSError)
            raise InputError(f"{path}: cannot be read as an NMEA log ({exc}); check the file "
                             "is complete (gzip -t for .gz)") from exc
        except EOFError as exc:
            raise InputError(f"{path}: the gzip stream ends early ({exc}); the file is "
                             "truncated, copy it again") from exc
        out = stem.with_suffix(".parquet")
        pq.write_table(table, out)
        return out, report

    return _SCRATCH.get(path, NMEA, make)


def source(path: Path, hive: bool = False) -> Source:
    """How DuckDB reads ``path``: its columns' schema and the ``FROM`` item.

    Raises:
        InputError: naming the file, what is wrong and the fix (empty, not the format its
            name says, no header, ...).
    """
    fmt = format_of(path)
    if fmt != PARQUET:  # made once per process (a by-day scan reads the inputs each day)
        return _SCRATCH.get(path, "source", lambda _: _source(path, fmt))
    schema = _parquet_schema(path)
    return Source(path, PARQUET, schema,
                  f"read_parquet({_quote(path)}, hive_partitioning = {str(hive).lower()})", path)


def row_count(path: Path) -> int:
    """Rows of an input from a Parquet footer: the file's own, or (CSV, NMEA) that of the
    Parquet file made from it once per process, which the scan then reads."""
    return pq.ParquetFile(source(path).data).metadata.num_rows


def _source(path: Path, fmt: str) -> Source:
    if fmt == CSV:
        from ais.inputs.readers.csv import csv_source

        schema, parsed, repaired = csv_source(path, _SCRATCH)
        from_sql = f"read_parquet({_quote(parsed)})"
        return Source(path, CSV, schema, from_sql, parsed, repaired_text=repaired)
    if fmt == NMEA:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty (0 bytes), not an NMEA log")
        parquet, report = _decoded_nmea(path)
        if report.positions == 0:
            raise InputError(
                f"{path}: no AIS position could be decoded ({report.line(str(path))}); "
                "check it is an NMEA log of !AIVDM sentences with a receive time (an NMEA "
                "4.0 tag block c: field or a leading timestamp column)")
        return Source(path, NMEA, pq.read_schema(parquet),
                      f"read_parquet({_quote(parquet)})", parquet, report)
    raise ValueError(f"unknown input format {fmt!r}")


def _parquet_schema(path: Path) -> pa.Schema:
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty (0 bytes), not a Parquet file")
        return pq.read_schema(path)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{path}: not a readable Parquet file ({exc}); check it is Parquet and not "
            "truncated, e.g. re-export it with pyarrow or DuckDB"
        ) from exc
