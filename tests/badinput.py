"""A corpus of bad AIS inputs, written on the fly into a test's tmp_path.

Each :class:`BadInput` knows how to write itself and what ``ais scan`` must do with it: the
exit code, the exact error line (``{path}`` stands for the file), or the rows kept and the
rows dropped per reason. Nothing here is committed as a data file; every case is a few rows
built from a clean base track, so a test shows exactly what was broken.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

MMSI = 412331088
N = 12  # rows of the base track


def base(n: int = N, mmsi: int = MMSI) -> pd.DataFrame:
    """A clean track: one ping every 10 min sailing north-east in Korea Bay."""
    return pd.DataFrame({
        "mmsi": [mmsi] * n,
        "timestamp": pd.date_range("2026-01-05", periods=n, freq="10min", tz="UTC"),
        "lat": np.round(np.linspace(38.30, 38.40, n), 6),
        "lon": np.round(np.linspace(124.50, 124.60, n), 6),
    })


def write_table(path: Path, table: pa.Table | pd.DataFrame) -> Path:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def replace_column(frame: pd.DataFrame, name: str, array: pa.Array) -> pa.Table:
    """The frame as an Arrow table with one column swapped for an array of any Arrow type."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.set_column(table.schema.get_field_index(name), name, array)


def raw_utf8(values: list[bytes]) -> pa.Array:
    """A string array holding arbitrary bytes (Arrow does not validate them on write)."""
    offsets = np.cumsum([0] + [len(v) for v in values]).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [None, pa.py_buffer(offsets.tobytes()),
                                  pa.py_buffer(b"".join(values))])


@dataclass(frozen=True)
class BadInput:
    """One bad input and what the scan must do with it.

    ``error`` is the exact ``Error: ...`` line (exit 1) with ``{path}`` for the file;
    ``error_start``/``error_end`` bracket lines that quote a library's own message. For files
    that scan (exit 0), ``kept`` rows survive and ``dropped`` gives the rows per reason.
    """

    name: str
    make: Callable[[Path], Path]
    exit_code: int = 0
    error: str | None = None
    error_start: str | None = None
    error_end: str | None = None
    kept: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def write(self, directory: Path) -> Path:
        return self.make(directory / f"{self.name}.parquet")


# ---------------------------------------------------------------- the writers

def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def _zero_rows(p: Path) -> Path:
    return write_table(p, base().iloc[:0])


def _no_positions(p: Path) -> Path:
    return write_table(p, base()[["mmsi", "timestamp"]].assign(sog=1.0))


def _lat_strings(p: Path) -> Path:
    f = base()
    f["lat"] = [f"{v}" for v in f["lat"]]
    f.loc[1, "lat"] = " 38.31 "  # padded: still a number
    f.loc[2, "lat"] = "north"
    f.loc[3, "lat"] = ""
    return write_table(p, f)


def _nan_inf(p: Path) -> Path:
    f = base()
    f.loc[1, "lat"] = np.nan
    f.loc[2, "lon"] = np.inf
    f.loc[3, "lat"] = -np.inf
    f["sog"] = [np.inf, -np.inf, np.nan] + [5.0] * (len(f) - 3)  # bad speeds are nulled only
    return write_table(p, f)


def _sentinels(p: Path) -> Path:
    f = base()
    f["sog"], f["cog"], f["heading"] = 102.3, 360.0, 511.0
    f["imo"], f["name"], f["callsign"] = "IMO0000000", "@@@@@@@@@@@@@@@@@@@@", "       "
    f["ship_type"] = "Not available"
    f.loc[1, "lat"] = 91.0
    f.loc[2, "lon"] = 181.0
    f.loc[3, ["lat", "lon"]] = 0.0
    return write_table(p, f)


def _times(p: Path) -> Path:
    f = base()
    f["timestamp"] = f["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")  # naive strings: UTC
    f.loc[1, "timestamp"] = "1970-01-01T00:00:00Z"
    f.loc[2, "timestamp"] = "2100-06-01T00:00:00Z"
    f.loc[3, "timestamp"] = "2026-01-05T09:30:00+09:00"  # 00:30Z, a fresh time
    f.loc[4, "timestamp"] = "2026-01-04T19:00:00-05:00"  # 00:00Z: repeats row 0's time
    f.loc[5, "timestamp"] = "5 January"
    return write_table(p, f)


