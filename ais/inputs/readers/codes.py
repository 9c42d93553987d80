"""AIS code tables shared by the readers (ITU-R M.1371-5)."""

from __future__ import annotations

#: Navigational status code -> the words the detectors look for ("at anchor", "moored").
#: 15 is "not defined (default)" and 9-13 are reserved: they carry no status.
NAV_STATUS: dict[int, str] = {
    0: "under way using engine",
    1: "at anchor",
    2: "not under command",
    3: "restricted manoeuvrability",
    4: "constrained by her draught",
    5: "moored",
    6: "aground",
    7: "engaged in fishing",
    8: "under way sailing",
    14: "AIS-SART active",
}


def nav_status_sql(col: str) -> str:
    """SQL turning a numeric status code (as MarineCadastre's ``Status`` sends it) into its
    words; text statuses (DMA's "At anchor") and unknown values stay as they are."""
    cases = " ".join(f"WHEN {code} THEN '{text}'" for code, text in NAV_STATUS.items())
    code = f"TRY_CAST({col} AS INTEGER)"
    return (f"CASE WHEN {code} IS NULL THEN {col} "
            f"ELSE (CASE {code} {cases} ELSE NULL END) END")
