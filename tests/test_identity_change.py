"""Identity-change scenarios: renames and new MMSIs are found; padding and case are not."""

from __future__ import annotations

import pandas as pd
import pytest

from ais.config import Config
from ais.detectors import identity_change
from ais.inputs.ingest import ingest
from ais.synth.world import vessel
from ais.tracking.tracks import build_tracks

from .conftest import GFW, need, tracks_of

CFG = Config()
SEA = (38.30, 124.60)


def ship(mmsi: int = 667001234, name: str = "SEA STAR", callsign: str = "9LAB3",
         imo: str | None = "9074729", at=SEA):
    return vessel(mmsi, name, callsign=callsign, imo=imo, ship_type="tanker", at=at,
                  report_every_s=120, seed=mmsi)


def sail_hours(v, hours: float):
    return v.sail(to=(38.0, 124.0), hours=hours)


def test_rename_mid_track_is_one_name_change():
    v = ship()
    sail_hours(v, 3)
    v.rename(name="SUN RISE 7")
    v.sail(to=(37.9, 124.3), hours=3)
    events = identity_change.detect(tracks_of(v), CFG)
    assert len(events) == 1
    ev = events.iloc[0]
    assert (ev["name_before"], ev["name_after"]) == ("SEA STAR", "SUN RISE 7")
    assert ev["name_changed"] == 1 and ev["callsign_changed"] == 0 and ev["mmsi_changed"] == 0
    assert ev["passes_rule"] and ev["name_distance"] > 0.5


def test_call_sign_change_alone_is_found():
    v = ship()
    sail_hours(v, 2)
    v.rename(callsign="HMZZ")
    v.sail(to=(37.9, 124.3), hours=2)
    ev = identity_change.detect(tracks_of(v), CFG).iloc[0]
    assert ev["callsign_changed"] == 1 and ev["name_changed"] == 0


@pytest.mark.parametrize(
    "new_name",
    [
        pytest.param("SEA STAR@@@@@@@@@@@@", id="at-padding"),
        pytest.param("Sea Star", id="re-cased"),
        pytest.param("  SEA   STAR ", id="spacing"),
        pytest.param("SEA-STAR", id="punctuation"),
    ],
)
def test_padding_case_spacing_and_punctuation_are_not_changes(new_name):
    v = ship()
    sail_hours(v, 2)
    v.rename(name=new_name)
    v.sail(to=(37.9, 124.3), hours=2)
    assert identity_change.detect(tracks_of(v), CFG).empty


def test_new_mmsi_with_same_imo_is_a_flag_change_with_the_previous_mmsi():
    v = ship(mmsi=445012345, name="CHON MA SAN", callsign="HMYZ", imo="9113111")
    sail_hours(v, 3)
    v.remmsi(667009876)
    v.rename(name="ASIA BRIDGE", callsign="9LXY2")
    v.sail(to=(37.9, 124.3), hours=3)
    events = identity_change.detect(tracks_of(v), CFG)
    handover = events[events["mmsi_changed"] == 1]
    assert len(handover) == 1
    ev = handover.iloc[0]
    assert ev["mmsi"] == 667009876 and ev["other_mmsi"] == 445012345
    assert (ev["flag_before"], ev["flag_after"]) == ("KP", "SL")
    assert ev["flag_changed"] == 1 and ev["dprk_involved"] == 1 and ev["foc_involved"] == 1
    assert ev["name_changed"] == 1


def test_unrelated_vessels_starting_nearby_are_not_linked():
    a = ship(mmsi=667000011, name="ALPHA", callsign="AAA1", imo="9074729")
    sail_hours(a, 2)
    b = ship(mmsi=351000022, name="BRAVO", callsign="BBB2", imo="9113111",
             at=(38.0, 124.0))
    b.wait(hours=2).sail(to=(37.9, 124.3), hours=2)
    events = identity_change.detect(tracks_of(a, b), CFG)
    assert events.empty


