"""Checks of configuration values: every field's type and range, one message per problem.

A configuration dataclass calls :func:`check_fields` from ``__post_init__``. Its fields' types
come from their annotations (``float``, ``int``, ``bool``, ``str``, ``str | None``); numbers
must be finite and, unless the class's ``LIMITS`` says otherwise, greater than 0.
``LIMITS = {"name": (lo, hi)}`` allows ``lo <= value <= hi`` (``None``: unbounded). The
message names the section, the key, the value as it would be written in TOML, and the fix;
:func:`ais.config.load_config` puts the file's name in front.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

from ais.errors import ConfigError


def toml_value(value: Any) -> str:
    """``value`` as it would be written in a TOML file (``"false"`` for a string, ``false``
    for a boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def label(obj: object) -> str:
    """How a message names the table ``obj`` came from: ``[dark_period]``, or
    ``[[places]] "Vostochny port"`` for an entry of an array of tables."""
    section = getattr(obj, "SECTION", type(obj).__name__)
    if section in ("places", "areas"):
        return f"[[{section}]] {json.dumps(str(getattr(obj, 'name', '?')))}"
    return f"[{section}]"


def _base(typ: Any) -> tuple[type, bool]:
    """The plain type of an annotation and whether None is allowed (``str | None``)."""
    if isinstance(typ, types.UnionType) or typing.get_origin(typ) is typing.Union:
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        return (args[0] if len(args) == 1 else object), True
    return typ, False


def coerce(value: Any, typ: Any, where: str, key: str) -> Any:
    """``value`` (from TOML) as the annotated type, or a ConfigError naming the key and the
    fix: a number written as text, a boolean written as text, text where a number belongs."""
    base, optional = _base(typ)
    if value is None and optional:
        return None
    shown = f"{where} {key} = {toml_value(value)}"
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{shown}: must be true or false, a TOML boolean without quotes "
                              f"(write {key} = false)")
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{shown}: must be a whole number without quotes "
                              f"(e.g. {key} = 3)")
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{shown}: must be a number without quotes (e.g. {key} = 2.5)")
        return value  # an int is a float here (kept as written, for the messages)
    if base is str:
        if not isinstance(value, str):
            raise ConfigError(f"{shown}: must be text in quotes (e.g. {key} = \"...\")")
        return value
    return value


def check_fields(obj: object) -> None:
    """Check every field of the dataclass ``obj`` against its annotation and ``LIMITS``.

    Raises:
        ConfigError: naming the table, the key, the value and the fix.
    """
    cls = type(obj)
    hints = typing.get_type_hints(cls)
    limits: dict[str, tuple[float | None, float | None]] = getattr(cls, "LIMITS", {})
    where = label(obj)
    if not dataclasses.is_dataclass(cls):  # what dataclasses.fields would raise
        raise TypeError("must be called with a dataclass type or instance")
    for f in dataclasses.fields(cls):
        value = getattr(obj, f.name)
        base, optional = _base(hints[f.name])
        if base not in (bool, int, float, str):
            continue
        coerce(value, hints[f.name], where, f.name)  # the type, whoever built it
        if value is None or base not in (int, float):
            continue
        if isinstance(f.default, float) and math.isnan(f.default) and math.isnan(value):
            continue  # "unknown", where that is the default (a place's uncertainty)
        shown = f"{where} {f.name} = {toml_value(value)}"
        if f.name in limits:
            lo, hi = limits[f.name]
            if (not math.isfinite(value) or (lo is not None and value < lo)
                    or (hi is not None and value > hi)):
                raise ConfigError(f"{shown}: must be {_range_text(lo, hi)}; "
                                  f"{_fix(cls, f)}")
        elif not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{shown}: must be a number greater than 0; {_fix(cls, f)}")


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    if lo is not None:
        return f"at least {lo:g}"
    return f"at most {hi:g}" if hi is not None else "a finite number"


def _fix(cls: type, f: dataclasses.Field) -> str:
    hint = getattr(cls, "HINTS", {}).get(f.name)
    if hint:
        return hint
    if f.default is not dataclasses.MISSING:
        return f"the default is {f.name} = {toml_value(f.default)}"
    return "see the README's configuration section"
