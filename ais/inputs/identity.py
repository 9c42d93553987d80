"""Vessel identity helpers: name/call-sign normalisation, IMO numbers, MMSI flag lookup.

Everything here works on whole pandas Series at once. The only Python-level loops are over
the small MID table (about 300 rows) and, in :func:`name_distance`, over the *distinct*
pairs of differing names, which are few because a vessel rarely changes its name.
"""

from __future__ import annotations

import difflib
import functools
import io
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "DPRK_MID",
    "FLAGS_OF_CONVENIENCE",
    "flag_of",
    "imo_valid",
    "load_mid_table",
    "name_distance",
    "normalise_callsign",
    "normalise_name",
    "normalise_sql",
    "parse_imo",
]

#: Maritime Identification Digits of the Democratic People's Republic of Korea.
DPRK_MID = 445

# Flags of convenience, as ISO 3166-1 alpha-2 codes.
# Source: International Transport Workers' Federation (ITF), "Flags of Convenience" list
# (itfglobal.org, as reproduced from memory of the list current in 2023; the ITF revises it).
# Two ITF entries are second registers with no country code of their own and cannot be told
# apart from the main register by MMSI, so they are NOT included: the French International
# Ship Register (FIS) and the German International Ship Register (GIS).
# "Netherlands Antilles" / Curacao is given as CW; "St Vincent" is Saint Vincent and the
# Grenadines (VC).
FLAGS_OF_CONVENIENCE: frozenset[str] = frozenset(
    {
        "AG",  # Antigua and Barbuda
        "BS",  # Bahamas
        "BB",  # Barbados
        "BZ",  # Belize
        "BM",  # Bermuda (UK)
        "BO",  # Bolivia
        "KH",  # Cambodia
        "KY",  # Cayman Islands (UK)
        "KM",  # Comoros
        "CK",  # Cook Islands (NZ)
        "CW",  # Curacao (former Netherlands Antilles)
        "CY",  # Cyprus
        "GQ",  # Equatorial Guinea
        "FO",  # Faroe Islands (DK)
        "GE",  # Georgia
        "GI",  # Gibraltar (UK)
        "HN",  # Honduras
        "JM",  # Jamaica
        "LB",  # Lebanon
        "LR",  # Liberia
        "MT",  # Malta
        "MH",  # Marshall Islands
        "MU",  # Mauritius
        "MD",  # Moldova
        "MN",  # Mongolia
        "MM",  # Myanmar
        "KP",  # Korea (Democratic People's Republic of)
        "PA",  # Panama
        "ST",  # Sao Tome and Principe
        "KN",  # Saint Kitts and Nevis
        "VC",  # Saint Vincent and the Grenadines
        "SL",  # Sierra Leone
        "LK",  # Sri Lanka
        "TG",  # Togo
        "TO",  # Tonga
        "TV",  # Tuvalu
        "VU",  # Vanuatu
    }
)

# --------------------------------------------------------------------------------------------
# Names and call signs
# --------------------------------------------------------------------------------------------

# The whitespace class is spelled out (not ``\s``) so that Python's ``re`` and DuckDB's RE2
# agree exactly: ``\s`` is Unicode-aware in Python but ASCII-only in RE2.
_WS_CLASS = r"[ \t\n\r\f\v]+"
# ``(?s)`` lets ``.`` cross newlines in both engines, so everything after the first '@' goes.
_PAD_RE = r"(?s)@.*"
# Arrow-backed strings: Arrow's Unicode case mapping matches DuckDB's (e.g. 'ß' -> 'ẞ'),
# whereas Python's str.upper gives 'SS'; fixing the storage keeps SQL and pandas in step.
_STRING = pd.StringDtype("pyarrow")


def normalise_name(s: pd.Series) -> pd.Series:
    """Normalise AIS vessel names (or call signs) for comparison only.

    Steps: upper-case; cut everything from the first ``'@'`` on (AIS 6-bit text pads with
    ``'@'``, and receivers sometimes leave garbage after the padding, e.g.
    ``'PEI YUH NO.6@@@@@@BL'``); collapse runs of ASCII whitespace to one space; strip
    surrounding spaces. Empty results become ``<NA>``.

    The result is for matching, not display: keep the raw value for reports.
    :func:`normalise_sql` is the same rule as a DuckDB expression.

    Args:
        s: Names; any dtype (non-strings are converted to Arrow-backed strings).

    Returns:
        A ``string[pyarrow]`` Series with the same index as ``s``.
    """
    out = s.astype(_STRING).str.upper()
    out = out.str.replace(_PAD_RE, "", regex=True)
    out = out.str.replace(_WS_CLASS, " ", regex=True)
    out = out.str.strip(" ")
    return out.mask(out == "")


