"""In-process strategy registration for notebooks and scripts (no entry point needed).

`strategy_registry` puts the class in the same registry as installed plugins' strategies
(every plugin manager, existing and future), so ``inc strategies``/``inc plugins`` list it
with source ``<in-process>``. An in-process registration wins over an installed strategy
of the same name; `unregister_strategy` brings the installed one back.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from inc_core.plugins.hookspecs import hookimpl

IN_PROCESS = "<in-process>"
_LOCAL: dict[str, type] = {}
_MANAGERS: weakref.WeakSet[Any] = weakref.WeakSet()

T = TypeVar("T", bound=type)


def strategy_registry(cls_or_name: T | str | None = None) -> T | Callable[[T], T]:
    """Register a `TuneStrategy` subclass under its ``name`` (or the given name).

    Usable as ``@strategy_registry`` or ``@strategy_registry("my_name")``.
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
        for pm in list(_MANAGERS):
            pm.strategies.add(key, cls, IN_PROCESS, override=True)
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


def unregister_strategy(name: str) -> None:
    """Remove an in-process registration (tests, notebooks); a strategy it shadowed comes back."""
    if _LOCAL.pop(name, None) is not None:
        for pm in list(_MANAGERS):
            pm.strategies.remove(name, IN_PROCESS)


class LocalStrategies:
    """The plugin that hands a new plugin manager the in-process strategies registered so far."""

    @hookimpl
    def inc_register_strategies(self, register: Callable[[str, type], None]) -> None:
        for name, cls in _LOCAL.items():
            register(name, cls)


def attach(pm: Any) -> None:
    """Keep ``pm``'s strategy registry in step with later in-process registrations."""
    _MANAGERS.add(pm)
