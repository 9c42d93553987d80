"""The benchmark's dense-day shape: one day, many vessels, reception order, known shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ais.synth.dense import dense_day, kinds_of
from ais.synth.world import AT_ANCHOR

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"


def test_dense_day_is_one_day_of_many_vessels_in_reception_order() -> None:
    pings = dense_day(50_000, seed=3)
    assert len(pings) == 50_000
    assert pings["mmsi"].nunique() == 50
    assert pings["timestamp"].is_monotonic_increasing  # by time, not grouped by vessel
    assert not pings["mmsi"].is_monotonic_increasing
    assert pings["timestamp"].dt.floor("D").nunique() == 1
    assert (kinds_of(1e7) == [5500, 3000, 1300, 200]).all()


def test_dense_day_anchored_ships_sit_still_and_pairs_lie_alongside() -> None:
    pings = dense_day(200_000, seed=4)
    anchored = pings[pings["nav_status"] == AT_ANCHOR]
    share = anchored["mmsi"].nunique() / pings["mmsi"].nunique()
    assert 0.29 <= share <= 0.31
    spread = anchored.groupby("mmsi")["lat"].agg(lambda x: x.max() - x.min())
    assert (spread < 0.01).all()  # within about a kilometre all day
    assert anchored["sog"].max() <= 0.3
    # the ship-to-ship pairs: some two vessels are within 200 m at the same minute, slow
    minute = pings.assign(m=pings["timestamp"].dt.floor("10min"))
    slow = minute[minute["sog"] < 0.5].groupby(["m", "mmsi"])[["lat", "lon"]].mean()
    slow = slow.reset_index()
    pairs = slow.merge(slow, on="m")
    pairs = pairs[pairs["mmsi_x"] < pairs["mmsi_y"]]
    close = (np.hypot(pairs["lat_x"] - pairs["lat_y"],
                      (pairs["lon_x"] - pairs["lon_y"]) * np.cos(np.radians(38.5))) < 0.002)
    assert pairs[close][["mmsi_x", "mmsi_y"]].drop_duplicates().shape[0] >= 1


def test_benchmark_prints_bytes_per_ping_on_the_dense_day(tmp_path) -> None:
    result_file = tmp_path / "r.json"
    out = subprocess.run(
        [sys.executable, str(BENCH), "--shape", "dense-day", "--rows", "20000", "--repeat", "1",
         "--no-movingpandas", "--everywhere", "--cache", str(tmp_path / "cache"), "--json",
         str(result_file)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("--everywhere on the dense-day shape" in line for line in lines)
    header = next(line for line in lines if line.split()[:3] == ["rows", "wall", "s"])
    assert "B/ping" in header and "state MB" in header
    run = json.loads(result_file.read_text())["sizes"]["20000"]
    assert run["bytes_per_ping"] == run["rss"] * 2**30 / 20000 > 0
    assert run["state_mb"] > 0
    assert pd.read_parquet(tmp_path / "cache" / "dense_20000.parquet")["timestamp"] \
        .is_monotonic_increasing