#: Call signs follow exactly the same rule as names.
normalise_callsign = normalise_name


def normalise_sql(column_sql: str) -> str:
    """Build a DuckDB SQL expression that normalises a name column like :func:`normalise_name`.

    Args:
        column_sql: A SQL expression for the input column, e.g. ``'shipname'`` or
            ``'"s"."name"'``. It is inserted verbatim, so it must come from code, not users.

    Returns:
        A SQL expression yielding ``VARCHAR`` (``NULL`` where the normalised name is empty).

    Example:
        ``con.sql(f"SELECT {normalise_sql('name')} AS name_norm FROM static")``
    """
    upper = f"upper(CAST(({column_sql}) AS VARCHAR))"
    unpadded = f"regexp_replace({upper}, '{_PAD_RE}', '')"
    collapsed = f"regexp_replace({unpadded}, '{_WS_CLASS}', ' ', 'g')"
    return f"nullif(trim({collapsed}, ' '), '')"


# --------------------------------------------------------------------------------------------
# IMO numbers
# --------------------------------------------------------------------------------------------

# Optional "IMO" prefix with an optional separator, 7 digits (first non-zero), and an optional
# ".0" left over from a float column, surrounded by optional whitespace.
_IMO_RE = r"^\s*(?:IMO)?[\s:#.\-]*([1-9]\d{6})(?:\.0*)?\s*$"
_IMO_WEIGHTS = np.array([7, 6, 5, 4, 3, 2], dtype=np.int64)


def parse_imo(s: pd.Series) -> pd.Series:
    """Extract the 7-digit IMO number from ints or strings such as ``'IMO9074729'``.

    Accepted forms: ``9074729``, ``9074729.0``, ``'9074729'``, ``' 9074729 '``,
    ``'IMO9074729'``, ``'imo 9074729'``, ``'IMO: 9074729'``. The check digit is NOT
    verified here (see :func:`imo_valid`). Anything else, including ``0``,
    ``'IMO0000000'``, numbers with a leading zero or not exactly 7 digits, becomes ``<NA>``.

    Args:
        s: IMO values of any dtype.

    Returns:
        An ``Int64`` Series with the same index as ``s``.
    """
    text = s.astype(_STRING).str.upper()
    digits = text.str.extract(_IMO_RE, expand=False)
    return pd.to_numeric(digits, errors="coerce").astype("Int64")


