"""Scenario tests for ais.inputs.identity: names, IMO numbers, MID table and flags."""

from __future__ import annotations

from importlib import resources

import duckdb
import numpy as np
import pandas as pd
import pytest

from ais.inputs.identity import (
    DPRK_MID,
    FLAGS_OF_CONVENIENCE,
    flag_of,
    imo_valid,
    load_mid_table,
    name_distance,
    normalise_callsign,
    normalise_name,
    normalise_sql,
    parse_imo,
)

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

TRICKY_NAMES = [
    "PEI YUH NO.6@@@@@@BL",  # 6-bit padding with trailing receiver garbage
    "PEI YUH NO.6",
    "pei yuh no.6",  # lower case
    "  PEI\tYUH   NO.6  ",  # tab, double spaces, surrounding blanks
    "KUM\nUN SAN 3",  # newline inside
    "RYE SONG GANG 1@",
    "@@@@@@@@@@@@@@@@@@@@",  # all padding
    "",
    "   ",
    None,
    "Straße",  # non-ASCII with a multi-character upper-case form
    "морской волк",  # Cyrillic
    "Ñandú @ junk",
    "A\u00a0B",  # no-break space: not ASCII whitespace, kept
    "CHON MA SAN@\n@@X",  # newline after the padding starts
]


def test_padding_is_not_a_different_name() -> None:
    names = pd.Series(["PEI YUH NO.6@@@@@@BL", "PEI YUH NO.6", "pei yuh  no.6 "])
    norm = normalise_name(names)
    assert norm.nunique() == 1
    assert norm.iloc[0] == "PEI YUH NO.6"
    assert name_distance(names.iloc[:1], names.iloc[1:2]).iloc[0] == 0.0


def test_empty_and_all_padding_names_are_missing() -> None:
    norm = normalise_name(pd.Series(["", "   ", "@@@@", None, "\t@@"]))
    assert norm.isna().all()


def test_normalise_keeps_index_and_collapses_whitespace() -> None:
    s = pd.Series([" A \t B  C "], index=[42])
    out = normalise_name(s)
    assert out.index.tolist() == [42]
    assert out.loc[42] == "A B C"


def test_callsign_uses_the_same_rule() -> None:
    out = normalise_callsign(pd.Series(["hmyt4@@@", " HMYT4 "]))
    assert out.tolist() == ["HMYT4", "HMYT4"]


def test_sql_and_pandas_normalisation_agree() -> None:
    frame = pd.DataFrame(
        {"i": range(len(TRICKY_NAMES)), "name": pd.Series(TRICKY_NAMES, dtype=object)}
    )
    expected = normalise_name(frame["name"])
    con = duckdb.connect()
    try:
        con.register("names", frame)
        got = con.execute(f"SELECT {normalise_sql('name')} AS n FROM names ORDER BY i").fetchall()
    finally:
        con.close()
    got_values = [row[0] for row in got]
    exp_values = [None if pd.isna(v) else v for v in expected.tolist()]
    assert got_values == exp_values


def test_sql_normalisation_handles_non_text_columns() -> None:
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT {normalise_sql('x')} FROM (SELECT 12345 AS x)").fetchall()
    finally:
        con.close()
    assert rows == [("12345",)]


def test_name_distance_range_and_symmetry() -> None:
    a = pd.Series(["KUM UN SAN", "ABC", "XYZ", None, "SAME"])
    b = pd.Series(["KUMUNSAN 3", "ABD", "QQQ", "A", "same@@@"])
    d = name_distance(a, b)
    assert d.iloc[0] > 0 and d.iloc[0] < 0.5
    assert d.iloc[1] == pytest.approx(1 / 3)
    assert d.iloc[2] == 1.0
    assert np.isnan(d.iloc[3])
    assert d.iloc[4] == 0.0
    assert (name_distance(b, a).fillna(-1) == d.fillna(-1)).all()


def test_name_distance_repeated_pairs_scored_once_consistently() -> None:
    a = pd.Series(["YU JONG 2"] * 1000 + ["KOTI"] * 1000)
    b = pd.Series(["YU JONG 2 @@"] * 500 + ["JI SONG 6"] * 500 + ["KOTI"] * 500 + ["KOTI 2"] * 500)
    d = name_distance(a, b)
    assert (d.iloc[:500] == 0).all()
    assert d.iloc[500:1000].nunique() == 1 and d.iloc[500] > 0
    assert (d.iloc[1000:1500] == 0).all()
    assert d.iloc[1500:].nunique() == 1


def test_name_distance_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        name_distance(pd.Series(["A"]), pd.Series(["A", "B"]))


# --------------------------------------------------------------------------------------------
# IMO
# --------------------------------------------------------------------------------------------


def test_imo_check_digit_accepts_real_number() -> None:
    s = pd.Series([9074729, "9074729", "IMO9074729", " 9074729 ", "imo 9074729", 9074729.0])
    assert imo_valid(s).all()


def test_imo_check_digit_rejects_one_digit_off() -> None:
    s = pd.Series([9074728, "IMO9074728", 9074739, 9174729])
    assert not imo_valid(s).any()


