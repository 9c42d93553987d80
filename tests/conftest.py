"""Shared test helpers: where the real samples live, and a way to write Parquet inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GFW = SHARED_DATA / "gfw-gpsdio-segment" / "positions.parquet"
MARINECADASTRE = SHARED_DATA / "marinecadastre-2022-01-03" / "AIS_2022_01_03_first99999.parquet"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Caches the scans keep between runs (the unpacked land grid) go to a folder of this
    test session, not the user's home."""
    import os

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


def need(path: Path) -> Path:
    """Skip the test with a reason when a shared real-data sample is absent."""
    if not path.exists():
        pytest.skip(f"real AIS sample {path} is absent (../shared/data not beside the repo)")
    return path


def write_parquet(path: Path, frame: pd.DataFrame | dict) -> Path:
    """Write a frame (or a dict of columns) to Parquet exactly as given."""
    table = pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def ping_frame(rows: list[tuple], columns: tuple[str, ...] = ("mmsi", "timestamp", "lat", "lon")
               ) -> pd.DataFrame:
    """Tiny canonical frame from tuples, timestamps as UTC."""
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def tracks_of(*parts) -> pd.DataFrame:
    """Tracks (as the detectors see them) from synth vessels, scenarios or ping frames,
    cleaned by the same code as real files."""
    from ais.inputs.ingest import ingest_frame
    from ais.tracking.tracks import build_tracks

    frames = [p if isinstance(p, pd.DataFrame) else p.pings() for p in parts]
    return build_tracks(ingest_frame(pd.concat(frames, ignore_index=True)).pings)
