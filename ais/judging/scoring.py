"""Isolation forests that score how unusual each candidate is against a baseline.

One ``sklearn.ensemble.IsolationForest`` per event type, fitted on the candidates that the
detectors found in a baseline window. Features are imputed with the baseline median and
non-negative heavy-tailed features are log1p-transformed (the forest cuts uniformly between a
feature's min and max, so a long tail would otherwise swallow every cut).

``anomaly_score`` is calibrated so one sorted list makes sense across types: it is the share
of the baseline's candidates of the same type that the forest found *less* unusual than this
one (the empirical CDF of the forest's raw score on the baseline). 0.95 means "more unusual
than 95% of what the baseline held".

Models are data: they are saved with skops (which never runs code from the file) together with
the feature names, baseline feature quantiles and score distribution, and metadata.
"""

from __future__ import annotations

import functools
import json
import zipfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ais.errors import ModelError
from ais.views.output import atomic_path

if TYPE_CHECKING:  # scikit-learn is imported where a forest is made or read (0.6 s)
    from sklearn.ensemble import IsolationForest

MODEL_FILE = "ais-forests.skops"
META_FILE = "ais-forests.json"
QUANTILES = np.linspace(0.0, 1.0, 101)
MIN_BASELINE = 8  # fewer baseline candidates than this cannot describe "usual"
_TRUSTED = [
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree",
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.random.mtrand.RandomState",
    "builtins.slice",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.core.multiarray._reconstruct",
    "collections.OrderedDict",
]


def default_models_dir() -> Path:
    """The shipped default forests: ``ais/default_models`` inside an installed wheel (the
    build maps the top-level ``models/`` folder there, see pyproject.toml), else the
    top-level ``models/`` of the source checkout this package runs from (an editable install
    or ``PYTHONPATH``)."""
    package = Path(__file__).resolve().parent.parent  # ais/, this module is in ais/judging
    shipped, checkout = package / "default_models", package.parent
    if not (shipped / MODEL_FILE).is_file() and (checkout / "pyproject.toml").is_file():
        return checkout / "models"
    return shipped


def _is_log_feature(name: str) -> bool:
    return name.endswith(("_h", "_km", "_m", "_kn", "_per_h")) or name.startswith("n_") \
        or name.startswith("neighbour")


@dataclass
class TypeModel:
    """The forest for one event type and the baseline facts it is judged against."""

    event_type: str
    features: list[str]
    forest: IsolationForest | None
    medians: np.ndarray
    feature_quantiles: np.ndarray  # (len(QUANTILES), n_features), raw feature units
    baseline_scores: np.ndarray  # sorted raw scores of the baseline candidates
    n_baseline: int

    def matrix(self, events: pd.DataFrame) -> np.ndarray:
        missing = [f for f in self.features if f not in events.columns]
        if missing:
            raise ModelError(
                f"the {self.event_type} model expects features {missing} that this version "
                "does not produce; retrain with `ais train`"
            )
        x = events[self.features].to_numpy(dtype=float, na_value=np.nan)
        x = np.where(np.isfinite(x), x, self.medians)
        x = np.clip(x, -1e30, 1e30)  # the trees compare in float32
        logs = np.array([_is_log_feature(f) for f in self.features])
        x[:, logs] = np.log1p(np.clip(x[:, logs], 0, None))
        return x

    def raw_scores(self, events: pd.DataFrame) -> np.ndarray:
        if self.forest is None:
            return np.zeros(len(events))
        return -self.forest.score_samples(self.matrix(events))

    def score(self, events: pd.DataFrame) -> np.ndarray:
        """Calibrated 0..1 score: share of baseline candidates less unusual than each event."""
        if self.forest is None or len(self.baseline_scores) == 0:
            return np.full(len(events), 0.5)
        raw = self.raw_scores(events)
        return np.searchsorted(self.baseline_scores, raw, side="right") / len(
            self.baseline_scores)

    def percentile_of(self, events: pd.DataFrame) -> np.ndarray:
        """Each feature value's percentile (0..1) in the baseline, NaN where missing."""
        x = events[self.features].to_numpy(dtype=float, na_value=np.nan)
        out = np.full(x.shape, np.nan)
        for j in range(x.shape[1]):  # loop over features, vectorised over events
            q = self.feature_quantiles[:, j]
            lo = np.searchsorted(q, x[:, j], side="left")
            hi = np.searchsorted(q, x[:, j], side="right")
            out[:, j] = np.where(np.isfinite(x[:, j]), (lo + hi) / 2 / len(q), np.nan)
        return out


def score(event_type: str, model: TypeModel, events: pd.DataFrame) -> np.ndarray:
    """The calibrated anomaly_score of ``events`` of one type: the forest's, or for types
    whose events are too rare for a forest, a documented rarity model on the same scale
    (identity changes: :mod:`ais.judging.identity_score`)."""
    if event_type == "identity_change":
        from ais.judging.identity_score import score as identity_score

        return identity_score(events)
    return model.score(events)


