"""Config files as users write them: the README's examples load, every bad value is one
``Error:`` line naming the file, the key and the fix, and watch areas drawn as GeoJSON use
every polygon and hole they hold."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ais.cli import main
from ais.config import Config, load_config
from ais.errors import ConfigError
from ais.geography.geo import watch_area
from ais.geography.places import DEFAULT_AREAS, DEFAULT_PLACES

from .conftest import FIXTURES

README = Path(__file__).resolve().parents[1] / "README.md"


def write(tmp_path: Path, text: str, name: str = "ais.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_toml_block_in_the_readme_loads(tmp_path):
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README shows a --config example"
    for i, block in enumerate(blocks):
        cfg = load_config(write(tmp_path, block, f"readme{i}.toml"))
        assert isinstance(cfg, Config)


def test_the_readme_example_adds_its_area_and_port_to_the_defaults(tmp_path):
    (block,) = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[:1]
    cfg = load_config(write(tmp_path, block))
    assert cfg.dark_period.rule_min_gap_h == 8
    assert [a.name for a in cfg.areas] == ["Nampo", "Najin", "Vostochny"]
    port = cfg.places[-1]
    assert (port.name, port.kind, port.radius_km, port.source) == (
        "Vostochny port", "port", 5, "World Port Index")
    assert cfg.places[:-1] == DEFAULT_PLACES
    # a point 30 km from Vostochny is in its 60 km circle
    assert watch_area(np.array([42.74 + 0.27]), np.array([133.08]), cfg.areas)[0] == "Vostochny"


def test_default_areas_false_keeps_only_the_files_areas(tmp_path):
    cfg = load_config(write(tmp_path, 'default_areas = false\n[[areas]]\nname = "A"\n'
                                      "lat = 10.0\nlon = 20.0\nradius_km = 5\n"))
    assert [a.name for a in cfg.areas] == ["A"] and cfg.places == ()


def test_a_scan_with_the_readme_config_runs(tmp_path):
    (block,) = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[:1]
    result = CliRunner().invoke(main, [
        "scan", str(FIXTURES / "quickstart.parquet"), "-o", str(tmp_path / "f.csv"),
        "--no-state", "-q", "--config", str(write(tmp_path, block))])
    assert result.exit_code == 0, result.output


SQUARE = [[124.0, 38.0], [126.0, 38.0], [126.0, 40.0], [124.0, 40.0], [124.0, 38.0]]
HOLE = [[124.8, 38.8], [125.2, 38.8], [125.2, 39.2], [124.8, 39.2], [124.8, 38.8]]
FAR = [[130.0, 42.0], [131.0, 42.0], [131.0, 43.0], [130.0, 43.0], [130.0, 42.0]]
BOWTIE = [[124.0, 38.0], [126.0, 40.0], [126.0, 38.0], [124.0, 40.0], [124.0, 38.0]]


def feature(rings: list) -> dict:
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": rings}}


def geojson_area(tmp_path: Path, geo: dict, extra: str = "") -> Path:
    (tmp_path / "area.geojson").write_text(json.dumps(geo))
    return write(tmp_path, 'default_areas = false\n[[areas]]\nname = "Drawn"\n'
                           f'geojson = "area.geojson"\n{extra}')


def test_a_geojson_area_uses_every_feature_and_its_holes(tmp_path):
    geo = {"type": "FeatureCollection", "features": [feature([SQUARE, HOLE]), feature([FAR])]}
    cfg = load_config(geojson_area(tmp_path, geo))
    lat = np.array([38.5, 39.0, 42.5, 41.0])
    lon = np.array([124.5, 125.0, 130.5, 128.0])
    # in the square; in its hole; in the second feature; in neither
    assert list(watch_area(lat, lon, cfg.areas)) == ["Drawn", "", "Drawn", ""]


def test_a_geojson_path_is_read_beside_the_config_file(tmp_path, monkeypatch):
    geo = {"type": "FeatureCollection", "features": [feature([SQUARE])]}
    path = geojson_area(tmp_path, geo)
    monkeypatch.chdir(tmp_path.parent)
    assert load_config(path).areas[0].name == "Drawn"


def test_an_inline_polygon_area_loads_and_is_used(tmp_path):
    cfg = load_config(write(tmp_path, 'default_areas = false\n[[areas]]\nname = "P"\n'
                                      f"polygon = {json.dumps(SQUARE[:-1])}\n"))
    assert list(watch_area(np.array([39.0, 41.0]), np.array([125.0, 125.0]), cfg.areas)) == [
        "P", ""]


BAD = {
    # case id: (config text, words the one Error line must hold besides the file name)
    "negative radius": ('[[areas]]\nname = "V"\nlat = 42.7\nlon = 133.0\nradius_km = -60\n',
                        ["radius_km = -60:", "between 0 and 5000", "--everywhere"]),
    "radius of a billion km": ('[[areas]]\nname = "V"\nlat = 42.7\nlon = 133.0\n'
                               "radius_km = 1e9\n", ["radius_km = 1000000000.0", "5000"]),
    "place without kind": ('[[places]]\nname = "P"\nlat = 42.7\nlon = 133.0\nradius_km = 5\n',
                           ["[[places]] #1 \"P\"", "kind"]),
    "place of an unknown kind": ('[[places]]\nname = "P"\nkind = "harbour"\nlat = 42.7\n'
                                 "lon = 133.0\nradius_km = 5\n",
                                 ['kind = "harbour"', "port, anchorage or sts_site"]),
    "latitude beyond the pole": ('[[places]]\nname = "P"\nkind = "port"\nlat = 142.7\n'
                                 "lon = 133.0\nradius_km = 5\n",
                                 ["lat = 142.7", "between -90 and 90"]),
    "decisive as a string": ('[scoring]\ndecisive = "false"\n',
                             ['[scoring] decisive = "false"', "without quotes"]),
    "min_neighbours in words": ('[dark_period]\nmin_neighbours = "three"\n',
                                ['min_neighbours = "three"', "whole number"]),
    "a threshold over 1": ("[scoring]\nthreshold = 1.5\n", ["threshold = 1.5", "between 0 and 1"]),
    "a negative gap": ("[dark_period]\nrule_min_gap_h = -6\n",
                       ["rule_min_gap_h = -6:", "greater than 0",
                        "the default is rule_min_gap_h = 6.0"]),
    "a speed that is not finite": ("[tracks]\nmax_speed_kn = inf\n", ["max_speed_kn = inf"]),
    "a negative drift allowance": ("[meetup]\nmax_fix_allowance_m = -100\n",
                                   ["max_fix_allowance_m = -100:", "between 0 and 5000"]),
    "unknown key": ("[meetup]\nmax_distance = 400\n", ["unknown key 'max_distance'",
                                                       "max_distance_m"]),
    "a section that is a value": ("loitering = 3\n", ["[loitering]", "table"]),
    "places as one table": ('[places]\nname = "P"\n', ["[[places]]"]),
    "since after until": ('[clean]\nsince = "2026-01-06"\nuntil = "2026-01-05"\n',
                          ["since 2026-01-06 is not before until 2026-01-05"]),
    "an area with no shape": ('[[areas]]\nname = "V"\nlat = 42.7\n', ["radius_km", "geojson"]),
    "default_areas as text": ('default_areas = "no"\n', ["default_areas", "true or false"]),
    "two areas of one name": ('[[areas]]\nname = "V"\nlat = 1.0\nlon = 2.0\nradius_km = 5\n'
                              '[[areas]]\nname = "V"\nlat = 3.0\nlon = 2.0\nradius_km = 5\n',
                              ['"V" is used twice']),
    "a polygon of two points": ('[[areas]]\nname = "V"\npolygon = [[1.0, 2.0], [3.0, 4.0]]\n',
                                ["polygon", "at least 3"]),
    "polygon points that are not pairs": ('[[areas]]\nname = "V"\npolygon = [1, 2, 3]\n',
                                          ["polygon", "[lon, lat]"]),
    "a seed that is text": ('seed = "abc"\n', ['seed = "abc"', "whole number"]),
}

BAD_GEOJSON = {
    "empty FeatureCollection": ({"type": "FeatureCollection", "features": []},
                                ["empty FeatureCollection"]),
    "self-intersecting polygon": ({"type": "FeatureCollection", "features": [feature([BOWTIE])]},
                                  ["not valid", "Self-intersection", "Fix geometries"]),
    "a point, not a polygon": ({"type": "Point", "coordinates": [125.0, 39.0]},
                               ["Polygon or MultiPolygon, not Point"]),
    "lat and lon swapped": ({"type": "Polygon", "coordinates": [[[38.0, 124.0], [40.0, 124.0],
                                                                 [40.0, 126.0], [38.0, 124.0]]]},
                            ["outside lon -180..180 / lat -90..90", "longitude first"]),
    "a feature without geometry": ({"type": "FeatureCollection",
                                    "features": [{"type": "Feature", "geometry": None}]},
                                   ["feature #1 has no geometry"]),
    "not JSON": ("this is not json", ["cannot read GeoJSON"]),
}


def assert_one_error_line(tmp_path: Path, path: Path, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for w in words:
        assert w in message, message
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "quickstart.parquet"), "-o",
                                       str(tmp_path / "f.csv"), "--no-state", "--config",
                                       str(path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("text, words", BAD.values(), ids=BAD.keys())
def test_a_bad_value_is_one_error_line_naming_the_file_the_key_and_the_fix(
        tmp_path, text, words):
    assert_one_error_line(tmp_path, write(tmp_path, text), words)


@pytest.mark.parametrize("geo, words", BAD_GEOJSON.values(), ids=BAD_GEOJSON.keys())
def test_a_bad_geojson_area_is_one_error_line(tmp_path, geo, words):
    if isinstance(geo, str):
        (tmp_path / "area.geojson").write_text(geo)
        path = write(tmp_path, '[[areas]]\nname = "Drawn"\ngeojson = "area.geojson"\n')
    else:
        path = geojson_area(tmp_path, geo)
    assert_one_error_line(tmp_path, path, ["area.geojson", *words])


def test_the_defaults_pass_their_own_checks():
    cfg = Config()
    assert cfg.areas == DEFAULT_AREAS and cfg.scoring.decisive is True
    assert isinstance(load_config(None), Config)


# ---------------------------------------------------------------- whatever a user writes

def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


SECTIONS = {  # every section of the config, whoever adds one
    name: list(type(value).__dataclass_fields__)
    for name, value in vars(Config()).items() if hasattr(value, "__dataclass_fields__")
}
PLACE_KEYS = ["name", "kind", "lat", "lon", "radius_km", "source", "uncertainty_km", "bogus"]
AREA_KEYS = ["name", "lat", "lon", "radius_km", "source", "polygon", "geojson"]

values = st.one_of(
    st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=12),
    st.sampled_from(["port", "anchorage", "sts_site", "2026-01-05", "8GB", "area.geojson",
                     "missing.geojson"]),
    st.lists(st.lists(st.floats(-200, 200), min_size=0, max_size=3), max_size=5),
    st.lists(st.integers(-5, 5), max_size=3),
)


@st.composite
def config_files(draw) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"default_areas = {_toml(draw(values))}")
    if draw(st.booleans()):
        lines.append(f"{draw(st.sampled_from(['seed', 'everywhere', 'bogus']))} = "
                     f"{_toml(draw(values))}")
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=3, unique=True)):
        lines.append(f"[{section}]")
        keys = SECTIONS[section] + ["bogus"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
            lines.append(f"{key} = {_toml(draw(values))}")
    for table, keys in (("places", PLACE_KEYS), ("areas", AREA_KEYS)):
        for _ in range(draw(st.integers(0, 2))):
            lines.append(f"[[{table}]]")
            for key in draw(st.lists(st.sampled_from(keys), max_size=6, unique=True)):
                lines.append(f"{key} = {_toml(draw(values))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=config_files())
def test_any_config_file_loads_or_raises_our_config_error(tmp_path, text):
    (tmp_path / "area.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [feature([SQUARE])]}))
    path = write(tmp_path, text)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc), str(exc)
        return
    # what loads is usable: every area answers for a point
    watch_area(np.array([39.0]), np.array([125.0]), cfg.areas)
