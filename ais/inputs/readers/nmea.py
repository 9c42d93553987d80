"""Raw NMEA AIS logs (``!AIVDM``/``!AIVDO``) decoded with pyais into canonical columns.

A line is one sentence, optionally behind an NMEA 4.0 tag block (``\\c:1609459200,s:r1*hh\\``,
the receive time in unix seconds in ``c:``) or a leading timestamp column (unix seconds or an
ISO 8601 time, then a space, comma, semicolon or tab). A sentence of a multi-sentence message
takes the time of its first fragment. Used messages:

- positions: types 1, 2, 3 (class A) and 18, 19 (class B);
- static data: types 5 (class A) and 24 parts A and B, and the static part of 19 (name, call
  sign, IMO, ship type, length and width from the antenna offsets, draught, destination).

Static fields are joined as-of onto the same MMSI's positions, each field on its own (a 24A
name and a 24B call sign arrive separately): a position takes the latest value sent at or
before it, and positions before the first static message of their MMSI take that first one.

Sentences that cannot be used are counted by reason and never stop a read (``BAD_SENTENCES``);
messages of types the detectors have no use for (base stations, aids to navigation, ...) and
other NMEA sentences (``$GPRMC``) are counted apart, as they are not faults.
"""

from __future__ import annotations

import gzip
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyais.exceptions import AISBaseException
from pyais.messages import AISSentence

from ais.inputs.readers.codes import NAV_STATUS

#: Reasons a sentence or message is left out, as counted in :class:`DecodeReport`.
BAD_SENTENCES: dict[str, str] = {
    "checksum": "NMEA checksum (or tag block checksum) does not match",
    "truncated": "sentence cut short (no checksum field) or payload shorter than its "
                 "message type",
    "missing_fragment": "part of a multi-sentence message is missing or out of order",
    "unknown_type": "AIS message type that does not exist (0 or above 27) or that pyais "
                    "cannot decode",
    "malformed": "fields of the sentence cannot be parsed",
    "no_time": "no receive time (no tag block c: field and no leading timestamp)",
    "not_nmea": "line that is not an NMEA sentence",
}

#: Counted but not faults.
OTHER_MESSAGES: dict[str, str] = {
    "unused_type": "AIS messages of types the scan does not use (base stations, aids to "
                   "navigation, binary messages, ...)",
    "not_ais": "NMEA sentences that are not AIS (e.g. $GPRMC)",
}

#: Bits a message of each used type must hold for the fields we read (ITU-R M.1371-5).
_MIN_BITS = {1: 168, 2: 168, 3: 168, 18: 168, 19: 312, 5: 420, 24: 160}
_POSITION_TYPES = (1, 2, 3, 18, 19)
_STATIC_CACHE = 100_000  # distinct static payloads remembered

_TEXT = ("name", "callsign", "imo", "ship_type", "destination")
_NUMBER = ("length", "width", "draught")
STATIC_FIELDS = _TEXT + _NUMBER


@dataclass
class DecodeReport:
    """What a log held: lines, decoded messages, and sentences left out by reason."""

    lines: int = 0
    positions: int = 0
    statics: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: CPU seconds of this thread (the decode rate on a busy machine)
    cpu_seconds: float = 0.0

    @property
    def messages(self) -> int:
        return self.positions + self.statics

    def line(self, path: str) -> str:
        """One summary line for the scan's report."""
        text = (f"{path}: decoded {self.messages:,} AIS messages ({self.positions:,} "
                f"positions, {self.statics:,} static) from {self.lines:,} lines")
        if self.bad:
            text += "; left out " + ", ".join(
                f"{n:,} {reason}" for reason, n in self.bad.most_common())
        if self.other:
            text += "; not used " + ", ".join(
                f"{n:,} {reason}" for reason, n in self.other.most_common())
        return text


def looks_like_nmea(head: bytes) -> bool:
    """Whether the first bytes of a file read like an AIS NMEA log."""
    return any(tag in head for tag in (b"VDM,", b"VDO,"))


