"""Properties that hold for any input (hypothesis): ingest raises only our own errors, detectors
do not care about row order or duplicated rows, event ids are stable, scores stay in 0..1, and
the CSV parses back to the rows that were written. Example counts are modest: the suite stays
fast, and hypothesis keeps the failing examples it finds in its database."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ais.config import Config
from ais.detectors import REGISTRY, needs
from ais.errors import AisError
from ais.events import annotate_places, event_ids
from ais.inputs.ingest import ingest, ingest_frame
from ais.judging import scoring
from ais.pipeline import DEFAULT_MODELS, FEATURES
from ais.synth.world import Scenario
from ais.tracking.tracks import build_tracks
from ais.views.output import CSV_COLUMNS, EXTRA_COLUMNS, format_events, write_csv

FEW = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- ingest on arbitrary columns

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
VALUE_KINDS = {
    "int64": (st.integers(-(2**63), 2**63 - 1), pa.int64()),
    "uint64": (st.integers(0, 2**64 - 1), pa.uint64()),
    "float64": (st.floats(allow_nan=True, allow_infinity=True), pa.float64()),
    "string": (TEXT, pa.string()),
    "numeric string": (st.one_of(st.floats().map(str), st.integers().map(str)), pa.string()),
    "bool": (st.booleans(), pa.bool_()),
    "timestamp": (st.datetimes(), pa.timestamp("us")),
    "timestamp utc": (st.datetimes(), pa.timestamp("ns", tz="UTC")),
    "date": (st.dates(), pa.date32()),
    "binary": (st.binary(max_size=8), pa.binary()),
    "list": (st.lists(st.integers(-5, 5), max_size=2), pa.list_(pa.int64())),
    "null": (st.none(), pa.null()),
}
COLUMN_NAMES = ["mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "name", "callsign",
                "imo", "ship_type", "BaseDateTime", "LAT", "Longitude", "ssvid", "other"]


@st.composite
def arbitrary_tables(draw) -> pa.Table:
    n = draw(st.integers(0, 6))
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=8, unique=True))
    columns = {}
    for name in names:
        values, typ = VALUE_KINDS[draw(st.sampled_from(sorted(VALUE_KINDS)))]
        cells = draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))
        try:
            columns[name] = pa.array(cells, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError):
            columns[name] = pa.nulls(n, typ)  # values the type cannot hold: all missing
    return pa.table(columns)


@FEW
@given(table=arbitrary_tables())
def test_ingest_raises_only_our_own_errors_on_arbitrary_columns(table):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.parquet"
        pq.write_table(table, path)
        try:
            ingested = ingest([path])
        except AisError as exc:
            assert str(path) in str(exc)  # the message names the file
            return
    rep = ingested.report
    assert rep.rows_in == table.num_rows == rep.rows_out + rep.rows_dropped
    pings = ingested.pings
    assert pings["lat"].between(-90, 90).all() and pings["lon"].between(-180, 180).all()
    assert pings["mmsi"].between(200_000_000, 799_999_999).all()
    assert not pings.duplicated(["mmsi", "timestamp"]).any()


# ---------------------------------------------------------------- detectors: order, duplicates

@functools.cache
def scenario_pings() -> pd.DataFrame:
    """A small scenario with every behaviour: a meetup, loitering, a dark gap, a rename."""
    sc = Scenario(seed=11, report_every_s=300)
    start = "2026-01-05T00:00Z"
    a = sc.vessel(352001111, "SEA STAR", ship_type="tanker", start=start, at=(38.30, 124.30))
    b = sc.vessel(445002222, "RYE SONG", ship_type="cargo", start=start, at=(38.55, 124.40))
    sc.meetup(a, b, at=(38.45, 124.50), hours=4, distance_m=150)
    a.sail(to=(38.30, 124.60), speed_kn=10)
    b.sail(to=(38.60, 124.70), speed_kn=9)
    c = sc.vessel(412003333, "GOLDEN BAY", ship_type="tanker", start=start, at=(38.20, 124.70))
    c.drift(hours=7, speed_kn=0.4).sail(to=(38.35, 124.90), speed_kn=11)
    d = sc.vessel(413004444, "OCEAN GLORY", callsign="BQRT7", start=start, at=(38.60, 124.20))
    d.sail(to=(38.70, 124.55), speed_kn=9).dark(hours=9, to=(38.40, 124.30))
    d.rename(name="KUM SAN 2").sail(to=(38.25, 124.45), speed_kn=9)
    for i in range(3):
        sc.vessel(412100000 + i, f"NEIGHBOUR {i}", start=start,
                  at=(38.4 + 0.05 * i, 124.4 + 0.05 * i)).drift(hours=20, speed_kn=0.3)
    return sc.pings()


def candidates(pings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    cfg = Config()
    tracks = build_tracks(ingest_frame(pings).pings)
    out = {t: annotate_places(m.detect(tracks, cfg), cfg) for t, m in REGISTRY.items()
           if not needs(t)}
    for t in REGISTRY:  # pairing types (#19) run on the others' candidates
        if needs(t):
            out[t] = annotate_places(REGISTRY[t].detect(tracks, cfg, out), cfg)
    return out


@functools.cache
def reference_candidates() -> dict[str, pd.DataFrame]:
    return candidates(scenario_pings())


def test_the_scenario_has_candidates_of_every_type():
    ref = reference_candidates()
    assert all(len(ref[t]) for t in ("loitering", "dark_period", "meetup", "identity_change"))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 1.0))
def test_detectors_give_the_same_events_whatever_the_row_order_and_with_duplicates(seed, share):
    pings = scenario_pings()
    rng = np.random.default_rng(seed)
    extra = pings.iloc[rng.random(len(pings)) < share]
    shuffled = pd.concat([pings, extra], ignore_index=True).sample(frac=1.0, random_state=rng)
    got = candidates(shuffled.reset_index(drop=True))
    for event_type, expected in reference_candidates().items():
        pd.testing.assert_frame_equal(got[event_type], expected, obj=event_type)


# ---------------------------------------------------------------- event ids

@FEW
@given(rows=st.lists(st.tuples(
    st.sampled_from(["loitering", "dark_period", "meetup", "identity_change"]),
    st.integers(200_000_000, 799_999_999),
    st.one_of(st.none(), st.integers(200_000_000, 799_999_999)),
    st.datetimes(min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2099-12-31").to_pydatetime()),
    st.floats(0, 100)), min_size=1, max_size=8))
def test_event_ids_depend_only_on_type_vessels_and_start(rows):
    frame = pd.DataFrame(rows, columns=["event_type", "mmsi", "other_mmsi", "start_time",
                                        "duration_h"])
    frame["start_time"] = pd.to_datetime(frame["start_time"], utc=True)
    frame["other_mmsi"] = frame["other_mmsi"].astype("Int64")
    ids = event_ids(frame)
    assert ids.str.fullmatch(r"(LOI|DRK|MTG|IDC)-[0-9a-f]{12}").all()
    longer = frame.assign(duration_h=frame["duration_h"] + 5)  # an event that grows
    reordered = longer.iloc[::-1]
    assert event_ids(reordered).iloc[::-1].tolist() == ids.tolist()
    key = pd.Series([f"{t}|{m}|{o}|{s}" for t, m, o, s in zip(
        frame["event_type"], frame["mmsi"], frame["other_mmsi"], frame["start_time"],
        strict=True)])
    assert (key.duplicated(keep=False).to_numpy() == ids.duplicated(keep=False).to_numpy()).all()


def test_event_ids_of_the_scenario_are_the_same_on_a_second_run():
    again = candidates(scenario_pings().copy())
    for event_type, expected in reference_candidates().items():
        assert again[event_type]["event_id"].tolist() == expected["event_id"].tolist()


# ---------------------------------------------------------------- scores

@functools.cache
def shipped_models() -> scoring.Models:
    return scoring.load(DEFAULT_MODELS, FEATURES)


ANY_FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(),
                      st.integers(-(10**12), 10**12))


@FEW
@given(event_type=st.sampled_from(sorted(FEATURES)), data=st.data())
def test_scores_are_always_between_0_and_1(event_type, data):
    feats = FEATURES[event_type]
    n = data.draw(st.integers(1, 6))
    rows = data.draw(st.lists(st.lists(ANY_FLOAT, min_size=len(feats), max_size=len(feats)),
                              min_size=n, max_size=n))
    frame = pd.DataFrame(rows, columns=list(feats), dtype="float64")
    scores = shipped_models().types[event_type].score(frame)
    assert len(scores) == n
    assert np.all((scores >= 0) & (scores <= 1))


# ---------------------------------------------------------------- the CSV round trip

CELL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
MAYBE_FLOAT = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def event_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 5))
    def column(strategy):
        return draw(st.lists(strategy, min_size=n, max_size=n))
    starts = column(st.datetimes(min_value=pd.Timestamp("2001-01-01").to_pydatetime(),
                                 max_value=pd.Timestamp("2099-01-01").to_pydatetime()))
    frame = pd.DataFrame({
        "event_id": column(st.from_regex(r"(LOI|DRK|MTG|IDC)-[0-9a-f]{12}", fullmatch=True)),
        "event_type": column(st.sampled_from(["loitering", "dark_period", "meetup",
                                              "identity_change"])),
        "mmsi": column(st.integers(200_000_000, 799_999_999)),
        "other_mmsi": pd.array(column(st.one_of(st.none(), st.integers(200_000_000,
                                                                       799_999_999))),
                               dtype="Int64"),
        "start_time": pd.to_datetime(starts, utc=True),
        "duration_h": column(MAYBE_FLOAT),
        "lat": column(st.floats(-89.9, 89.9)), "lon": column(st.floats(-180, 180)),
        "anomaly_score": column(st.floats(0, 1)),
        "reason": column(CELL_TEXT), "vessel_name": column(CELL_TEXT),
        "other_vessel_name": column(CELL_TEXT), "callsign": column(CELL_TEXT),
        "context": column(CELL_TEXT),
    })
    frame["end_time"] = frame["start_time"] + pd.to_timedelta(
        frame["duration_h"].fillna(1.0), unit="h")
    return frame


def _read_back(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _as_written(events: pd.DataFrame) -> pd.DataFrame:
    """What the rows should read back as: the formatted frame, as text, empty -> missing."""
    frame = format_events(events)
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_float_dtype(values):  # compared as numbers, see below
            out[col] = values.astype(float)
            continue
        text = ["" if pd.isna(v) else str(v) for v in values.astype(object)]
        out[col] = pd.Series([np.nan if t == "" else t for t in text], index=frame.index,
                             dtype=object)
    return out


def _one_event(**text: str) -> pd.DataFrame:
    return pd.DataFrame({"event_id": ["LOI-000000000000"], "event_type": ["loitering"],
                         "mmsi": [412000001], **{k: [v] for k, v in text.items()}})


@FEW
@given(events=event_frames())
@example(events=_one_event(vessel_name="SEA\rSTAR", reason="a\nb", context="x\u2028y"))
def test_the_csv_parses_back_to_the_same_rows(events):
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(events, Path(folder) / "flagged.csv")
        back = _read_back(path)
    assert list(back.columns) == list(CSV_COLUMNS + EXTRA_COLUMNS)
    assert len(back) == len(events)
    expected = _as_written(events)
    for col in expected.columns:
        if expected[col].dtype == float:
            back[col] = pd.to_numeric(back[col]).astype(float)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_index_type=False,
                                  rtol=1e-12)


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+2", "@SUM(A1)", "-2+3"])
def test_names_that_a_spreadsheet_would_run_as_formulas_are_written_as_text(tmp_path, name):
    back = _read_back(write_csv(_one_event(vessel_name=name, reason=name), tmp_path / "f.csv"))
    assert back.loc[0, "vessel_name"] == "'" + name
    assert back.loc[0, "reason"] == "'" + name


def test_line_breaks_in_broadcast_text_never_split_a_row(tmp_path):
    back = _read_back(write_csv(_one_event(vessel_name="SEA\rSTAR", reason="two\nlines"),
                                tmp_path / "f.csv"))
    assert len(back) == 1
    assert (back.loc[0, "vessel_name"], back.loc[0, "reason"]) == ("SEA STAR", "two lines")
