"""One module per behaviour; each exposes ``detect(tracks, cfg) -> events`` and ``FEATURES``.

A module may also declare ``FOREST = False`` (scored by its own ``rule_score(events)``, with
its own ``reason(event)``), ``NEEDS`` (the types whose annotated candidates its
``detect(tracks, cfg, candidates)`` pairs, run after them) and ``link(events, candidates,
cfg)`` (facts from the other types' candidates, added after every detector ran).

``tracks`` is the output of :func:`ais.tracking.tracks.build_tracks` (sorted pings with ``track``,
``segment``, ``gap_before_h`` and ``step_km``); the result follows :mod:`ais.events`'
schema plus the detector's feature columns (units in their names). Detectors are pure: they
never modify their input, read files or print.
"""

from __future__ import annotations

from types import ModuleType

from ais.detectors import (
    dark_meetup,
    dark_period,
    identity_change,
    loitering,
    meetup,
    port_call,
)

#: event_type -> detector module (with ``detect`` and ``FEATURES``).
REGISTRY: dict[str, ModuleType] = {
    "loitering": loitering,
    "dark_period": dark_period,
    "meetup": meetup,
    "identity_change": identity_change,
    "port_call": port_call,
    "dark_meetup": dark_meetup,
}


def uses_forest(event_type: str) -> bool:
    """Types scored by an isolation forest; the others (``FOREST = False``) by their module's
    documented ``rule_score``."""
    return bool(getattr(REGISTRY[event_type], "FOREST", True))


def needs(event_type: str) -> tuple[str, ...]:
    """Types whose candidates this one pairs (it runs after them, with their candidates)."""
    return tuple(getattr(REGISTRY[event_type], "NEEDS", ()))