def open_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, gunzipped when it is gzip (by its magic bytes)."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        yield from fh


def _xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def _parse_time(text: bytes) -> float | None:
    """Unix seconds (or milliseconds) or an ISO 8601 time; naive means UTC."""
    text = text.strip(b" ,;\t")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text.decode("ascii").replace("/", "-"))
        except (ValueError, UnicodeDecodeError):
            return None
        if stamp.tzinfo is None:
            return (stamp - datetime(1970, 1, 1)).total_seconds()  # noqa: DTZ001 (UTC)
        return stamp.timestamp()
    if not math.isfinite(value):
        return None
    return value / 1000.0 if abs(value) >= 1e11 else value


def _tag_time(tag: bytes) -> tuple[float | None, bool]:
    """(the c: time of a tag block body, whether its checksum holds)."""
    body, star, check = tag.partition(b"*")
    if star:
        try:
            if int(check[:2], 16) != _xor(body):
                return None, False
        except ValueError:
            return None, False
    for item in body.split(b","):
        if item[:2] == b"c:":
            return _parse_time(item[2:]), True
    return None, True


#: Positions held in Python lists before they move to a typed frame (bounds memory).
_CHUNK = 500_000
_POS_DTYPES = {"mmsi": "int64", "t": "float64", "lat": "float64", "lon": "float64",
               "sog": "float64", "cog": "float64", "heading": "float64", "nav_status": object,
               "msg_type": "int8"}


class _Columns:
    """Column lists the decoded messages are appended to, moved into typed frames every
    ``_CHUNK`` positions (a Python float in a list takes 32 bytes, in a frame 8)."""

    def __init__(self) -> None:
        self.pos: dict[str, list] = {k: [] for k in _POS_DTYPES}
        self.static: dict[str, list] = {k: [] for k in ("mmsi", "t", *STATIC_FIELDS)}
        self.chunks: list[pd.DataFrame] = []

    def flush(self) -> None:
        if self.pos["mmsi"]:
            self.chunks.append(pd.DataFrame(
                {k: pd.Series(v, dtype=_POS_DTYPES[k]) for k, v in self.pos.items()}))
            self.pos = {k: [] for k in _POS_DTYPES}

    def positions(self) -> pd.DataFrame:
        self.flush()
        if not self.chunks:
            return pd.DataFrame({k: pd.Series([], dtype=d) for k, d in _POS_DTYPES.items()})
        return pd.concat(self.chunks, ignore_index=True)

    def position(self, t: float, msg) -> None:
        p = self.pos
        p["mmsi"].append(msg.mmsi)
        p["t"].append(t)
        p["lat"].append(msg.lat)
        p["lon"].append(msg.lon)
        p["sog"].append(msg.speed)
        p["cog"].append(msg.course)
        p["heading"].append(msg.heading)
        status = getattr(msg, "status", None)
        p["nav_status"].append(None if status is None else NAV_STATUS.get(int(status)))
        p["msg_type"].append(msg.msg_type)

    def static_values(self, t: float, mmsi: int, values: dict) -> None:
        s = self.static
        s["mmsi"].append(mmsi)
        s["t"].append(t)
        for key in STATIC_FIELDS:
            s[key].append(values.get(key))


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).rstrip("@ ").strip()  # trailing '@' pads; inner ones stay as sent
    return text or None


def _size(a, b) -> float | None:
    if a is None or b is None or (a + b) == 0:
        return None
    return float(a + b)


