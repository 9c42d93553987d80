"""The inputs users have: MarineCadastre and DMA CSV (plain, gzipped, zipped), raw NMEA logs,
and `ais convert`; the same pings in any format give the same flagged events."""

from __future__ import annotations

import functools
import gzip
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner
from pyais import encode_dict

from ais.cli import main
from ais.config import Config
from ais.errors import InputError
from ais.inputs.ingest import ingest
from ais.inputs.readers.nmea import decode_lines
from ais.synth.world import vessel

from .conftest import FIXTURES, MARINECADASTRE, need, write_parquet
from .formats import (
    nmea_lines,
    tag_block,
    write_dma_csv,
    write_marinecadastre_csv,
    write_nmea,
)

QUICK = FIXTURES / "quickstart.parquet"
EVENT_KEYS = ["event_id", "event_type", "mmsi", "other_mmsi", "start_time", "end_time"]


@functools.cache
def _flagged(path: str) -> pd.DataFrame:
    from ais import pipeline

    cfg = Config()
    detected = pipeline.detect([path], cfg)
    models, _ = pipeline.load_models(None, detected, cfg)
    return pipeline.score_events(detected, models, cfg)


def _events(path) -> pd.DataFrame:
    events = _flagged(str(path))
    return events[EVENT_KEYS + ["lat", "lon", "anomaly_score"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def quick_formats(tmp_path_factory):
    """The quickstart scenario's pings written in each layout users have."""
    pings = pd.read_parquet(QUICK)
    out = tmp_path_factory.mktemp("formats")
    return {
        "marinecadastre_csv": write_marinecadastre_csv(pings, out / "AIS_2026_01_05.csv"),
        "marinecadastre_csv_gz": write_marinecadastre_csv(pings, out / "AIS_2026_01_05.csv.gz"),
        "dma_csv": write_dma_csv(pings, out / "aisdk-2026-01-05.csv"),
        "nmea_gz": write_nmea(pings, out / "receiver-2026-01-05.nmea.gz"),
    }


@pytest.mark.parametrize("layout", ["marinecadastre_csv", "marinecadastre_csv_gz", "dma_csv",
                                    "nmea_gz"])
def test_the_same_pings_in_any_layout_give_the_same_flagged_events(quick_formats, layout):
    """Positions differ only by the format's resolution (1e-5 deg in MarineCadastre CSV,
    1/10000 min in NMEA, speed 0.1 kn): the events, their ids and times are the same."""
    expected = _events(QUICK)
    got = _events(quick_formats[layout])
    assert {"loitering", "dark_period", "meetup", "identity_change"} <= set(
        expected["event_type"])
    pd.testing.assert_frame_equal(got[EVENT_KEYS], expected[EVENT_KEYS])
    assert (got["lat"] - expected["lat"]).abs().max() < 1e-4
    assert (got["lon"] - expected["lon"]).abs().max() < 1e-4
    assert (got["anomaly_score"] - expected["anomaly_score"]).abs().max() < 0.02


def test_a_directory_mixing_formats_reads_every_file(tmp_path):
    pings = pd.read_parquet(QUICK).sort_values("timestamp", kind="stable")
    thirds = [pings.iloc[i::3] for i in range(3)]
    write_parquet(tmp_path / "in" / "a.parquet", thirds[0])
    write_marinecadastre_csv(thirds[1], tmp_path / "in" / "b.csv.gz")
    write_nmea(thirds[2], tmp_path / "in" / "sub" / "c.txt")
    (tmp_path / "in" / "README.md").write_text("not AIS")
    mixed = ingest([tmp_path / "in"])
    assert len(mixed.report.files) == 3
    whole = ingest([QUICK]).pings
    assert len(mixed.pings) == len(whole)
    assert (mixed.pings["mmsi"].to_numpy() == whole["mmsi"].to_numpy()).all()
    assert (mixed.pings["timestamp"].to_numpy() == whole["timestamp"].to_numpy()).all()


# ---------------------------------------------------------------- CSV

def test_dma_day_first_timestamps_and_text_status_are_read(tmp_path):
    path = tmp_path / "aisdk.csv"
    path.write_text(
        "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,SOG,COG,"
        "Heading,IMO,Callsign,Name,Ship type\n"
        "13/01/2024 23:59:58,Class A,219000873,56.99,10.30,At anchor,0.1,30.7,104,Unknown,"
        "OXKC2,FYNSHAV,Passenger\n"
        "02/01/2024 00:00:01,Class A,219000873,56.99,10.30,Moored,0.0,,511,Unknown,OXKC2,"
        "FYNSHAV,Passenger\n")
    pings = ingest([path]).pings
    assert pings["timestamp"].tolist() == [pd.Timestamp("2024-01-02 00:00:01", tz="UTC"),
                                           pd.Timestamp("2024-01-13 23:59:58", tz="UTC")]
    assert pings["nav_status"].tolist() == ["Moored", "At anchor"]
    assert pings["imo"].isna().all() and pings["heading"].isna().tolist() == [True, False]


def test_marinecadastre_status_codes_become_words(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,Status\n"
                    "367379190,2022-01-03T00:00:00,30.37,-88.56,0.0,336.2,511,EAGLE,1\n"
                    "367379190,2022-01-03T00:01:00,30.37,-88.56,0.0,336.2,511,EAGLE,5\n"
                    "367379190,2022-01-03T00:02:00,30.37,-88.56,0.0,336.2,511,EAGLE,15\n")
    status = ingest([path]).pings["nav_status"]
    assert status.iloc[:2].tolist() == ["at anchor", "moored"] and status.isna().iloc[2]


def test_bad_csv_rows_are_counted_not_fatal(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text("MMSI,BaseDateTime,LAT,LON\n"
                    "367379190,2022-01-03T00:00:00,30.37,-88.56\n"
                    "36737919x,2022-01-03T00:01:00,30.37,-88.56\n"
                    "367379190,yesterday,30.37,-88.56\n"
                    "367379190,2022-01-03T00:03:00,north,-88.56\n"
                    "367379190,2022-01-03T00:04:00\n"
                    "367379190,2022-01-03T00:05:00,30.37,-88.56,extra,fields\n")
    result = ingest([path])
    assert result.report.rows_in == 6 and result.report.rows_out == 2
    dropped = {k: v for k, v in result.report.dropped.items() if v}
    assert dropped == {"invalid_mmsi": 1, "missing_timestamp": 1, "position_not_available": 2}


@pytest.mark.parametrize("name, content, message", [
    pytest.param("nopos.csv", b"MMSI,BaseDateTime,SOG\n367379190,2022-01-03T00:00:00,1\n",
                 r"no usable position columns \(lat, lon\)\. Columns found: MMSI, "
                 r"BaseDateTime, SOG\. Expected lat: one of lat, latitude", id="no-position"),
    pytest.param("empty.csv", b"", "file is empty", id="empty"),
    pytest.param("binary.csv", bytes(range(256)) * 40, "(not a readable CSV file|no usable)",
                 id="binary"),
    pytest.param("day.zip", b"PK\x03\x04 truncated", "not a readable zip archive",
                 id="broken-zip"),
])
def test_a_bad_csv_is_an_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        ingest([path])
    assert str(path) in str(info.value)


def test_a_zip_without_csv_names_its_members(tmp_path):
    path = tmp_path / "day.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match=r"holds no \.csv file \(members: readme\.txt\)"):
        ingest([path])


def test_csv_text_that_is_not_utf8_is_repaired_and_said(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_bytes(b"MMSI,BaseDateTime,LAT,LON,VesselName\n"
                     b"367379190,2022-01-03T00:00:00,30.37,-88.56,EAG\xffLE\n")
    result = ingest([path])
    assert result.pings["name"].tolist() == ["EAG\ufffdLE"]
    assert result.report.repaired_text == [str(path)]


def test_real_marinecadastre_day_reads_the_same_as_csv_csv_gz_and_zip(tmp_path):
    """The real MarineCadastre sample (Parquet with the daily CSV's columns) written back as
    the CSV, csv.gz and zip that MarineCadastre publishes: the same pings and bad rows."""
    import duckdb

    source = need(MARINECADASTRE)
    csv = tmp_path / "AIS_2022_01_03.csv"
    duckdb.execute(f"COPY (FROM '{source}') TO '{csv}' (HEADER)")
    duckdb.execute(f"COPY (FROM '{source}') TO '{csv}.gz' (HEADER, COMPRESSION gzip)")
    with zipfile.ZipFile(tmp_path / "AIS_2022_01_03.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(csv, "AIS_2022_01_03.csv")
    expected = ingest([source])
    assert expected.report.rows_dropped > 0
    for name in ("AIS_2022_01_03.csv", "AIS_2022_01_03.csv.gz", "AIS_2022_01_03.zip"):
        got = ingest([tmp_path / name])
        assert got.report.dropped == expected.report.dropped, name
        assert got.pings.equals(expected.pings), name


# ---------------------------------------------------------------- NMEA

def _tanker(mmsi=412345671, name="CHON MA SAN"):
    return (vessel(mmsi=mmsi, name=name, callsign="HMYZ", imo="9113111", ship_type="tanker",
                   start="2026-01-05T00:00Z", at=(38.40, 124.90), report_every_s=60)
            .sail(to=(38.45, 124.95), hours=1))


def test_bad_sentences_are_counted_by_reason_and_never_fatal(tmp_path):
    pings = _tanker().pings()
    good = nmea_lines(pings)
    position = next(line for line in good if ",1,1,," in line)
    tag, sentence = position.rsplit("\\", 1)
    flipped = sentence[:20] + ("A" if sentence[20] != "A" else "B") + sentence[21:]
    base = encode_dict({"msg_type": 4, "mmsi": 2734500}, talker_id="AB", radio_channel="A",
                       sentence_type="VDM")[0]
    unknown = "!AIVDM,1,1,,A,w" + sentence.split(",")[5][1:] + ",0*"
    unknown += f"{functools.reduce(lambda a, c: a ^ ord(c), unknown[1:-1], 0):02X}"
    second_alone = next(line for line in good if line.startswith("!AIVDM,2,2"))
    bad = [
        tag + "\\" + flipped,                 # checksum
        tag + "\\" + sentence[:30],           # truncated (no checksum field)
        tag + "\\!AIVDM,1,1,,B,,0*25",       # truncated (empty payload, as receivers log)
        tag + "\\" + unknown,                 # message type 63
        second_alone,                         # fragment 2 of 2 without its first part
        sentence,                             # no receive time
        "garbage from the receiver",          # not NMEA
        tag_block(1767571200) + base,         # type 4 base station: counted, not bad
        "$GPRMC,000000,A,3830.00,N,12450.00,E,0.0,0.0,050126,,*00",
    ]
    path = tmp_path / "log.nmea"
    cut = next(i for i in range(10, len(good)) if ",1,1," in good[i])  # between messages
    path.write_text("\n".join(good[:cut] + bad + good[cut:]) + "\n")
    result = ingest([path])
    assert len(result.pings) == len(pings)
    (line,) = result.report.decoded
    statics = sum("!AIVDM,2,1," in x for x in good)
    assert line.startswith(f"{path}: decoded {len(pings) + statics} AIS messages "
                           f"({len(pings)} positions, {statics} static)")
    for reason in ("checksum", "2 truncated", "unknown_type", "missing_fragment", "no_time",
                   "not_nmea"):
        assert (reason if reason[0] == "2" else f"1 {reason}") in line
    _, _, report = decode_lines(path.read_bytes().splitlines())
    assert dict(report.bad) == {"checksum": 1, "truncated": 2, "unknown_type": 1,
                                "missing_fragment": 1, "no_time": 1, "not_nmea": 1}
    assert dict(report.other) == {"unused_type": 1, "not_ais": 1}
    assert report.positions == len(pings)
    assert any(line.startswith(f"  {path}: decoded ") for line in result.report.lines())


def test_static_data_joins_as_of_onto_the_same_mmsi(tmp_path):
    """A rename reaches the positions sent after it; positions before a vessel's first static
    message take that first one; another MMSI's static data never leaks."""
    ship = _tanker()
    ship.rename(name="NEW WAVE 5").sail(to=(38.50, 125.00), hours=1)
    other = _tanker(mmsi=412345672, name="OTHER SHIP")
    pings = pd.concat([ship.pings(), other.pings()], ignore_index=True)
    lines = nmea_lines(pings, static_every_s=10**9)
    first_static = next(i for i, line in enumerate(lines) if "!AIVDM,2,1" in line)
    lines = lines[first_static + 2:first_static + 8] + lines  # positions before any static
    path = tmp_path / "log.nmea"
    path.write_text("\n".join(lines) + "\n")
    got = ingest([path]).pings
    mine = got[got["mmsi"] == 412345671]
    renamed = pd.Timestamp("2026-01-05T01:00Z")
    assert set(mine.loc[mine["timestamp"] < renamed, "name"]) == {"CHON MA SAN"}
    assert set(mine.loc[mine["timestamp"] >= renamed, "name"]) == {"NEW WAVE 5"}
    assert set(got.loc[got["mmsi"] == 412345672, "name"]) == {"OTHER SHIP"}
    assert set(got["callsign"]) == {"HMYZ"} and set(got["imo"].astype(int)) == {9113111}
    assert set(got["vessel_class"]) == {"tanker"} and set(got["draught"]) == {7.5}
    assert set(got["length"]) == {120.0} and set(got["width"]) == {20.0}


def _sentence(fields: dict, channel="A") -> list[str]:
    return encode_dict(fields, talker_id="AI", radio_channel=channel, sentence_type="VDM")


def test_class_b_positions_and_type_24_static_data(tmp_path):
    mmsi, t0 = 440123450, 1767571200
    lines = [tag_block(t0) + _sentence({"msg_type": 24, "mmsi": mmsi, "partno": 0,
                                        "shipname": "HAE SONG"})[0],
             tag_block(t0 + 1) + _sentence({"msg_type": 24, "mmsi": mmsi, "partno": 1,
                                            "ship_type": 30, "callsign": "HMAB",
                                            "to_bow": 20, "to_stern": 5, "to_port": 3,
                                            "to_starboard": 3})[0]]
    for i in range(5):
        lines.append(tag_block(t0 + 30 * (i + 1)) + _sentence({
            "msg_type": 18, "mmsi": mmsi, "lat": 38.5 + i * 1e-3, "lon": 124.9, "speed": 2.5,
            "course": 90.0, "heading": 511})[0])
    lines += [tag_block(t0 + 200) + s for s in _sentence({
        "msg_type": 19, "mmsi": mmsi + 1, "lat": 38.6, "lon": 124.8, "speed": 7.0,
        "course": 45.0, "heading": 44, "shipname": "PUNG YANG", "ship_type": 70,
        "to_bow": 80, "to_stern": 20, "to_port": 8, "to_starboard": 8})][:1]
    path = tmp_path / "classb.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    got = ingest([path]).pings
    b = got[got["mmsi"] == mmsi]
    assert len(b) == 5 and b["heading"].isna().all() and (b["sog"] == 2.5).all()
    assert set(b["name"]) == {"HAE SONG"} and set(b["callsign"]) == {"HMAB"}
    assert set(b["vessel_class"]) == {"fishing"} and set(b["length"]) == {25.0}
    extended = got[got["mmsi"] == mmsi + 1].iloc[0]
    assert extended["name"] == "PUNG YANG" and extended["vessel_class"] == "cargo"
    assert extended["lat"] == pytest.approx(38.6, abs=1e-5)


@pytest.mark.parametrize("stamp", ["2026-01-05T00:01:00Z", "2026-01-05 00:01:00",
                                   "1767571260", "1767571260000"])
def test_a_leading_timestamp_column_gives_the_time(tmp_path, stamp):
    (sentence,) = _sentence({"msg_type": 1, "mmsi": 412345671, "lat": 38.5, "lon": 124.9,
                             "speed": 1.0, "course": 10.0, "heading": 9})
    path = tmp_path / "log.txt"
    path.write_text(f"{stamp},{sentence}\n{stamp} {sentence}\n")
    got = ingest([path])
    assert got.pings["timestamp"].tolist() == [pd.Timestamp("2026-01-05T00:01:00Z")]
    assert got.report.dropped["exact_duplicate"] == 1


def test_a_log_without_any_position_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "log.nmea"
    path.write_text("!AIVDM,1,1,,A,169?UAwP0:8sgk0F1rH0I0B1P000,0*7E\n")  # no receive time
    with pytest.raises(InputError, match=r"no AIS position could be decoded.*1 no_time") as info:
        ingest([path])
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- ais convert

def test_convert_writes_parquet_that_scans_like_the_log(tmp_path, quick_formats):
    out = tmp_path / "converted.parquet"
    result = CliRunner().invoke(main, ["convert", str(quick_formats["nmea_gz"]),
                                       str(quick_formats["dma_csv"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    n = len(pd.read_parquet(QUICK))
    assert f"wrote {2 * n:,} rows from 2 file(s)" in result.output
    assert f"AIS messages ({n:,} positions" in result.output
    one = tmp_path / "one.parquet"
    assert CliRunner().invoke(main, ["convert", str(quick_formats["nmea_gz"]), "-o",
                                     str(one)]).exit_code == 0
    pd.testing.assert_frame_equal(_events(one)[EVENT_KEYS], _events(QUICK)[EVENT_KEYS])
    both = ingest([out])
    assert both.report.rows_out == len(ingest([QUICK]).pings)


def test_a_failed_convert_leaves_the_previous_file(tmp_path):
    out = tmp_path / "converted.parquet"
    out.write_bytes(b"previous")
    bad = tmp_path / "bad.csv"
    bad.write_text("MMSI,SOG\n1,2\n")
    result = CliRunner().invoke(main, ["convert", str(bad), "-o", str(out)])
    assert result.exit_code == 1 and "no usable position columns" in result.output
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "converted.parquet"]


def test_row_counts_of_csv_and_nmea_inputs_decide_the_by_day_split(quick_formats):
    """The memory check before a scan (`too_big_for_one_scan`) counts CSV and NMEA rows too,
    from the Parquet file each is parsed into once (which the scan then reads)."""
    from ais.inputs.ingest import count_rows
    from ais.nightly.byday import too_big_for_one_scan

    inputs = [quick_formats["dma_csv"], quick_formats["nmea_gz"]]
    assert count_rows(inputs) == 2 * len(pd.read_parquet(QUICK))
    assert too_big_for_one_scan(inputs, "1MB") is not None
    assert too_big_for_one_scan(inputs, "8GB") is None


def test_scan_of_an_nmea_log_says_what_decoding_left_out(tmp_path):
    pings = _tanker().pings()
    path = tmp_path / "log.nmea"
    lines = nmea_lines(pings)
    path.write_text("\n".join([*lines, "!AIVDM,1,1,,B,,0*25"]) + "\n")
    statics = sum("!AIVDM,2,1," in x for x in lines)
    out = tmp_path / "flagged.csv"
    result = CliRunner().invoke(main, ["scan", str(path), "-o", str(out), "--no-state"])
    assert result.exit_code == 0, result.output
    assert (f"{path}: decoded {len(pings) + statics} AIS messages ({len(pings)} positions, "
            f"{statics} static)") in result.output
    assert "left out 1 truncated" in result.output  # the empty sentence
    assert out.exists()
