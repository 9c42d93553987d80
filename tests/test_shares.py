"""Workers read their own share of the input (ais scan --cluster): the shares, read and put
back together in one process, are the one read, row for row (ais/runtime/shares.py)."""

from __future__ import annotations

import pandas as pd

from ais.config import Config
from ais.inputs.ingest import ingest
from ais.nightly.carry import combine
from ais.runtime import shares as sh
from ais.tracking.tracks import build_tracks

from .conftest import FIXTURES

NAMPO, NAJIN = FIXTURES / "nampo_day.parquet", FIXTURES / "najin_day.parquet"
QUICKSTART = FIXTURES / "quickstart.parquet"


def test_three_shares_of_a_read_add_up_to_the_one_read_and_its_tracks():
    cfg = Config()
    one = ingest([QUICKSTART], cfg.clean)
    reads = [sh.read_share([QUICKSTART], cfg, k, 3, False, None) for k in range(3)]
    assert sh.same_files([r.report for r in reads])
    assert sh.combine_reports([r.report for r in reads]) == one.report
    assert all(len(r.pings) > 2_000 for r in reads)  # each share holds some of the vessels
    for k, r in enumerate(reads):
        assert set(sh.share_of(r.pings["mmsi"].to_numpy(), 3)) == {k}
    frames = [sh.share_tracks(r, None, cfg) for r in reads]
    categories = sh.categories_of(frames)
    expected = build_tracks(one.pings, cfg.tracks)
    pd.testing.assert_frame_equal(sh.whole(frames, categories), expected)
    # as the client puts them together: one column of every share at a time
    fetched: list[str] = []

    def fetch(name):
        fetched.append(name)
        return [f[name] for f in frames]

    pd.testing.assert_frame_equal(sh.assemble(fetch, list(expected.columns), categories),
                                  expected)
    assert fetched == ["mmsi", *expected.columns]


def test_each_shares_carry_goes_before_its_pings_as_the_whole_carry_does():
    """The pings a state carried, split by share and put before each share's: the tracks of
    the carry put before the whole night (text columns on the union of both's values)."""
    cfg = Config()
    carried = ingest([NAJIN], cfg.clean).pings
    carried = carried[carried["timestamp"] < carried["timestamp"].min() + pd.Timedelta("3h")]
    tonight = ingest([NAMPO], cfg.clean).pings
    expected = build_tracks(combine(carried, tonight), cfg.tracks)
    share = sh.share_of(carried["mmsi"].to_numpy(), 2)
    frames = [sh.share_tracks(sh.read_share([NAMPO], cfg, k, 2, False, None),
                              carried[share == k].reset_index(drop=True), cfg)
              for k in range(2)]
    pd.testing.assert_frame_equal(sh.whole(frames, sh.categories_of(frames)), expected)


def test_a_share_cut_into_partitions_and_put_back_is_the_partition_of_the_whole():
    cfg = Config()
    tracks = [sh.share_tracks(sh.read_share([QUICKSTART], cfg, k, 2, False, None), None, cfg)
              for k in range(2)]
    categories = sh.categories_of(tracks)
    everything = sh.whole(list(tracks), categories)
    mmsi = everything["mmsi"].drop_duplicates()
    part_of = pd.Series((mmsi.to_numpy() // 7) % 3, index=mmsi.to_numpy())
    pieces = [sh.split(t, part_of, 3) for t in tracks]
    key = part_of.reindex(everything["mmsi"].to_numpy()).to_numpy()
    for k in range(3):
        pd.testing.assert_frame_equal(sh.whole([p[k] for p in pieces], categories),
                                      everything[key == k].reset_index(drop=True))


def test_files_read_once_by_runs_and_cleaned_by_share_are_each_shares_read():
    """Each file read once (runs of files, each run's rows cut by share), then each share
    cleaned from its rows of every run: the same pings and report as the share read from
    every file (ingest(share=...)), whichever run a file fell in."""
    cfg = Config()
    files = [str(QUICKSTART), str(NAMPO)]
    runs = sh.file_runs(files, [1, 1], 2)
    assert runs == [[str(QUICKSTART)], [str(NAMPO)]]
    parts = [sh.read_part(run, cfg, 2, False, None) for run in runs]
    for k in range(2):
        got = sh.clean_share([sh.table_of(p, k) for p in parts],
                             [sh.report_of(p) for p in parts], cfg)
        want = sh.read_share(files, cfg, k, 2, False, None)
        pd.testing.assert_frame_equal(got.pings, want.pings)
        assert got.report == want.report
        assert got.report.rows_out > 10_000


def test_file_runs_balance_bytes_and_never_leave_a_run_empty():
    assert sh.file_runs(["a", "b", "c", "d"], [100, 1, 1, 100], 2) == [["a", "b"], ["c", "d"]]
    assert sh.file_runs(["a", "b"], [5, 5], 4) == [["a"], ["b"]]
