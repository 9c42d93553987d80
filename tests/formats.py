"""Write canonical pings in the layouts users have: MarineCadastre CSV, Danish DMA CSV and a
raw NMEA log (encoded with pyais), so a test can scan the same pings in every format."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

#: our vessel words -> AIS ship type code (ITU-R M.1371 table 53)
SHIP_TYPE_CODE = {"fishing": 30, "tug": 52, "pilot": 50, "service": 53, "passenger": 60,
                  "cargo": 70, "tanker": 80, "pleasure": 37, "other": 90}
NAV_STATUS_CODE = {"under way using engine": 0, "at anchor": 1, "moored": 5,
                   "engaged in fishing": 7, "under way sailing": 8}


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def _code(series: pd.Series, table: dict[str, int], missing: int, other: int) -> pd.Series:
    """AIS codes for our words (or for text such as 'Cargo, all ships of this type', by the
    same keywords ingest classes text by); numbers pass as they are."""

    def one(value) -> int:
        if _missing(value):
            return missing
        text = str(value).strip().lower()
        if text.isdigit():
            return int(text)
        if text in table:
            return table[text]
        if table is SHIP_TYPE_CODE:
            if "not available" in text:
                return missing
            return next((code for word, code in table.items() if word in text), other)
        return other

    return series.astype(object).map(one)


def _imo_digits(series: pd.Series) -> list[str | None]:
    digits = [None if _missing(v) else str(v).removeprefix("IMO").strip() for v in series]
    return [d if d and d.isdigit() and 0 < int(d) < 2**30 else None for d in digits]


def write_marinecadastre_csv(pings: pd.DataFrame, path: Path) -> Path:
    """MarineCadastre's daily CSV: ISO naive UTC BaseDateTime, codes for type and status,
    Heading 511 when unknown, IMO as 'IMO1234567'; .gz written gzipped."""
    imo = _imo_digits(pings["imo"])
    out = pd.DataFrame({
        "MMSI": pings["mmsi"].astype("int64"),
        "BaseDateTime": pd.to_datetime(pings["timestamp"], utc=True)
        .dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "LAT": pings["lat"].round(5), "LON": pings["lon"].round(5),
        "SOG": pings["sog"].round(1), "COG": pings["cog"].round(1),
        "Heading": pings["heading"].fillna(511).round().astype("int64"),
        "VesselName": pings["name"], "IMO": [None if v is None else f"IMO{v}" for v in imo],
        "CallSign": pings["callsign"],
        "VesselType": _code(pings["ship_type"], SHIP_TYPE_CODE, 0, 90),
        "Status": _code(pings["nav_status"], NAV_STATUS_CODE, 15, 15),
        "Length": 120.0, "Width": 20.0, "Draft": 7.5, "Cargo": 0, "TransceiverClass": "A",
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, compression="gzip" if path.suffix == ".gz" else None)
    return path


def write_dma_csv(pings: pd.DataFrame, path: Path) -> Path:
    """The Danish Maritime Authority's daily CSV: '# Timestamp' as DD/MM/YYYY HH:MM:SS, text
    status and ship type, 'Unknown' for a missing IMO."""
    imo = _imo_digits(pings["imo"])
    out = pd.DataFrame({
        "# Timestamp": pd.to_datetime(pings["timestamp"], utc=True)
        .dt.strftime("%d/%m/%Y %H:%M:%S"),
        "Type of mobile": "Class A",
        "MMSI": pings["mmsi"].astype("int64"),
        "Latitude": pings["lat"].round(6), "Longitude": pings["lon"].round(6),
        "Navigational status": pings["nav_status"].astype(object).map(
            lambda s: "Unknown value" if _missing(s) else str(s).capitalize()),
        "ROT": "", "SOG": pings["sog"].round(1), "COG": pings["cog"].round(1),
        "Heading": pings["heading"].round(),
        "IMO": ["Unknown" if v is None else v for v in imo],
        "Callsign": pings["callsign"], "Name": pings["name"],
        "Ship type": pings["ship_type"].astype(object).map(
            lambda s: "Undefined" if _missing(s) else str(s).capitalize()),
        "Cargo type": "", "Width": 20, "Length": 120,
        "Type of position fixing device": "GPS", "Draught": 7.5, "Destination": "NAMPO",
        "ETA": "", "Data source type": "AIS", "A": "", "B": "", "C": "", "D": "",
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def _checksum(body: str) -> str:
    value = 0
    for ch in body.encode("ascii"):
        value ^= ch
    return f"{value:02X}"


def tag_block(seconds: int, station: str = "rTEST") -> str:
    body = f"c:{seconds},s:{station}"
    return f"\\{body}*{_checksum(body)}\\"


def nmea_lines(pings: pd.DataFrame, static_every_s: int = 360) -> list[str]:
    """NMEA 4.0 lines (tag block with the receive time) for the pings, in time order: a type 1
    position per ping, and a two-sentence type 5 before a vessel's first ping, whenever its
    identity changes and every ``static_every_s`` (as class A transponders do)."""
    from pyais import encode_dict

    frame = pings.sort_values(["timestamp", "mmsi"], kind="stable").reset_index(drop=True)
    seconds = (pd.to_datetime(frame["timestamp"], utc=True).astype("int64") // 10**9).to_numpy()
    imo = _imo_digits(frame["imo"])
    types = _code(frame["ship_type"], SHIP_TYPE_CODE, 0, 90)
    status = _code(frame["nav_status"], NAV_STATUS_CODE, 15, 15)
    last: dict[int, tuple] = {}
    lines: list[str] = []
    seq = 0
    for i, row in enumerate(frame.itertuples(index=False)):
        t = int(seconds[i])
        mmsi = int(row.mmsi)
        who = (_text(row.name), _text(row.callsign), imo[i], int(types[i]))
        prev = last.get(mmsi)
        if prev is None or prev[0] != who or t - prev[1] >= static_every_s:
            seq = seq % 9 + 1
            parts = encode_dict({
                "msg_type": 5, "mmsi": mmsi, "shipname": _text(row.name),
                "callsign": _text(row.callsign), "imo": int(imo[i] or 0),
                "ship_type": int(types[i]), "to_bow": 100, "to_stern": 20, "to_port": 10,
                "to_starboard": 10, "draught": 7.5, "destination": "NAMPO"},
                talker_id="AI", radio_channel="A", seq_id=seq, sentence_type="VDM")
            lines.append(tag_block(t) + parts[0])
            lines.extend(parts[1:])  # later fragments carry no time of their own
            last[mmsi] = (who, t)
        heading = 511 if _missing(row.heading) else row.heading
        cog = 360 if _missing(row.cog) else row.cog
        sog = 102.3 if _missing(row.sog) else row.sog
        (sentence,) = encode_dict({
            "msg_type": 1, "mmsi": mmsi, "status": int(status[i]), "lat": float(row.lat),
            "lon": float(row.lon), "speed": float(sog), "course": float(cog),
            "heading": int(round(heading))}, talker_id="AI", radio_channel="B",
            sentence_type="VDM")
        lines.append(tag_block(t) + sentence)
    return lines


def _text(value) -> str:
    return "" if _missing(value) else str(value).upper()


def write_nmea(pings: pd.DataFrame, path: Path, extra: list[str] = ()) -> Path:
    """An NMEA log of the pings (gzipped when ``path`` ends in .gz), ``extra`` lines last."""
    text = "\n".join([*nmea_lines(pings), *extra]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="ascii") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="ascii")
    return path