def _static_values(msg) -> dict:
    """The static fields a type 5, 19 or 24 message carries (absent keys: not sent)."""
    typ = msg.msg_type
    out: dict = {}
    if typ in (5, 19) or (typ == 24 and msg.partno == 0):
        out["name"] = _text(msg.shipname)
    if typ in (5, 19) or (typ == 24 and msg.partno == 1):
        code = int(msg.ship_type or 0)
        out["ship_type"] = str(code) if code else None
        out["length"] = _size(msg.to_bow, msg.to_stern)
        out["width"] = _size(msg.to_port, msg.to_starboard)
    if typ == 5 or (typ == 24 and msg.partno == 1):
        out["callsign"] = _text(msg.callsign)
    if typ == 5:
        out["imo"] = str(msg.imo) if msg.imo else None
        out["draught"] = float(msg.draught) if msg.draught else None
        out["destination"] = _text(msg.destination)
    return out


def decode_lines(lines: Iterable[bytes], report: DecodeReport | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, DecodeReport]:
    """Decode NMEA lines into (positions, static messages, report).

    Positions have mmsi, t (unix seconds), lat, lon, sog, cog, heading, nav_status, msg_type
    with the raw 'not available' values (lat 91, heading 511, ...) that cleaning counts;
    statics have mmsi, t and the fields of ``STATIC_FIELDS`` (None where not sent).
    """
    report = report or DecodeReport()
    bad, other = report.bad, report.other
    cols = _Columns()
    pending: dict[tuple, tuple[list[AISSentence], float | None]] = {}
    static_cache: dict[tuple, tuple[int, dict]] = {}
    n = 0
    for raw in lines:
        n += 1
        line = raw.strip()
        if not line:
            n -= 1
            continue
        t: float | None = None
        if line[:1] == b"\\":
            end = line.find(b"\\", 1)
            if end < 0:
                bad["truncated"] += 1
                continue
            t, ok = _tag_time(line[1:end])
            if not ok:
                bad["checksum"] += 1
                continue
            line = line[end + 1:]
        start = line.find(b"!")
        if start < 0:
            start = line.find(b"$")
            if start >= 0 and line[start + 3:start + 6] not in (b"VDM", b"VDO"):
                other["not_ais"] += 1
                continue
        if start < 0:
            bad["not_nmea"] += 1
            continue
        if start > 0:
            t = _parse_time(line[:start]) if t is None else t
            line = line[start:]
        star = line.rfind(b"*")
        if star < 0 or len(line) < star + 3:
            bad["truncated"] += 1
            continue
        if len(line) > star + 3:  # a trailing column after the checksum (e.g. a time)
            if t is None:
                t = _parse_time(line[star + 3:])
            line = line[:star + 3]
        if line[3:6] not in (b"VDM", b"VDO"):
            other["not_ais"] += 1
            continue
        if line.count(b",") < 6:
            bad["truncated"] += 1
            continue
        try:
            sentence = AISSentence(line)
        except (AISBaseException, ValueError):
            bad["malformed"] += 1
            continue
        if not sentence.is_valid:
            bad["checksum"] += 1
            continue
        if not sentence.payload:  # some receivers log sentences with an empty payload
            bad["truncated"] += 1
            continue
        if sentence.frag_cnt > 1:
            key = (sentence.frag_cnt, sentence.seq_id, sentence.channel)
            if sentence.frag_num == 1:
                if key in pending:
                    bad["missing_fragment"] += 1
                pending[key] = ([sentence], t)
                continue
            parts, t0 = pending.get(key, ([], None))
            if len(parts) != sentence.frag_num - 1:
                bad["missing_fragment"] += 1
                pending.pop(key, None)
                continue
            parts.append(sentence)
            if sentence.frag_num < sentence.frag_cnt:
                continue
            del pending[key]
            sentence = AISSentence.assemble_from_iterable(parts)
            t = t0 if t0 is not None else t
        if t is None:
            bad["no_time"] += 1
            continue
        typ = sentence.ais_id
        need = _MIN_BITS.get(typ)
        if need is None:
            if 1 <= typ <= 27:
                other["unused_type"] += 1
            else:
                bad["unknown_type"] += 1
            continue
        if len(sentence.payload) * 6 - sentence.fill_bits < need:
            bad["truncated"] += 1
            continue
        if typ in (5, 24):  # static data repeats word for word: decode each payload once
            payload = (sentence.payload, sentence.fill_bits)
            known = static_cache.get(payload)
            if known is None:
                if len(static_cache) >= _STATIC_CACHE:
                    static_cache.clear()
                try:
                    msg: Any = sentence.decode()
                except AISBaseException:
                    bad["unknown_type"] += 1
                    continue
                except (ValueError, TypeError, KeyError):
                    bad["malformed"] += 1
                    continue
                if typ == 24 and msg.partno == 1 and len(sentence.payload) * 6 < 168:
                    bad["truncated"] += 1
                    continue
                known = static_cache[payload] = (msg.mmsi, _static_values(msg))
            cols.static_values(t, *known)
            report.statics += 1
            continue
        try:
            msg = sentence.decode()
        except AISBaseException:
            bad["unknown_type"] += 1
            continue
        except (ValueError, TypeError, KeyError):
            bad["malformed"] += 1
            continue
        if typ in _POSITION_TYPES:
            cols.position(t, msg)
            report.positions += 1
            if report.positions % _CHUNK == 0:
                cols.flush()
        if typ == 19:
            cols.static_values(t, msg.mmsi, _static_values(msg))
    bad["missing_fragment"] += len(pending)
    if not bad["missing_fragment"]:
        del bad["missing_fragment"]
    report.lines += n
    return cols.positions(), pd.DataFrame(cols.static), report


