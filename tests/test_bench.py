"""The speed benchmark keeps working: bench/run.py end to end at a tiny size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"


@pytest.mark.slow  # the suite stays under 5 min on 2 cores; `pytest -m slow` runs it
def test_benchmark_script_prints_the_table_at_a_tiny_size(tmp_path):
    result_file = tmp_path / "results.json"
    out = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "3000", "--repeat", "1", "--mp-rows", "1000",
         "--month", "--month-rows", "4000", "--month-days", "2", "--memory-limit", "1GB",
         "--cache", str(tmp_path / "cache"), "--json", str(result_file)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(line for line in lines if line.split()[:3] == ["rows", "wall", "s"])
    assert {"ingest", "tracks", "loitering", "meetup", "scoring", "output"} <= set(
        header.split())
    assert any(line.split()[0] == "3,000" for line in lines)
    assert any("extrapolated linearly" in line for line in lines)
    assert any(line.startswith("month: 4,000 pings, 2 day partitions") for line in lines)

    results = json.loads(result_file.read_text())
    run = results["sizes"]["3000"]
    assert run["wall"] > 0 and run["rss"] > 0
    assert 0 < run["total"] <= run["wall"]  # stages may overlap (threads); their span may not
    assert results["movingpandas"]["pings"] <= 3000 and results["movingpandas"]["ratio"] > 0
    assert sorted(p.name for p in (tmp_path / "cache" / "month_4000_2d").iterdir()) == [
        "day=2026-01-05", "day=2026-01-06"]


@pytest.mark.slow  # starts a Dask LocalCluster inside each scan
def test_benchmark_scans_again_on_a_cluster_and_counts_the_workers_memory(tmp_path):
    result_file = tmp_path / "results.json"
    out = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "3000", "--repeat", "1", "--no-movingpandas",
         "--cluster", "local:1", "--cache", str(tmp_path / "cache"),
         "--json", str(result_file)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert any("--cluster local:1 on the default shape" in line
               for line in out.stdout.splitlines())
    results = json.loads(result_file.read_text())
    alone, clustered = results["sizes"]["3000"], results["cluster"]["3000"]
    # a worker process imports the same libraries as the scan: together they hold more
    assert clustered["rss"] > alone["rss"] > 0
    assert clustered["stages"]["loitering"] > 0