@dataclass
class Models:
    """All forests plus metadata (training window, counts, versions)."""

    types: dict[str, TypeModel] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def fit_type(event_type: str, features: tuple[str, ...], baseline: pd.DataFrame,
             seed: int) -> TypeModel:
    """Fit one forest on a baseline's candidates of one type."""
    feats = list(features)
    x_raw = (baseline[feats].to_numpy(dtype=float, na_value=np.nan) if len(baseline)
             else np.empty((0, len(feats))))
    with np.errstate(all="ignore"):
        medians = np.nan_to_num(np.nanmedian(x_raw, axis=0) if len(x_raw)
                                else np.zeros(len(feats)))
        quant = (np.nanquantile(x_raw, QUANTILES, axis=0) if len(x_raw)
                 else np.full((len(QUANTILES), len(feats)), np.nan))
    model = TypeModel(event_type, feats, None, medians, quant, np.array([]), len(baseline))
    if len(baseline) < MIN_BASELINE:
        return model
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=100, max_samples=min(256, len(baseline)),
                             random_state=seed)
    forest.fit(model.matrix(baseline))
    model.forest = forest
    model.baseline_scores = np.sort(model.raw_scores(baseline))
    return model


def fit(candidates: dict[str, pd.DataFrame], features: dict[str, tuple[str, ...]], seed: int,
        meta: dict | None = None) -> Models:
    """Fit a forest per type; ``candidates`` maps event type to its baseline candidates."""
    types = {t: fit_type(t, features[t], candidates.get(t, pd.DataFrame(columns=features[t])),
                         seed) for t in features}
    info = dict(meta or {})
    info.update({
        "features": {t: list(f) for t, f in features.items()},
        "baseline_candidates": {t: int(m.n_baseline) for t, m in types.items()},
        "seed": seed,
        "versions": {p: version(p) for p in ("ais", "scikit-learn", "numpy", "skops")},
    })
    return Models(types, info)


def save(models: Models, directory: str | Path) -> Path:
    """Write the forests (skops) and a readable JSON sidecar, each atomically."""
    import skops.io as sio

    directory = Path(directory)
    payload = {
        "format": 1,
        "meta_json": json.dumps(models.meta, sort_keys=True),
        "types": {
            t: {"features": m.features, "forest": m.forest, "medians": m.medians,
                "feature_quantiles": m.feature_quantiles, "baseline_scores": m.baseline_scores,
                "n_baseline": m.n_baseline}
            for t, m in models.types.items()
        },
    }
    with atomic_path(directory / MODEL_FILE) as tmp:
        sio.dump(payload, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with atomic_path(directory / META_FILE) as tmp:
        tmp.write_text(json.dumps(models.meta, indent=2, sort_keys=True) + "\n")
    return directory / MODEL_FILE


def load(directory: str | Path, expected: dict[str, tuple[str, ...]]) -> Models:
    """Load forests saved by :func:`save`; never executes code from the file.

    Raises:
        ModelError: the file is missing, not a skops file, holds types outside our trusted
            list, or was trained on other features than ``expected`` (retrain).
    """
    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"no model file {path}; run `ais train` or omit --models")
    stat = path.stat()
    models = _load_checked(str(path), stat.st_mtime_ns, stat.st_size,
                           tuple((t, tuple(f)) for t, f in expected.items()))
    return Models(dict(models.types), dict(models.meta))


@functools.lru_cache(maxsize=4)
def _load_checked(file: str, mtime_ns: int, size: int,
                  expected_items: tuple[tuple[str, tuple[str, ...]], ...]) -> Models:
    """Load and check once per file version (a process that scans again reuses it)."""
    import skops.io as sio

    path, expected = Path(file), dict(expected_items)
    try:
        untrusted = sio.get_untrusted_types(file=path)
        extra = sorted(set(untrusted) - set(_TRUSTED))
        if extra:
            raise ModelError(f"{path} holds types we do not trust ({', '.join(extra)}); "
                             "refusing to load it. Retrain with `ais train`.")
        payload = sio.load(path, trusted=untrusted)
    except ModelError:
        raise
    except Exception as exc:  # skops raises many kinds on a foreign or damaged file
        raise ModelError(f"{path} is not a readable ais model file ({exc}); "
                         "retrain with `ais train`") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("types"), dict):
        raise ModelError(f"{path} is a skops file but not an ais model file (no forests per "
                         "event type); retrain with `ais train`")
    try:
        return _unpack(path, payload, expected)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path} is not a readable ais model file (damaged entry: {exc!r}); "
                         "retrain with `ais train`") from exc


def _unpack(path: Path, payload: dict, expected: dict[str, tuple[str, ...]]) -> Models:
    from sklearn.ensemble import IsolationForest

    types: dict[str, TypeModel] = {}
    for t, feats in expected.items():
        entry = payload["types"].get(t)
        if entry is None or list(entry["features"]) != list(feats):
            raise ModelError(
                f"{path}: the {t} model was trained on features "
                f"{None if entry is None else list(entry['features'])}, this version uses "
                f"{list(feats)}; retrain with `ais train`"
            )
        types[t] = TypeModel(t, list(feats), entry["forest"], np.asarray(entry["medians"]),
                             np.asarray(entry["feature_quantiles"]),
                             np.asarray(entry["baseline_scores"]), int(entry["n_baseline"]))
        if types[t].forest is not None and not isinstance(types[t].forest, IsolationForest):
            raise ModelError(f"{path}: the {t} model is a {type(types[t].forest).__name__}, "
                             "not an IsolationForest; retrain with `ais train`")
    return Models(types, json.loads(payload.get("meta_json", "{}")))
