"""CSV inputs (``.csv``, ``.csv.gz``, ``.zip``) read by DuckDB's ``read_csv``.

Every column is read as text (``all_varchar``) and typed by ingest's own coercions, the same
as a Parquet column of strings: a value that is not a number or a time becomes a bad row that
cleaning counts, never a failed read. The delimiter is detected; a short row is padded with
empty values. MarineCadastre (``BaseDateTime`` ISO 8601, naive UTC) and the Danish DMA
(``# Timestamp`` as ``DD/MM/YYYY HH:MM:SS``, UTC) daily files are read as published. A zip
archive is unpacked once per process into a scratch folder (DuckDB cannot read zip), and
the CSV is parsed once into a scratch Parquet file that the scan's passes then read.
"""

from __future__ import annotations

import codecs
import gzip
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ais.errors import InputError

#: read_csv options: text columns, a header row, short rows padded, quoting detected.
OPTIONS = "header = true, all_varchar = true, null_padding = true, strict_mode = false"

_FIX = ("check it is comma- (or semicolon-, tab-) separated text with a header row, such as "
        "a MarineCadastre or Danish DMA daily file, or convert it to Parquet")


def _quote(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _unzip(path: Path, scratch) -> list[Path]:
    """The CSV members of a zip archive, unpacked once into the scratch folder."""

    def make(stem: Path) -> list[Path]:
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                wanted = [m for m in members if m.filename.lower().endswith((".csv", ".csv.gz"))
                          and not Path(m.filename).name.startswith(".")]
                if not wanted:
                    raise InputError(
                        f"{path}: the zip archive holds no .csv file (members: "
                        f"{', '.join(m.filename for m in members[:10]) or '(none)'}); "
                        "zip the CSV files themselves, or unpack the archive")
                stem.mkdir()
                out = []
                for i, member in enumerate(wanted):
                    suffix = ".csv.gz" if member.filename.lower().endswith(".gz") else ".csv"
                    target = stem / f"{i}{suffix}"
                    with archive.open(member) as src, open(target, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                    out.append(target)
                return out
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable zip archive ({exc}); check the "
                             "download is complete (unzip -t)") from exc

    return scratch.get(path, "zip", make)


def _open(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _valid_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8 (streamed; DuckDB refuses the file otherwise)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open(path) as fh:
            while chunk := fh.read(1 << 22):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read ({exc}); the file is damaged or cut "
                         "short, copy it again") from exc
    return True


def _repaired(path: Path, scratch) -> Path:
    """A copy of the file with bytes that are not UTF-8 replaced by U+FFFD."""

    def make(stem: Path) -> Path:
        out = stem.with_suffix(".csv")
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        with _open(path) as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(1 << 22):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
        return out

    return scratch.get(path, "utf8", make)


def csv_source(path: Path, scratch) -> tuple[pa.Schema, Path, bool]:
    """The (schema of text columns, the Parquet file it was parsed into, whether bad UTF-8
    was replaced) of a CSV file or a zip of CSV files.

    Raises:
        InputError: the file is empty or DuckDB cannot read it as CSV; names the file, the
            reason and the fix.
    """
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty (0 bytes), not a CSV file")
    files = _unzip(path, scratch) if path.name.lower().endswith(".zip") else [path]
    bad_text = [f for f in files if not _valid_utf8(f)]
    files = [_repaired(f, scratch) if f in bad_text else f for f in files]
    listed = "[" + ", ".join(_quote(f) for f in files) + "]"
    extra = ", union_by_name = true" if len(files) > 1 else ""
    csv_sql = f"read_csv({listed}, {OPTIONS}{extra})"

    def parse(stem: Path) -> Path:
        out = stem.with_suffix(".parquet")
        con = duckdb.connect()
        try:
            con.execute(f"COPY (SELECT * FROM {csv_sql}) TO {_quote(out)} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            raise InputError(f"{path}: not a readable CSV file ({reason}); {_FIX}") from exc
        finally:
            con.close()
        return out

    # parsed once into a scratch Parquet file: a scan reads its input in several passes
    parsed = scratch.get(path, "csv", parse)
    schema = pq.read_schema(parsed)
    return schema, parsed, bool(bad_text)
