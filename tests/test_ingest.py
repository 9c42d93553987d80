"""Ingest: column mapping, type coercion, sentinels, drop reasons, bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.errors import InputError
from ais.inputs.ingest import DROP_REASONS, ingest, sort_order

from .conftest import GFW, MARINECADASTRE, need, write_parquet

GOOD = 412331088


def base_rows(n: int = 3) -> dict:
    return {
        "mmsi": [GOOD] * n,
        "timestamp": pd.date_range("2026-01-05", periods=n, freq="10min", tz="UTC"),
        "lat": np.linspace(38.5, 38.6, n),
        "lon": np.linspace(124.9, 125.0, n),
    }


@pytest.mark.parametrize(
    "columns",
    [
        pytest.param({"MMSI": "mmsi", "BaseDateTime": "timestamp", "LAT": "lat", "LON": "lon"},
                     id="marinecadastre"),
        pytest.param({"MMSI": "mmsi", "# Timestamp": "timestamp", "Latitude": "lat",
                      "Longitude": "lon"}, id="danish-dma"),
        pytest.param({"ssvid": "mmsi", "ts": "timestamp", "lat": "lat", "lon": "lon"},
                     id="gfw-style"),
        pytest.param({"Mmsi": "mmsi", "TIMESTAMP": "timestamp", "Lat": "lat", "Lon": "lon"},
                     id="canonical-any-case"),
    ],
)
def test_known_column_spellings_are_mapped(tmp_path, columns):
    rows = base_rows()
    frame = pd.DataFrame({src: rows[dst] for src, dst in columns.items()})
    path = write_parquet(tmp_path / "in.parquet", frame)
    out = ingest([path]).pings
    assert len(out) == 3
    assert out["mmsi"].tolist() == [GOOD] * 3


def test_string_timestamps_without_zone_are_utc_and_with_zone_are_converted(tmp_path):
    frame = pd.DataFrame({
        "mmsi": [GOOD, GOOD, GOOD],
        "timestamp": ["2026-01-05T00:00:00", "2026-01-05 01:00:00", "2026-01-05T11:00:00+09:00"],
        "lat": [38.5, 38.51, 38.52], "lon": [125.0, 125.0, 125.0],
    })
    out = ingest([write_parquet(tmp_path / "s.parquet", frame)]).pings
    hours = out["timestamp"].dt.hour.tolist()
    assert hours == [0, 1, 2]
    assert str(out["timestamp"].dt.tz) == "UTC"


def test_sentinels_become_nulls_or_drop_the_row(tmp_path):
    rows = base_rows(4)
    rows.update(sog=[102.3, 5.0, 1.0, 2.0], cog=[360.0, 10.0, 20.0, 30.0],
                heading=[511.0, 10.0, 20.0, 30.0], imo=["IMO0000000", "IMO9074729", "0", None])
    rows["lat"] = [38.5, 91.0, 38.52, 38.53]
    rows["lon"] = [125.0, 125.0, 181.0, 125.0]
    ingested = ingest([write_parquet(tmp_path / "s.parquet", rows)])
    out = ingested.pings
    assert ingested.report.dropped["position_not_available"] == 2
    first = out.iloc[0]
    assert pd.isna(first["sog"]) and pd.isna(first["cog"]) and pd.isna(first["heading"])
    assert out["imo"].isna().all()  # IMO0000000 is 'not available'


def test_imo_strings_and_ints_parse_to_numbers(tmp_path):
    rows = base_rows(2)
    rows["imo"] = ["IMO9074729", "9074729"]
    out = ingest([write_parquet(tmp_path / "s.parquet", rows)]).pings
    assert out["imo"].tolist() == [9074729, 9074729]


@pytest.mark.parametrize(
    "mmsi, reason",
    [
        pytest.param(1234, "invalid_mmsi", id="four-digits"),
        pytest.param(0, "invalid_mmsi", id="zero"),
        pytest.param(123456789, "test_or_default_mmsi", id="sequence"),
        pytest.param(111111111, "test_or_default_mmsi", id="repeated-digit"),
        pytest.param(240000000, "test_or_default_mmsi", id="mid-then-zeros"),
        pytest.param(666000001, "test_or_default_mmsi", id="mid-zeros-one"),
        pytest.param(992351234, "not_a_ship_mmsi", id="aid-to-navigation"),
        pytest.param(970123456, "not_a_ship_mmsi", id="ais-sart"),
        pytest.param(972123456, "not_a_ship_mmsi", id="man-overboard"),
        pytest.param(974123456, "not_a_ship_mmsi", id="epirb"),
        pytest.param(111232506, "test_or_default_mmsi", id="sar-aircraft-is-not-a-ship"),
    ],
)
def test_invalid_mmsis_are_dropped_with_their_reason(tmp_path, mmsi, reason):
    rows = base_rows(2)
    rows["mmsi"] = [mmsi, GOOD]
    ingested = ingest([write_parquet(tmp_path / "m.parquet", rows)])
    assert ingested.pings["mmsi"].tolist() == [GOOD]
    dropped = {k: v for k, v in ingested.report.dropped.items() if v}
    assert set(dropped) <= {reason, "not_a_ship_mmsi", "test_or_default_mmsi"}
    assert sum(dropped.values()) == 1


def test_mmsi_given_as_string_with_spaces_is_read(tmp_path):
    rows = base_rows(2)
    rows["mmsi"] = [" 412331088 ", "412 331 088"]
    out = ingest([write_parquet(tmp_path / "m.parquet", rows)]).pings
    assert out["mmsi"].tolist() == [GOOD, GOOD]


def test_duplicates_are_counted_and_one_row_kept_whatever_the_order(tmp_path):
    rows = pd.DataFrame(base_rows(3))
    doubled = pd.concat([rows, rows.iloc[[0]]])  # exact duplicate
    clash = rows.iloc[[1]].assign(lat=39.0)  # same mmsi+time, other position
    frame = pd.concat([doubled, clash]).reset_index(drop=True)
    a = ingest([write_parquet(tmp_path / "a.parquet", frame)])
    b = ingest([write_parquet(tmp_path / "b.parquet", frame.iloc[::-1])])
    assert a.report.dropped["exact_duplicate"] == 1
    assert a.report.dropped["repeated_mmsi_timestamp"] == 1
    cols = ["mmsi", "timestamp", "lat", "lon"]
    pd.testing.assert_frame_equal(a.pings[cols], b.pings[cols])


def test_report_adds_up(tmp_path):
    rows = base_rows(5)
    rows["lat"] = [38.5, 91.0, 95.0, np.nan, 38.6]
    rep = ingest([write_parquet(tmp_path / "r.parquet", rows)]).report
    assert rep.rows_in == 5 and rep.rows_out == 2
    assert rep.rows_in == rep.rows_out + rep.rows_dropped
    assert set(rep.dropped) == set(DROP_REASONS)


def test_output_is_sorted_by_vessel_then_time(tmp_path):
    frame = pd.DataFrame(base_rows(4)).iloc[[2, 0, 3, 1]]
    out = ingest([write_parquet(tmp_path / "u.parquet", frame)]).pings
    assert out["timestamp"].is_monotonic_increasing


def test_directories_globs_and_hive_partitions_are_read(tmp_path):
    rows = pd.DataFrame(base_rows(4))
    write_parquet(tmp_path / "hive" / "day=2026-01-05" / "part-0.parquet", rows.iloc[:2])
    write_parquet(tmp_path / "hive" / "day=2026-01-06" / "part-0.parquet", rows.iloc[2:])
    assert len(ingest([tmp_path / "hive"]).pings) == 4
    assert len(ingest([str(tmp_path / "hive" / "*" / "*.parquet")]).pings) == 4


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param(b"", "file is empty", id="empty"),
        pytest.param(b"mmsi,timestamp,lat,lon\n1,2,3,4\n", "not a readable Parquet file",
                     id="csv-renamed"),
        pytest.param(b"PAR1\x00\x00garbage", "not a readable Parquet file", id="truncated"),
    ],
)
def test_bad_files_raise_an_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        ingest([path])
    assert str(path) in str(info.value)


def test_missing_position_columns_names_the_columns_found(tmp_path):
    path = write_parquet(tmp_path / "nopos.parquet", {"mmsi": [GOOD], "ts": ["2026-01-05"]})
    with pytest.raises(InputError, match=r"no usable position columns.*found: mmsi, ts"):
        ingest([path])


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        ingest([tmp_path / "nope.parquet"])


def test_schema_with_zero_rows_gives_zero_pings(tmp_path):
    frame = pd.DataFrame(base_rows(1)).iloc[:0]
    ingested = ingest([write_parquet(tmp_path / "z.parquet", frame)])
    assert ingested.report.rows_in == 0 and len(ingested.pings) == 0


def test_marinecadastre_sample_reads_through_its_own_column_names():
    ingested = ingest([need(MARINECADASTRE)])
    rep = ingested.report
    assert rep.rows_in == 99_999
    assert rep.column_mapping[str(MARINECADASTRE)]["timestamp"] == "BaseDateTime"
    assert rep.column_mapping[str(MARINECADASTRE)]["name"] == "VesselName"
    out = ingested.pings
    assert out["mmsi"].nunique() > 9_000
    assert out["heading"].max() <= 359  # 511 became null
    assert out["timestamp"].min() >= pd.Timestamp("2022-01-03", tz="UTC")
    assert out["imo"].dropna().between(1_000_000, 9_999_999).all()


def test_gfw_sample_counts_sentinels_and_duplicates():
    ingested = ingest([need(GFW)])
    rep = ingested.report
    assert rep.rows_in == 81_925
    # 832 rows are at lat 91 / lon 181 (some of them also belong to test MMSIs)
    assert 700 <= rep.dropped["position_not_available"] <= 832
    assert rep.dropped["repeated_mmsi_timestamp"] + rep.dropped["exact_duplicate"] > 50
    assert rep.dropped["test_or_default_mmsi"] > 0
    out = ingested.pings
    assert not out["mmsi"].isin([666000001, 567000000, 200000010]).any()
    assert (out["sog"].dropna() < 102.2).all()
    assert not out.duplicated(["mmsi", "timestamp"]).any()


def test_gfw_padding_is_the_same_normalised_name():
    out = ingest([need(GFW)]).pings
    names = out.loc[out["mmsi"] == 416070900, ["name", "name_norm"]].drop_duplicates()
    padded = names.loc[names["name"] == "PEI YUH NO.6@@@@@@BL", "name_norm"]
    assert padded.tolist() == ["PEI YUH NO.6"]
    assert "PEI YUH NO.6@@@@@@BL" in set(names["name"])  # raw value kept for display


@pytest.mark.parametrize("rows, vessels, span", [
    (0, 1, 1), (1, 1, 1), (2_000, 5, 100),            # few vessels, many equal times
    (50_000, 70_000, 10**6),                          # too many vessels for the radix sort
    (10_000, 10, 2**60),                              # times too far apart for one key
    (30_000, 300, 10**9),
], ids=["empty", "one", "ties", "many-vessels", "wide-times", "typical"])
def test_sort_order_is_a_stable_sort_by_mmsi_then_time(rows, vessels, span):
    rng = np.random.default_rng(rows)
    mmsi = rng.integers(200_000_000, 200_000_000 + vessels, rows)
    t = rng.integers(0, span, rows)
    assert np.array_equal(sort_order(mmsi, t), np.lexsort((t, mmsi)))


def test_a_missing_ship_type_reads_unknown_whole_when_every_class_present_is_shorter(tmp_path):
    """Only cargo (70) and tanker (80) types, and one vessel without a type: its class is
    "unknown", not "unknow" (the fill was once cut to the longest class present, and the
    CSV's vessel_type and the state's carry said "unknow")."""
    rows = base_rows(3)
    rows["mmsi"] = [GOOD, GOOD + 1, GOOD + 2]
    rows["ship_type"] = [70, 80, None]
    path = write_parquet(tmp_path / "short.parquet", pd.DataFrame(rows))
    pings = ingest([path]).pings
    assert pings.set_index("mmsi")["vessel_class"].astype(str).to_dict() == {
        GOOD: "cargo", GOOD + 1: "tanker", GOOD + 2: "unknown"}
