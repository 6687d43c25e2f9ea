"""In-process strategy registration for notebooks and scripts (no entry point needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_LOCAL: dict[str, type] = {}

T = TypeVar("T", bound=type)


def strategy_registry(cls_or_name: T | str | None = None) -> T | Callable[[T], T]:
    """Register a `TuneStrategy` subclass under its ``name`` (or the given name).

    Usable as ``@strategy_registry`` or ``@strategy_registry("my_name")``. An
    in-process registration wins over an installed plugin of the same name.
    """

    def decorate(cls: T, name: str | None = None) -> T:
        from inc_core.strategy.base import TuneStrategy

        if not (isinstance(cls, type) and issubclass(cls, TuneStrategy)):
            raise TypeError(f"strategy_registry: {cls!r} is not a TuneStrategy subclass")
        key = name or getattr(cls, "name", "") or _default_name(cls.__name__)
        if not key.isidentifier():
            raise ValueError(f"strategy_registry: name {key!r} must be an identifier")
        if not getattr(cls, "name", ""):
            cls.name = key
        _LOCAL[key] = cls
        return cls

    if isinstance(cls_or_name, str):
        return lambda cls: decorate(cls, cls_or_name)
    if cls_or_name is None:
        return decorate
    return decorate(cls_or_name)


def _default_name(class_name: str) -> str:
    """``BasicTuneStrategy`` -> ``basic`` (INC's naming convention)."""
    stem = class_name.removesuffix("TuneStrategy").removesuffix("Strategy") or class_name
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(stem))


def local_strategies() -> dict[str, type]:
    return dict(_LOCAL)


def unregister_strategy(name: str) -> None:
    """Remove an in-process registration (tests, notebooks)."""
    _LOCAL.pop(name, None)
