"""``ais convert``: any input (Parquet, CSV, NMEA) to one canonical Parquet file.

The columns are mapped and typed exactly as a scan maps them (canonical names, ``mmsi``
BIGINT, ``timestamp`` TIMESTAMPTZ, numbers DOUBLE, text VARCHAR), but no row is dropped: a
scan of the converted file cleans and counts the bad rows as a scan of the inputs would, and
finds the same events. A month of NMEA is decoded once, then scanned at Parquet speed. Rows
are written in (timestamp, mmsi) order, so a scan of one day skips the other days' row groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ais.db import connect
from ais.errors import InputError
from ais.views.output import atomic_path


@dataclass
class Converted:
    """What ``convert`` wrote: the file, its rows, the inputs and what decoding said."""

    output: Path
    rows: int = 0
    files: list[str] = field(default_factory=list)
    #: one line per NMEA log: messages decoded and sentences left out by reason
    decoded: list[str] = field(default_factory=list)
    #: (file, reason) of inputs left out with ``skip_bad_files``
    bad_files: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"wrote {self.rows:,} rows from {len(self.files)} file(s) to {self.output}"]
        out += [f"  {line}" for line in self.decoded]
        if self.bad_files:
            out.append(f"skipped {len(self.bad_files)} bad input file(s):")
            out += [f"  {reason}" for _, reason in self.bad_files]
        return out


def convert(paths: Iterable[str | Path], output: str | Path, *,
            skip_bad_files: bool = False) -> Converted:
    """Write the inputs' pings in canonical columns to ``output`` (Parquet, zstd; atomic).

    Raises:
        InputError: a path is missing or a file cannot be read (with ``skip_bad_files``:
            only when no file is usable), naming the file and the fix.
    """
    from ais.inputs.ingest import _hive_keys, _select, check_types, map_columns, resolve_inputs
    from ais.inputs.readers import source

    result = Converted(Path(output))
    files = resolve_inputs(paths, result.bad_files if skip_bad_files else None)
    parts = []
    for path in files:
        try:
            hive = _hive_keys(path)
            src = source(path, bool(hive))
            mapping = map_columns(path, list(src.schema.names) + list(hive))
            check_types(path, src.schema, mapping)
        except InputError as exc:
            if not skip_bad_files:
                raise
            result.bad_files.append((str(path), str(exc)))
            continue
        if src.decoded is not None:
            result.decoded.append(src.decoded.line(str(path)))
        result.files.append(str(path))
        parts.append(_select(src.schema, mapping, "NULL", src.from_sql))
    if not parts:
        raise InputError("no usable input file: " + "; ".join(r for _, r in result.bad_files))
    query = ("SELECT * EXCLUDE (source_file) FROM ("
             + "\nUNION ALL BY NAME\n".join(parts) + ") ORDER BY timestamp, mmsi")
    con = connect()
    try:
        with atomic_path(output) as tmp:
            quoted = "'" + str(tmp).replace("'", "''") + "'"
            con.execute(f"COPY ({query}) TO {quoted} (FORMAT parquet, COMPRESSION zstd)")
            result.rows = int(con.execute(
                f"SELECT count(*) FROM read_parquet({quoted})").fetchone()[0])  # type: ignore
    except duckdb.Error as exc:
        raise InputError(f"converting the input failed: {str(exc).splitlines()[0]}; check "
                         "the files named above, e.g. scan them with `ais scan`") from exc
    finally:
        con.close()
    return result