def join_statics(positions: pd.DataFrame, statics: pd.DataFrame) -> pd.DataFrame:
    """Each position with the static fields of its MMSI as of its time (see the module)."""
    out = positions.sort_values(["t", "mmsi"], kind="stable").reset_index(drop=True)
    for key in STATIC_FIELDS:
        sent = statics.loc[statics[key].notna(), ["mmsi", "t", key]]
        if sent.empty or out.empty:
            out[key] = pd.Series([None] * len(out), dtype=object if key in _TEXT else float)
            continue
        sent = sent.sort_values(["t"], kind="stable")
        before = pd.merge_asof(out[["t", "mmsi"]], sent, on="t", by="mmsi",
                               direction="backward")[key]
        first = sent.drop_duplicates("mmsi").set_index("mmsi")[key]
        out[key] = before.where(before.notna(), out["mmsi"].map(first)).to_numpy()
    return out


def to_table(frame: pd.DataFrame) -> pa.Table:
    """Canonical Arrow columns (the names ingest recognises) from joined positions."""
    micros = np.round(frame["t"].to_numpy(dtype=float) * 1e6).astype("int64")
    arrays = {
        "mmsi": pa.array(frame["mmsi"].to_numpy(dtype="int64")),
        "timestamp": pa.array(micros, pa.timestamp("us", tz="UTC")),
    }
    for key in ("lat", "lon", "sog", "cog", "heading"):
        arrays[key] = pa.array(frame[key].to_numpy(dtype=float), pa.float64(),
                               from_pandas=True)
    for key in ("name", "callsign", "imo", "ship_type", "nav_status", "destination"):
        arrays[key] = pa.array(frame[key].astype(object), pa.string(), from_pandas=True)
    for key in _NUMBER:
        arrays[key] = pa.array(frame[key].to_numpy(dtype=float), pa.float64(),
                               from_pandas=True)
    arrays["msg_type"] = pa.array(frame["msg_type"].to_numpy(dtype="int8"))
    return pa.table(arrays)


def read_nmea(path: str | Path) -> tuple[pa.Table, DecodeReport]:
    """Decode one NMEA log (plain or gzipped) into a canonical Arrow table and its report."""
    import time

    began, cpu = time.perf_counter(), time.thread_time()
    positions, statics, report = decode_lines(open_lines(Path(path)))
    table = to_table(join_statics(positions, statics))
    report.seconds = time.perf_counter() - began
    report.cpu_seconds = time.thread_time() - cpu
    return table, report
