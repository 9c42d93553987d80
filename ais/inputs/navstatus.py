"""Navigational status as ITU-R M.1371 codes, whether a feed sends text or numbers.

Feeds send the status as the ITU code ('1', '5', 5.0: GFW, the Danish DMA), as text
('At anchor', 'Moored', 'engaged in fishing': MarineCadastre's older files, our generator),
or as both ('5 - Moored'). :func:`codes` reads any of these into the code 0-15, -1 where
nothing usable was sent; :data:`SQL_CODE` does the same inside DuckDB.

Codes: 0 under way using engine, 1 at anchor, 2 not under command, 3 restricted
manoeuvrability, 4 constrained by her draught, 5 moored, 6 aground, 7 engaged in fishing,
8 under way sailing, 9-13 reserved, 14 AIS-SART / MOB / EPIRB, 15 undefined (default).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNDER_WAY, AT_ANCHOR, NOT_UNDER_COMMAND, RESTRICTED, DRAUGHT = 0, 1, 2, 3, 4
MOORED, AGROUND, FISHING, SAILING, UNDEFINED = 5, 6, 7, 8, 15
#: Codes of a vessel that is not going anywhere: at anchor, moored, aground.
AT_REST = (AT_ANCHOR, MOORED, AGROUND)

#: Words of the text spellings, checked in this order (the first that matches wins).
_WORDS: tuple[tuple[str, int], ...] = (
    ("anchor", AT_ANCHOR), ("moored", MOORED), ("aground", AGROUND), ("fishing", FISHING),
    ("restricted", RESTRICTED), ("not under command", NOT_UNDER_COMMAND),
    ("draught", DRAUGHT), ("draft", DRAUGHT), ("sailing", SAILING),
    ("under way", UNDER_WAY), ("underway", UNDER_WAY), ("using engine", UNDER_WAY),
    ("sart", 14), ("undefined", UNDEFINED), ("not defined", UNDEFINED),
)


def code_of(value: object) -> int:
    """The ITU code of one status value (-1 if it says nothing usable)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return -1
    text = str(value).strip().lower()
    if not text or text in ("nan", "<na>", "none"):
        return -1
    head = text.split(" ", 1)[0].split("-", 1)[0].strip()
    try:
        number = float(head)
    except ValueError:
        number = None
    if number is not None and number.is_integer() and 0 <= number <= 15:
        return int(number)
    for word, code in _WORDS:
        if word in text:
            return code
    return -1


def codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """ITU codes (int8, -1 unknown) of a column of statuses; each distinct value is read
    once, so a million pings cost a factorize."""
    ids, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    table = np.array([code_of(u) for u in uniques] + [-1], dtype=np.int8)
    return table[ids]  # the sentinel -1 picks the trailing "unknown"


def at_rest(values: pd.Series | np.ndarray) -> np.ndarray:
    """True where the status says at anchor, moored or aground."""
    return np.isin(codes(values), AT_REST)


#: DuckDB expression giving the ITU code of a VARCHAR column ``nav_status`` (-1 unknown).
SQL_CODE = """(CASE
    WHEN TRY_CAST(trim(CAST(nav_status AS VARCHAR)) AS DOUBLE) BETWEEN 0 AND 15
        THEN CAST(TRY_CAST(trim(CAST(nav_status AS VARCHAR)) AS DOUBLE) AS INTEGER)
    WHEN regexp_matches(CAST(nav_status AS VARCHAR), '^\\s*[0-9]+\\s*-')
        THEN TRY_CAST(regexp_extract(CAST(nav_status AS VARCHAR), '^\\s*([0-9]+)', 1) AS INTEGER)
    WHEN lower(nav_status) LIKE '%anchor%' THEN 1
    WHEN lower(nav_status) LIKE '%moored%' THEN 5
    WHEN lower(nav_status) LIKE '%aground%' THEN 6
    WHEN lower(nav_status) LIKE '%fishing%' THEN 7
    WHEN lower(nav_status) LIKE '%restricted%' THEN 3
    WHEN lower(nav_status) LIKE '%not under command%' THEN 2
    ELSE -1 END)"""
