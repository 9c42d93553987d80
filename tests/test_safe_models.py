"""Model files are data: a pickle, a tampered skops file, a foreign or stale model is refused
with a clear error, and loading never runs code from the file."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from click.testing import CliRunner

from ais.cli import main
from ais.errors import ModelError
from ais.judging import scoring
from ais.pipeline import DEFAULT_MODELS, FEATURES

from .conftest import FIXTURES

QUICK = FIXTURES / "quickstart.parquet"


class Touch:
    """Unpickling or un-skopsing this creates a marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).touch()


def models_dir(tmp_path: Path, content: bytes) -> Path:
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    (folder / scoring.MODEL_FILE).write_bytes(content)
    return folder


def scan_with(tmp_path: Path, folder: Path):
    out = tmp_path / "flagged.csv"
    result = CliRunner().invoke(main, ["scan", str(QUICK), "-o", str(out), "--models",
                                       str(folder)])
    return result, out


def shipped_model_bytes() -> bytes:
    return (DEFAULT_MODELS / scoring.MODEL_FILE).read_bytes()


def test_a_pickle_whose_reduce_runs_a_command_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    folder = models_dir(tmp_path, pickle.dumps(Touch(str(marker))))
    result, out = scan_with(tmp_path, folder)
    assert result.exit_code == 1
    assert "is not a readable ais model file" in result.output
    assert "retrain with `ais train`" in result.output
    assert not marker.exists() and not out.exists()


def test_a_skops_file_holding_an_untrusted_type_is_refused_before_anything_is_built(tmp_path):
    marker = tmp_path / "pwned"
    payload = {"format": 1, "meta_json": "{}", "types": {"loitering": Touch(str(marker))}}
    path = tmp_path / "evil.skops"
    sio.dump(payload, path)
    folder = models_dir(tmp_path, path.read_bytes())
    result, out = scan_with(tmp_path, folder)
    assert result.exit_code == 1
    [line] = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert line == (f"Error: {folder / scoring.MODEL_FILE} holds types we do not trust "
                    "(tests.test_safe_models.Touch); refusing to load it. Retrain with "
                    "`ais train`.")
    assert not marker.exists() and not out.exists()


def _rewrite_member(content: bytes, tmp_path: Path, member: str, edit) -> bytes:
    src, dst = tmp_path / "src.zip", tmp_path / "dst.zip"
    src.write_bytes(content)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, edit(data) if item.filename == member else data)
    return dst.read_bytes()


def test_a_schema_tampered_to_name_os_system_is_refused(tmp_path):
    def swap(schema: bytes) -> bytes:
        text = schema.decode()
        assert "sklearn.tree._tree" in text
        return text.replace('"__module__": "sklearn.tree._tree"', '"__module__": "os"') \
                   .replace('"__class__": "Tree"', '"__class__": "system"').encode()

    folder = models_dir(tmp_path, _rewrite_member(shipped_model_bytes(), tmp_path,
                                                  "schema.json", swap))
    result, out = scan_with(tmp_path, folder)
    assert result.exit_code == 1
    assert "holds types we do not trust (os.system)" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:100] + bytes(200) + b[300:], id="bytes-zeroed"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"not a model at all\n", id="text"),
        pytest.param(lambda b: json.dumps({"types": {}}).encode(), id="json"),
    ],
)
def test_a_damaged_model_file_is_refused_with_a_clear_error(tmp_path, damage):
    folder = models_dir(tmp_path, damage(shipped_model_bytes()))
    result, out = scan_with(tmp_path, folder)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {folder / scoring.MODEL_FILE} is not a readable "
                                    "ais model file (")
    assert result.output.rstrip().endswith("retrain with `ais train`")
    assert not out.exists()


def test_a_skops_file_from_another_program_is_refused(tmp_path):
    path = tmp_path / "other.skops"
    sio.dump([1.0, 2.0, {"a": 3}], path)
    with pytest.raises(ModelError, match="a skops file but not an ais model file"):
        scoring.load(models_dir(tmp_path, path.read_bytes()), FEATURES)


def test_a_model_trained_on_another_feature_set_is_refused_by_the_scan(tmp_path):
    other = dict(FEATURES)
    other["meetup"] = tuple(f for f in FEATURES["meetup"] if f != FEATURES["meetup"][-1]) + (
        "feature_from_another_version",)
    models = scoring.fit({}, other, seed=1)
    folder = tmp_path / "stale"
    scoring.save(models, folder)
    result, out = scan_with(tmp_path, folder)
    assert result.exit_code == 1
    assert f"Error: {folder / scoring.MODEL_FILE}: the meetup model was trained on features" \
        in result.output
    assert "feature_from_another_version" in result.output
    assert result.output.rstrip().endswith("retrain with `ais train`")
    assert not out.exists()


def test_a_model_whose_forest_is_another_estimator_is_refused(tmp_path):
    from sklearn.tree import ExtraTreeRegressor

    payload = sio.load(DEFAULT_MODELS / scoring.MODEL_FILE,
                       trusted=sio.get_untrusted_types(file=DEFAULT_MODELS / scoring.MODEL_FILE))
    payload["types"]["loitering"]["forest"] = ExtraTreeRegressor()
    path = tmp_path / "swapped.skops"
    sio.dump(payload, path)
    with pytest.raises(ModelError, match="the loitering model is a ExtraTreeRegressor"):
        scoring.load(models_dir(tmp_path, path.read_bytes()), FEATURES)


def test_a_model_replaced_after_a_scan_is_read_again(tmp_path):
    folder = models_dir(tmp_path, shipped_model_bytes())
    assert scoring.load(folder, FEATURES).types
    (folder / scoring.MODEL_FILE).write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelError, match="not a readable ais model file"):
        scoring.load(folder, FEATURES)
