"""One module per behaviour, each a :class:`Detector`; :data:`REGISTRY` lists them.

Adding a behaviour is one module that satisfies :class:`Detector` and one line in
:data:`REGISTRY`: the pipeline, the scoring, the reasons, the ids, the maps, the exports and
the report ask the module, never switch on its name (``tests/test_protocol.py`` shows it with
a toy detector).

``tracks`` is the output of :func:`ais.tracking.tracks.build_tracks` (sorted pings with
``track``, ``segment``, ``gap_before_h`` and ``step_km``); a detector's result follows
:mod:`ais.events`' schema plus its feature columns (units in their names). Detectors are
pure: they never modify their input, read files or print.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ais.config import Config
from ais.detectors import (
    dark_meetup,
    dark_period,
    identity_change,
    loitering,
    meetup,
    port_call,
)


class Detector(Protocol):
    """What every behaviour's module declares (a module satisfies it by its names).

    Optional hooks, used when a module has them: ``rule_score(events) -> scores`` (a type
    with ``FOREST = False`` is scored by it), ``annotate(found, tracks, cfg)`` (facts added to
    the candidates from the tracks, e.g. the ports a dark vessel could have reached),
    ``link(events, candidates, cfg)`` and ``link_back(candidates, events)`` (facts shared with
    the other types' candidates after every detector ran), ``partners(candidates, cfg)`` (rows
    kept from one night to the next for it to pair with) with ``PARTNER_LINK`` (the columns of
    its rows naming the kept row paired with and that row's vessel: :func:`partner_columns`).
    """

    #: the ``event_type`` of its rows, the prefix of their ids (``LOI-...``)
    EVENT_TYPE: str
    ID_PREFIX: str
    #: the columns its forest reads (empty for rule-scored types)
    FEATURES: tuple[str, ...]
    #: scored by an isolation forest (else by its ``rule_score``)
    FOREST: bool
    #: the types whose candidates it pairs (it runs after them, given their candidates)
    NEEDS: tuple[str, ...]
    #: at sea by definition: a candidate on land or at a berth is a wait
    AT_SEA: bool
    #: its events' colour (maps, exports, report) and what ``other_mmsi`` is to it
    COLOUR: str
    OTHER_ROLE: str

    def detect(self, tracks: pd.DataFrame, cfg: Config, *args: Any, **kwargs: Any
               ) -> pd.DataFrame:
        """Its candidates (see the module docstring). A type found from the tracks takes
        ``window``: the span and extent of the whole scan's data
        (:func:`ais.tracking.coverage.data_window`), never inferred from ``tracks``, so that
        a partition of a larger scan answers as the whole would; a paired type takes the
        other types' candidates."""

    def decisive(self, events: pd.DataFrame, cfg: Config) -> np.ndarray:
        """Which events its rule alone flags, whatever the score says."""

    def reason(self, ev: pd.Series) -> str:
        """One sentence for an analyst, with numbers and units."""


#: event_type -> detector module.
REGISTRY: dict[str, Detector] = {
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
    return bool(REGISTRY[event_type].FOREST)


def needs(event_type: str) -> tuple[str, ...]:
    """Types whose candidates this one pairs (it runs after them, with their candidates)."""
    return tuple(REGISTRY[event_type].NEEDS)


def partner_columns() -> dict[str, tuple[str, str]]:
    """event_type -> (column naming the kept row an event pairs with, column naming that row's
    vessel), for the types that declare ``PARTNER_LINK``: the kept row's pings are stored with
    the event (:func:`ais.nightly.carry.with_partner_pings`)."""
    return {t: tuple(d.PARTNER_LINK) for t, d in REGISTRY.items()
            if hasattr(d, "PARTNER_LINK")}


def other_role(event_type: str) -> str:
    """What ``other_mmsi`` is to an event of this type ("other vessel" when not declared)."""
    d = REGISTRY.get(event_type)
    return (d.OTHER_ROLE if d is not None else "") or "other vessel"
