"""Route memory across nights: X shuttles Najin-Dunay on night 1, Y takes it over on night 2."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from ais.cli import main
from ais.synth.world import vessel
from tests.conftest import write_parquet

DUNAY = (42.885, 132.34)
NAJIN_PIERS = (42.2452, 130.3003)
DAY1 = pd.Timestamp("2026-01-05T00:00Z")
DAY2 = DAY1 + pd.Timedelta(days=1)
X, Y = 273451111, 273452222


def shuttle(mmsi: int, name: str, day: pd.Timestamp) -> pd.DataFrame:
    """Dunay -> Najin piers (4 h alongside) -> Dunay within one day."""
    v = vessel(mmsi, name, ship_type="cargo", start=day + pd.Timedelta(minutes=5), at=DUNAY,
               report_every_s=300)
    v.moor(hours=2).sail(to=NAJIN_PIERS, speed_kn=14).moor(hours=4).sail(
        to=DUNAY, speed_kn=14).moor(until=day + pd.Timedelta(hours=23, minutes=55))
    return v.pings()


def test_a_route_served_by_x_then_y_is_a_takeover_in_ys_port_call(tmp_path):
    n1 = write_parquet(tmp_path / "n1.parquet", shuttle(X, "ANGARA", DAY1))
    n2 = write_parquet(tmp_path / "n2.parquet", shuttle(Y, "MARIA", DAY2))
    state = tmp_path / "state.duckdb"
    runner = CliRunner()
    for src, out in ((n1, "n1.csv"), (n2, "n2.csv")):
        res = runner.invoke(main, ["scan", str(src), "-o", str(tmp_path / out), "--state",
                                   str(state), "-q"])
        assert res.exit_code == 0, res.output
    first = pd.read_csv(tmp_path / "n1.csv")
    calls1 = first[first["event_type"] == "port_call"]
    assert calls1[["previous_port", "next_port"]].values.tolist() == [["Dunay", "Dunay"]]
    assert calls1["reason"].str.contains("takes over").sum() == 0
    second = pd.read_csv(tmp_path / "n2.csv")
    call = second[(second["event_type"] == "port_call") & (second["mmsi"] == Y)].iloc[0]
    assert f"takes over Najin-Dunay from {X} (ANGARA), last seen 2026-01-05" in call["reason"]
    hist = runner.invoke(main, ["history", str(X), "--state", str(state)])
    assert "Najin-Dunay: 2 legs" in hist.output