def test_a_garbled_burst_of_another_name_is_not_a_change():
    v = ship()
    sail_hours(v, 2)
    v.rename(name="XQ#@ZZ")
    v.sail(to=(38.1, 124.2), hours=0.1)  # three pings only
    v.rename(name="SEA STAR")
    v.sail(to=(37.9, 124.3), hours=2)
    assert identity_change.detect(tracks_of(v), CFG).empty


def test_alternating_names_are_one_event_counting_the_switches():
    v = ship()
    for _ in range(4):
        v.rename(name="SEA STAR")
        v.sail(to=(38.0, 124.0), hours=1)
        v.rename(name="OCEAN 8")
        v.sail(to=(38.3, 124.6), hours=1)
    events = identity_change.detect(tracks_of(v), CFG)
    assert len(events) == 1
    assert events["n_switches"].iloc[0] == 7


def test_no_identity_fields_at_all_gives_no_event():
    v = ship(name=None, callsign=None, imo=None)
    sail_hours(v, 3)
    assert identity_change.detect(tracks_of(v), CFG).empty


def test_gfw_real_rename_is_found_and_padding_is_not():
    tracks = build_tracks(ingest([need(GFW)]).pings)
    events = identity_change.detect(tracks, Config(everywhere=True))
    rename = events[events["mmsi"] == 413222000]
    assert len(rename) == 1
    assert {rename["name_before"].item(), rename["name_after"].item()} == {
        "DONGFANGXING28", "LIAO DA ZHONG 25027"}
    assert events[events["mmsi"] == 416070900].empty


# ------------------------------------------------------------------ the shuffle by hull key

def test_partitions_of_whole_hull_groups_answer_as_the_whole_tracks():
    """`ais scan --cluster` runs identity changes on partitions: cut by MMSI, the handover of
    one hull to a new MMSI falls between two partitions and is lost; cut by hull group (the
    MMSIs whose track ends share an IMO or a name with a call sign), every partition's rows,
    put back in MMSI order, are the whole's."""
    from ais.runtime import partitions

    handed = ship(mmsi=445012345, name="CHON MA SAN", callsign="HMYZ", imo="9113111")
    sail_hours(handed, 3)
    handed.remmsi(667009876)
    handed.rename(name="ASIA BRIDGE", callsign="9LXY2")
    handed.sail(to=(37.9, 124.3), hours=3)
    renamed = ship(mmsi=412000111, name="MING HAI", callsign="BQXA", imo=None,
                   at=(38.1, 124.9))
    sail_hours(renamed, 3)
    renamed.rename(name="SUN RISE 7")
    renamed.sail(to=(37.9, 124.3), hours=3)
    quiet = [ship(mmsi=m, name=f"QUIET {m % 100}", callsign=f"Q{m % 1000}", imo=None,
                  at=(38.2, 124.4)) for m in (413456781, 413456782, 413456783)]
    for v in quiet:
        sail_hours(v, 4)
    tracks = tracks_of(handed, renamed, *quiet)
    whole = identity_change.detect(tracks, CFG)
    assert len(whole[whole["mmsi_changed"] == 1]) == 1 and len(whole) >= 2

    n = next(k for k in range(2, 9)
             if len({p["mmsi"].iloc[0] for p in partitions.partition(
                 tracks[tracks["mmsi"].isin([445012345, 667009876])], k)}) == 2)
    by_mmsi = partitions.combine([identity_change.detect(p, CFG)
                               for p in partitions.partition(tracks, n)])
    assert (by_mmsi["mmsi_changed"] == 1).sum() == 0  # the handover is lost between two

    groups = identity_change.hull_groups(tracks, CFG)
    assert groups.set_index("mmsi").loc[[445012345, 667009876], "group"].tolist() == [
        445012345, 445012345]
    assert groups["group"].nunique() == len(groups) - 1  # the others each their own
    parts = partitions.partition(tracks, n, groups)
    assert len(parts) > 1
    by_hull = partitions.combine([identity_change.detect(p, CFG) for p in parts])
    pd.testing.assert_frame_equal(by_hull, whole)