def imo_valid(imo: pd.Series) -> pd.Series:
    """Check IMO numbers against the IMO check-digit rule.

    For digits d1..d7, ``(7*d1 + 6*d2 + 5*d3 + 4*d4 + 3*d5 + 2*d6) % 10 == d7``.
    Inputs are parsed with :func:`parse_imo`; anything it cannot parse is invalid.

    Args:
        imo: IMO values (ints or strings).

    Returns:
        A ``bool`` Series with the same index as ``imo``; missing or garbage values are False.
    """
    parsed = parse_imo(imo)
    present = parsed.notna().to_numpy()
    n = parsed.fillna(0).to_numpy(dtype=np.int64)
    # Column k holds digit d(k+1): 10**6 .. 10**0.
    powers = 10 ** np.arange(6, -1, -1, dtype=np.int64)
    digits = (n[:, None] // powers[None, :]) % 10
    check = (digits[:, :6] @ _IMO_WEIGHTS) % 10
    ok = present & (check == digits[:, 6])
    return pd.Series(ok, index=imo.index, dtype=bool, name=imo.name)


# --------------------------------------------------------------------------------------------
# MMSI -> flag
# --------------------------------------------------------------------------------------------


@functools.cache
def _mid_table() -> pd.DataFrame:
    text = resources.files("ais").joinpath("data/mid.csv").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    table = pd.read_csv(
        io.StringIO(body),
        dtype={"mid": "int64", "iso2": "string", "flag": "string"},
        keep_default_na=False,  # "NA" is Namibia, not a missing value
    )
    return table


def load_mid_table() -> pd.DataFrame:
    """Load the ITU Maritime Identification Digits table shipped in ``ais/data/mid.csv``.

    The file is read once and cached; each call returns a fresh copy so callers may modify it.

    Returns:
        A DataFrame with columns ``mid`` (int64), ``iso2`` and ``flag`` (string), one row per
        allocated MID.
    """
    return _mid_table().copy()


@functools.cache
def _mid_maps() -> tuple[dict[int, str], dict[int, str]]:
    table = _mid_table()
    iso = dict(zip(table["mid"].tolist(), table["iso2"].tolist(), strict=True))
    name = dict(zip(table["mid"].tolist(), table["flag"].tolist(), strict=True))
    return iso, name


def flag_of(mmsi: pd.Series) -> pd.DataFrame:
    """Look up the flag State implied by each MMSI's Maritime Identification Digits.

    Only ship-station MMSIs are decoded: 9 digits with the first digit 2-7, whose first three
    digits are the MID. Other forms (coast stations ``00MID...``, group calls ``0MID...``,
    SAR aircraft ``111MID...``, AtoN ``99MID...``, craft associated with a parent ship
    ``98MID...``, short or long numbers) get ``mid`` <NA> and ``mid_allocated`` False.

    Note that the MID shows what the transmitter claims, not where the ship is really
    registered; a wrong or spoofed MMSI gives a wrong flag.

    Args:
        mmsi: MMSIs as ints, floats (``366123456.0``) or strings.

    Returns:
        A DataFrame indexed like ``mmsi`` with columns ``mid`` (Int64), ``flag_iso2`` and
        ``flag`` (string, <NA> when unallocated) and ``mid_allocated`` (bool).
    """
    text = mmsi.astype(_STRING).str.strip()
    mid_text = text.str.extract(r"^([2-7]\d{2})\d{6}(?:\.0*)?$", expand=False)
    mid = pd.to_numeric(mid_text, errors="coerce").astype("Int64")
    iso, name = _mid_maps()
    flag_iso2 = mid.map(iso).astype("string")
    flag = mid.map(name).astype("string")
    return pd.DataFrame(
        {
            "mid": mid,
            "flag_iso2": flag_iso2,
            "flag": flag,
            "mid_allocated": flag_iso2.notna().to_numpy(dtype=bool),
        },
        index=mmsi.index,
    )


# --------------------------------------------------------------------------------------------
# Name distance
# --------------------------------------------------------------------------------------------


def _pair_distance(a: str, b: str) -> float:
    return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def name_distance(a: pd.Series, b: pd.Series) -> pd.Series:
    """Dissimilarity between two names, 0 (same after normalisation) to 1 (nothing in common).

    Both inputs are normalised with :func:`normalise_name` first (a no-op if they already
    are). The score is ``1 - difflib.SequenceMatcher.ratio()``, computed on each *distinct*
    unordered pair of differing names only: identity changes are rare, so the Python-level
    loop runs over few pairs even for millions of rows. Equal names are 0 without calling
    difflib. Pairs are put in a fixed order first so that the result is symmetric.

    Args:
        a: First names, aligned with ``b`` by position.
        b: Second names; must have the same length as ``a``.

    Returns:
        A float64 Series indexed like ``a``; NaN where either name is missing (a blank name is
        unknown, not a different name).

    Raises:
        ValueError: If ``a`` and ``b`` differ in length.
    """
    if len(a) != len(b):
        raise ValueError(f"name_distance: lengths differ ({len(a)} != {len(b)})")
    na = normalise_name(a).to_numpy(dtype=object, na_value=None)
    nb = normalise_name(b).to_numpy(dtype=object, na_value=None)
    pairs = pd.DataFrame({"a": na, "b": nb})
    present = pairs["a"].notna() & pairs["b"].notna()
    result = np.full(len(pairs), np.nan)
    same = present & (pairs["a"] == pairs["b"])
    result[same.to_numpy()] = 0.0

    differ = (present & ~same).to_numpy()
    if differ.any():
        sub = pairs.loc[differ]
        lo = np.where(sub["a"] <= sub["b"], sub["a"], sub["b"])
        hi = np.where(sub["a"] <= sub["b"], sub["b"], sub["a"])
        keys = pd.MultiIndex.from_arrays([lo, hi])
        distinct = keys.unique()
        scores = pd.Series(
            [_pair_distance(x, y) for x, y in distinct], index=distinct, dtype=float
        )
        result[differ] = scores.reindex(keys).to_numpy()
    return pd.Series(result, index=a.index, dtype="float64")