def _mmsi_strings(p: Path) -> Path:
    f = base()
    f["mmsi"] = [" 412 331 088 ", "412331088", "\t412331088\n"] * (len(f) // 3)
    return write_table(p, f)


def _mmsi_floats(p: Path) -> Path:
    f = base()
    f["mmsi"] = f["mmsi"].astype(float)
    f.loc[1, "mmsi"] = np.nan
    f.loc[2, "mmsi"] = 1e30
    f.loc[3, "mmsi"] = 412331088.5
    return write_table(p, f)


def _bad_text(p: Path) -> Path:
    names = [b"CAF\xc3", b"A\x00B\x07C", b"\x1b[31mRED", "\u00c4\u00d6 \u6f22".encode()]
    table = pa.Table.from_pandas(base(), preserve_index=False)
    return write_table(p, table.append_column("name", raw_utf8(names * (N // 4))))


def _truncated(p: Path) -> Path:
    write_table(p, base())
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    return p


def _footer_intact_pages_broken(p: Path) -> Path:
    frame = base(2000)
    frame["name"] = [f"SHIP {i}" for i in range(len(frame))]
    write_table(p, frame)
    offset = pq.read_metadata(p).row_group(0).column(2).data_page_offset
    raw = bytearray(p.read_bytes())
    raw[offset:offset + 40] = bytes(40)
    p.write_bytes(bytes(raw))
    return p


def _csv(p: Path) -> Path:
    base().to_csv(p, index=False)
    return p


def _lat_bools(p: Path) -> Path:
    return write_table(p, base().assign(lat=[True, False] * (N // 2)))


def _timestamp_structs(p: Path) -> Path:
    return write_table(p, replace_column(base(), "timestamp", pa.array([{"s": 1}] * N)))


def _epoch(unit: str, scale: int) -> Callable[[Path], Path]:
    def make(p: Path) -> Path:
        f = base()
        seconds = (f["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        f["timestamp"] = seconds.astype("int64") * scale
        return write_table(p, f)
    make.__name__ = f"_epoch_{unit}"
    return make


def _decimal_positions(p: Path) -> Path:
    lat = pa.array([decimal.Decimal(f"{v:.6f}") for v in base()["lat"]], pa.decimal128(9, 6))
    return write_table(p, replace_column(base(), "lat", lat))


def _all_null_mmsi(p: Path) -> Path:
    return write_table(p, replace_column(base(), "mmsi", pa.nulls(N)))


def _unsigned_mmsi(p: Path) -> Path:
    return write_table(p, replace_column(base(), "mmsi", pa.array([MMSI] * N, pa.uint64())))


#: the corpus; outcomes are what `ais scan` must report for each
CORPUS: tuple[BadInput, ...] = (
    BadInput("empty_file", _empty, 1,
             error="Error: {path}: file is empty (0 bytes), not a Parquet file"),
    BadInput("zero_rows", _zero_rows, kept=0),
    BadInput("no_position_columns", _no_positions, 1,
             error="Error: {path}: no usable position columns (lat, lon). Columns found: "
                   "mmsi, timestamp, sog. Expected lat: one of lat, latitude, y; lon: one of "
                   "lon, longitude, long, lng; rename the columns or convert the file."),
    BadInput("lat_as_strings", _lat_strings, kept=N - 2,
             dropped={"position_not_available": 2}),
    BadInput("nan_and_infinite", _nan_inf, kept=N - 3, dropped={"position_not_available": 3}),
    BadInput("every_sentinel", _sentinels, kept=N - 3, dropped={"position_not_available": 3}),
    BadInput("timestamps_1970_2100_zones", _times, kept=N - 4,
             dropped={"timestamp_out_of_range": 2, "missing_timestamp": 1,
                      "repeated_mmsi_timestamp": 1}),
    BadInput("mmsi_strings_with_spaces", _mmsi_strings, kept=N),
    BadInput("mmsi_floats", _mmsi_floats, kept=N - 3, dropped={"invalid_mmsi": 3}),
    BadInput("non_utf8_and_control_characters", _bad_text, kept=N),
    BadInput("truncated_parquet", _truncated, 1,
             error_start="Error: {path}: not a readable Parquet file (",
             error_end="); check it is Parquet and not truncated, e.g. re-export it with "
                       "pyarrow or DuckDB"),
    BadInput("footer_intact_pages_broken", _footer_intact_pages_broken, 1,
             error_start="Error: {path}: cannot be read (",
             error_end="); check it is an intact Parquet file, e.g. re-export it with "
                       "pyarrow or DuckDB"),
    BadInput("csv_renamed_parquet", _csv, 1,
             error_start="Error: {path}: not a readable Parquet file (",
             error_end="); check it is Parquet and not truncated, e.g. re-export it with "
                       "pyarrow or DuckDB"),
    BadInput("lat_as_booleans", _lat_bools, 1,
             error="Error: {path}: column 'lat' (lat) has type bool, which cannot hold lat "
                   "values; convert it to numbers or numeric strings, or rename the column"),
    BadInput("timestamp_as_structs", _timestamp_structs, 1,
             error="Error: {path}: column 'timestamp' (timestamp) has type struct<s: int64>, "
                   "which cannot hold timestamp values; convert it to a timestamp, an ISO "
                   "8601 string or epoch seconds, or rename the column"),
    BadInput("epoch_seconds", _epoch("s", 1), kept=N),
    BadInput("epoch_milliseconds", _epoch("ms", 10**3), kept=N),
    BadInput("epoch_microseconds", _epoch("us", 10**6), kept=N),
    BadInput("epoch_nanoseconds", _epoch("ns", 10**9), kept=N),
    BadInput("decimal_positions", _decimal_positions, kept=N),
    BadInput("mmsi_all_null", _all_null_mmsi, kept=0, dropped={"invalid_mmsi": N}),
    BadInput("mmsi_unsigned", _unsigned_mmsi, kept=N),
)

BY_NAME = {case.name: case for case in CORPUS}


def write_all(directory: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write the named cases (default: all) into ``directory``; name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    return {n: BY_NAME[n].write(directory) for n in (names or list(BY_NAME))}
