"""What an MMSI number says about its transmitter (ITU-R M.585), and which ones ingest keeps.

Only MMSIs that cannot be a vessel's position report are dropped (:func:`drop_reason_sql`):
missing, zero or not a number, obvious test numbers, aids to navigation (``99MIDxxxx``), SAR
aircraft (``111MIDxxx``) and distress beacons (AIS-SART ``970``, man overboard ``972``,
EPIRB-AIS ``974``). Everything else is kept, however irregular, because irregular numbers are
what evaders and unlicensed fleets broadcast: an unallocated MID (a Chinese fishing fleet on
``150...``), a number of the wrong length, a coast-station (``00MID``) or group (``0MID``)
pattern. :func:`irregularity` names what is irregular about each kept MMSI, in words for the
``flag`` column and the reason ("unallocated MID 150").

Craft that are not vessels but do report positions, fishing gear and buoys, are kept too and
set aside later (:mod:`ais.tracking.gear`); :func:`gear_form` tells their ITU number forms:
``98MIDxxxx`` (craft associated with a parent ship: tenders, and in practice net buoys),
``979xxxxxx`` (autonomous maritime radio devices of group B, M.585-9) and ``8MIDxxxxx``
(handheld VHF; in practice also net buoys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.inputs.identity import flag_of

#: drop reason -> description (ais.inputs.ingest adds them to its DROP_REASONS, in this order)
REASONS: dict[str, str] = {
    "invalid_mmsi": "MMSI missing, not a number, zero or negative, or fewer than 5 or more "
                    "than 10 digits",
    "test_or_default_mmsi": "test or default MMSI (e.g. 123456789, 111111111, a MID "
                            "followed by zeros such as 240000000 or 666000001)",
    "not_a_ship_mmsi": "MMSI of an aid to navigation (99MIDxxxx), a SAR aircraft "
                       "(111MIDxxx) or a distress beacon (AIS-SART 970, MOB 972, EPIRB 974)",
}

_NINE = "mmsi BETWEEN 100000000 AND 999999999"


def drop_reason_sql() -> str:
    """SQL ``WHEN ... THEN reason`` branches over a BIGINT column ``mmsi`` (the first match
    wins; a row that matches none is kept as far as its MMSI goes)."""
    return f"""
            WHEN mmsi IS NULL OR mmsi < 10000 OR mmsi > 9999999999 THEN 'invalid_mmsi'
            WHEN mmsi IN (123456789, 987654321, 100000000, 1234567890)
                OR ({_NINE} AND (mmsi % 111111111 = 0 OR mmsi % 1000000 < 100))
                THEN 'test_or_default_mmsi'
            WHEN {_NINE} AND (mmsi // 10000000 = 99 OR mmsi // 1000000 = 111
                              OR mmsi // 1000000 IN (970, 972, 974))
                THEN 'not_a_ship_mmsi'"""


def irregularity(mmsi: pd.Series) -> pd.Series:
    """What is irregular about each MMSI, in words ('' when it is a ship station's number
    with an allocated MID): 'unallocated MID 150', '8 digits, not 9', 'coast-station form
    00MID (MID 244)', 'group-call form 0MID', 'craft of a parent ship (98MID)',
    'AMRD group B (979)', 'handheld form 8MID'."""
    m = pd.to_numeric(mmsi, errors="coerce").astype("Int64")
    v = m.fillna(0).to_numpy(dtype=np.int64)
    digits = np.where(v > 0, np.floor(np.log10(np.maximum(v, 1))).astype(int) + 1, 0)
    nine = digits == 9
    first = np.where(nine, v // 100_000_000, -1)
    flags = flag_of(m.astype("float").fillna(0).astype("int64"))
    allocated = flags["mid_allocated"].to_numpy()
    mid = v // 1_000_000
    out = np.full(len(v), "", dtype=object)
    ship = nine & (first >= 2) & (first <= 7)
    out[ship & ~allocated] = [f"unallocated MID {x}" for x in mid[ship & ~allocated]]
    out[nine & (v // 1_000_000 == 979)] = "AMRD group B (979)"
    parent = nine & (v // 10_000_000 == 98)
    out[parent] = [f"craft of a parent ship (98MID, MID {x % 1000})"
                   for x in v[parent] // 10_000]
    hand = nine & (first == 8)
    out[hand] = [f"handheld form 8MID (MID {x % 1000})" for x in v[hand] // 100_000]
    nine_other = nine & (first == 9) & (out == "")
    out[nine_other] = [f"not a ship-station form ({x}...)" for x in v[nine_other] // 1_000_000]
    low = nine & (first == 1) & (v // 1_000_000 != 111)
    out[low] = [f"unallocated MID {x}" for x in mid[low]]
    short = (digits > 0) & ~nine
    # a coast station is 00MIDxxxx and a group 0MIDxxxxx: read as numbers, 7 and 8 digits
    coast = short & (digits == 7)
    group = short & (digits == 8)
    out[coast] = [f"coast-station form 00MID (MID {x // 10000}), {d} digits"
                  for x, d in zip(v[coast], digits[coast], strict=True)]
    out[group] = [f"group-call form 0MID or 8 digits, not 9 (MID {x // 100000})"
                  for x in v[group]]
    other = short & ~coast & ~group
    out[other] = [f"{d} digits, not 9" for d in digits[other]]
    return pd.Series(out, index=mmsi.index, dtype=object)


def gear_form(mmsi: pd.Series) -> pd.Series:
    """True where the MMSI has a form ITU gives to craft that are not vessels but may carry
    AIS on fishing gear: 98MIDxxxx, 979xxxxxx (AMRD group B) or 8MIDxxxxx."""
    v = pd.to_numeric(mmsi, errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    nine = (v >= 100_000_000) & (v <= 999_999_999)
    out = nine & ((v // 10_000_000 == 98) | (v // 1_000_000 == 979) | (v // 100_000_000 == 8))
    return pd.Series(out, index=mmsi.index, dtype=bool)


def flag_label(mmsi: pd.Series) -> pd.Series:
    """The ``flag`` column: the flag State of an allocated MID, else what is irregular
    (e.g. 'unallocated MID 150')."""
    flags = flag_of(pd.to_numeric(mmsi, errors="coerce").fillna(0).astype("int64"))
    label = flags["flag"].astype(object).to_numpy()
    odd = irregularity(mmsi).to_numpy()
    return pd.Series(np.where(pd.isna(label) | (odd != ""), odd, label), index=mmsi.index,
                     dtype=object).replace("", None)
