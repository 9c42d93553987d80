"""One module per behaviour; each exposes ``detect(tracks, cfg) -> events`` and ``FEATURES``.

``tracks`` is the output of :func:`ais.tracks.build_tracks` (sorted pings with ``track``,
``segment``, ``gap_before_h`` and ``step_km``); the result follows :mod:`ais.events`'
schema plus the detector's feature columns (units in their names). Detectors are pure: they
never modify their input, read files or print.
"""

from __future__ import annotations

from types import ModuleType

from ais.detectors import dark_period, identity_change, loitering, meetup

#: event_type -> detector module (with ``detect`` and ``FEATURES``).
REGISTRY: dict[str, ModuleType] = {
    "loitering": loitering,
    "dark_period": dark_period,
    "meetup": meetup,
    "identity_change": identity_change,
}