def test_imo_garbage_and_missing_are_invalid() -> None:
    s = pd.Series([None, 0, "IMO0000000", "0000000", "garbage", "", 123456, 90747290, "IMO"])
    out = imo_valid(s)
    assert out.dtype == bool
    assert not out.any()


def test_imo_valid_on_nullable_int_column() -> None:
    s = pd.Series([9074729, None, 9074728], dtype="Int64", index=[5, 6, 7])
    out = imo_valid(s)
    assert out.index.tolist() == [5, 6, 7]
    assert out.tolist() == [True, False, False]


def test_parse_imo_extracts_number() -> None:
    s = pd.Series(["IMO9074729", 9074729, " 9074728 ", 0, "IMO0000000", "junk", None])
    out = parse_imo(s)
    assert str(out.dtype) == "Int64"
    assert out.iloc[:3].tolist() == [9074729, 9074729, 9074728]
    assert out.iloc[3:].isna().all()


# --------------------------------------------------------------------------------------------
# MID table and flags
# --------------------------------------------------------------------------------------------


def test_mid_table_is_complete_and_unique() -> None:
    table = load_mid_table()
    assert list(table.columns) == ["mid", "iso2", "flag"]
    assert len(table) > 250
    assert not table["mid"].duplicated().any()
    assert table["mid"].between(201, 775).all()
    assert table["iso2"].str.fullmatch(r"[A-Z]{2}").all()
    assert (table["flag"].str.len() > 0).all()


def test_mid_csv_starts_with_source_comment() -> None:
    text = resources.files("ais").joinpath("data/mid.csv").read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    joined = " ".join(header)
    assert "ITU" in joined and "M.585" in joined and "transcribed" in joined


def test_namibia_is_not_read_as_missing() -> None:
    table = load_mid_table().set_index("mid")
    assert table.loc[659, "iso2"] == "NA"


def test_load_mid_table_returns_independent_copies() -> None:
    first = load_mid_table()
    first.loc[:, "flag"] = "x"
    assert (load_mid_table()["flag"] != "x").all()


@pytest.mark.parametrize(
    ("mids", "iso2"),
    [
        ([351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373], "PA"),
        ([636, 637], "LR"),
        ([667], "SL"),
        ([671], "TG"),
        ([457], "MN"),
        ([616, 620], "KM"),
        ([613], "CM"),
        ([511], "PW"),
        ([445], "KP"),
        ([440, 441], "KR"),
        ([412, 413, 414], "CN"),
        ([477], "HK"),
        ([273], "RU"),
        ([538], "MH"),
        ([341], "KN"),
        ([375, 376, 377], "VC"),
        ([312], "BZ"),
        ([518], "CK"),
        ([572], "TV"),
    ],
)
def test_known_mids_are_present(mids: list[int], iso2: str) -> None:
    table = load_mid_table().set_index("mid")
    for mid in mids:
        assert table.loc[mid, "iso2"] == iso2, mid


def test_dprk_mid_maps_to_north_korea() -> None:
    assert DPRK_MID == 445
    out = flag_of(pd.Series([445123456, "445987654"]))
    assert out["flag_iso2"].tolist() == ["KP", "KP"]
    assert out["flag"].iloc[0] == "Korea (Democratic People's Republic of)"
    assert out["mid"].tolist() == [445, 445]
    assert out["mid_allocated"].all()


def test_unallocated_mid_is_flagged() -> None:
    out = flag_of(pd.Series([299000001, 600123456, 780000000]))
    assert out["mid"].tolist() == [299, 600, 780]
    assert not out["mid_allocated"].any()
    assert out["flag_iso2"].isna().all()
    assert out["flag"].isna().all()


def test_non_ship_mmsi_forms_have_no_mid() -> None:
    mmsi = pd.Series(
        [
            "004450001",  # coast station
            "044500000",  # group call
            "111445100",  # SAR aircraft
            "994451234",  # aid to navigation
            "984451234",  # craft associated with a parent ship
            "8445123456",  # 10 digits
            "44512345",  # 8 digits
            None,
            "garbage",
        ]
    )
    out = flag_of(mmsi)
    assert out["mid"].isna().all()
    assert not out["mid_allocated"].any()


def test_flag_of_accepts_float_and_keeps_index() -> None:
    out = flag_of(pd.Series([636012345.0, np.nan], index=["a", "b"]))
    assert out.index.tolist() == ["a", "b"]
    assert out.loc["a", "flag_iso2"] == "LR"
    assert out.loc["a", "mid_allocated"]
    assert not out.loc["b", "mid_allocated"]
    assert out["mid_allocated"].dtype == bool
    assert str(out["mid"].dtype) == "Int64"


def test_flags_of_convenience_are_iso_codes_in_the_mid_table() -> None:
    codes = set(load_mid_table()["iso2"])
    assert all(len(c) == 2 and c.isupper() for c in FLAGS_OF_CONVENIENCE)
    assert FLAGS_OF_CONVENIENCE <= codes
    assert {"PA", "LR", "SL", "TG", "MN", "KP", "KM", "KN", "VC"} <= FLAGS_OF_CONVENIENCE
    assert "KR" not in FLAGS_OF_CONVENIENCE
