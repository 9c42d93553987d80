"""All tunable values in one place: frozen, validated dataclasses with documented defaults.

A TOML file overrides them section by section (``[tracks]``, ``[loitering]``, ...); unknown
keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ais.errors import ConfigError


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not value > 0:
            raise ConfigError(f"[{_section(obj)}] {name} must be > 0, got {value!r}")


def _section(obj: object) -> str:
    return getattr(obj, "SECTION", type(obj).__name__)


@dataclass(frozen=True)
class CleanConfig:
    """Row-level validity rules applied at ingest.

    Attributes:
        earliest: pings before this UTC time are dropped (AIS carriage began ~2002).
        latest: pings at or after this UTC time are dropped (clock faults, e.g. year 2100).
    """

    SECTION = "clean"
    earliest: str = "2000-01-01T00:00:00Z"
    latest: str = "2100-01-01T00:00:00Z"


@dataclass(frozen=True)
class TrackConfig:
    """How one MMSI's pings become tracks (one per physical ship) and segments.

    Attributes:
        max_speed_kn: a step faster than this over more than ``jump_tolerance_km`` cannot be
            the same ship (GFW's segmenter uses 25-30 kn; we allow fast craft up to 50 kn).
        jump_tolerance_km: steps shorter than this are always plausible (GPS noise,
            near-simultaneous reports).
        lookback_pings: how many earlier pings of the MMSI a ping may attach to directly.
        lookback_h: how far back a ping that starts a new fragment looks for its ship.
        gap_h: a silence longer than this splits a track into segments (movingpandas'
            ``ObservationGapSplitter`` semantics: split where the time step is > gap).
    """

    SECTION = "tracks"
    max_speed_kn: float = 50.0
    jump_tolerance_km: float = 5.0
    lookback_pings: int = 6
    lookback_h: float = 48.0
    gap_h: float = 1.0

    def __post_init__(self) -> None:
        _positive(self, "max_speed_kn", "jump_tolerance_km", "lookback_pings", "lookback_h",
                  "gap_h")


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``Config()`` is the documented default."""

    clean: CleanConfig = field(default_factory=CleanConfig)
    tracks: TrackConfig = field(default_factory=TrackConfig)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}"
            )
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            kwargs[key] = _build(type(default), value, f"{where}.{key}")
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML file over the defaults; ``None`` gives the defaults.

    Raises:
        ConfigError: the file is missing, is not TOML, or has unknown keys or bad values.
    """
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return _build(Config, data, str(path))
