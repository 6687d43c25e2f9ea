"""Plugin discovery: entry points in group ``inc.plugins``, loaded one by one.

A plugin that fails to load gives one warning naming its entry point, distribution
and error; the rest still work. That includes a plugin calling ``sys.exit()`` (or
raising any other `BaseException`) at import: only a real Ctrl-C (`KeyboardInterrupt`)
still stops the process. ``INC_PLUGINS_STRICT=1`` (or ``strict=True``) raises instead.
``INC_PLUGINS=name1,name2`` loads only the listed entry points (by entry-point
name or distribution name). Registration never imports heavy frameworks.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from inc_core.errors import PluginLoadError, UnknownNameError
from inc_core.plugins import hookspecs, local

if TYPE_CHECKING:
    from inc_core.execute.kinds import ExecutorKind

ENTRY_POINT_GROUP = "inc.plugins"
STRICT_ENV = "INC_PLUGINS_STRICT"
ALLOW_ENV = "INC_PLUGINS"


@dataclass(frozen=True)
class Registration:
    """A strategy or adaptor class and where it came from."""

    name: str
    cls: type
    source: str  # distribution name, "inc-core", or "<in-process>"

    @property
    def description(self) -> str:
        doc = (self.cls.__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""


@dataclass
class PluginReport:
    """What loading found: plugins loaded, and those that failed with their error."""

    loaded: list[tuple[str, str]] = field(default_factory=list)  # (entry point, distribution)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (entry point, distribution, error)


class Registry:
    """Name -> `Registration` for one kind (strategies, adaptors, executors)."""

    def __init__(self, kind: str, base: type) -> None:
        self.kind = kind
        self.base = base
        self._items: dict[str, Registration] = {}
        self._shadowed: dict[str, Registration] = {}  # installed entries an in-process one overrides

    def add(self, name: str, cls: type, source: str, override: bool = False) -> None:
        """Register ``cls``; a different class under a taken name is `PluginLoadError` unless ``override``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise PluginLoadError(f"{source}: {self.kind} name {name!r} must be an identifier")
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise PluginLoadError(f"{source}: {self.kind} {name!r} must be a subclass of {self.base.__name__}")
        existing = self._items.get(name)
        if existing is not None and existing.cls is not cls:
            if not override:
                raise PluginLoadError(f"{source}: {self.kind} {name!r} is already registered by {existing.source}")
            if existing.source != source:
                self._shadowed.setdefault(name, existing)
        self._items[name] = Registration(name, cls, source)

    def remove(self, name: str, source: str) -> None:
        """Drop ``name`` if ``source`` registered it, restoring what it shadowed."""
        existing = self._items.get(name)
        if existing is not None and existing.source == source:
            del self._items[name]
            shadowed = self._shadowed.pop(name, None)
            if shadowed is not None:
                self._items[name] = shadowed

    def get(self, name: str) -> Registration:
        try:
            return self._items[name]
        except KeyError:
            installed = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; installed: {installed}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Any:
        return iter(sorted(self._items.values(), key=lambda r: r.name))

    def in_order(self) -> list[Registration]:
        """Registrations in the order they were made (core's first)."""
        return list(self._items.values())

    def names(self) -> list[str]:
        return sorted(self._items)


class IncPluginManager(pluggy.PluginManager):
    """pluggy manager for project ``inc`` that also holds the strategy, adaptor and executor registries.

    The register hooks are historic: every plugin, registered now or later (``register``
    or `register_plugin`), has its registrations collected once, credited to its source.
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        from inc_core.adaptor.base import Adaptor
        from inc_core.execute.kinds import ExecutorKind
        from inc_core.strategy.base import TuneStrategy

        self.add_hookspecs(hookspecs)
        self.strategies = Registry("strategy", TuneStrategy)
        self.adaptors = Registry("adaptor", Adaptor)
        self.executors = Registry("executor", ExecutorKind)
        self.report = PluginReport()
        self._source, self._override = local.IN_PROCESS, False
        for hook, registry in (
            (self.hook.inc_register_strategies, self.strategies),
            (self.hook.inc_register_adaptors, self.adaptors),
            (self.hook.inc_register_executors, self.executors),
        ):
            hook.call_historic(kwargs={"register": self._registrar(registry)})

    def _registrar(self, registry: Registry) -> Any:
        def register(name: str, cls: type) -> None:
            registry.add(name, cls, self._source, override=self._override)

        return register

    def register_plugin(
        self, plugin: Any, name: str | None = None, source: str = local.IN_PROCESS, override: bool = False
    ) -> None:
        """Register a plugin object/module; its strategies, adaptors and executors are credited to ``source``.

        ``override``: its registrations replace installed ones of the same name (in-process strategies).
        """
        previous = self._source, self._override
        self._source, self._override = source, override
        try:
            self.register(plugin, name=name)
        finally:
            self._source, self._override = previous

    def executor_kinds(self) -> list[type[ExecutorKind]]:
        """Executor kinds in registration order (core's first): what `TuningConfig.executor` may name."""
        return [r.cls for r in self.executors.in_order()]


def _selected(allow: set[str] | None, entry_point: importlib.metadata.EntryPoint, dist: str) -> bool:
    return allow is None or entry_point.name in allow or dist in allow


def load_entry_points(pm: IncPluginManager, strict: bool, allow: set[str] | None) -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist.name if entry_point.dist is not None else entry_point.value
        if not _selected(allow, entry_point, dist) or pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
            pm.register_plugin(plugin, name=entry_point.name, source=dist)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # one broken plugin (even one calling sys.exit) must not take the others down
            message = f"inc plugin {entry_point.name!r} from distribution {dist!r} failed to load: {exc!r}"
            if pm.get_plugin(entry_point.name) is not None:
                pm.unregister(name=entry_point.name)
            if strict:
                raise PluginLoadError(message) from exc
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            pm.report.failed.append((entry_point.name, dist, repr(exc)))
        else:
            pm.report.loaded.append((entry_point.name, dist))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def make_plugin_manager(
    strict: bool | None = None,
    allow: Iterable[str] | None = None,
    load_installed: bool = True,
) -> IncPluginManager:
    """Build a plugin manager: core's own plugins, installed entry points, in-process registrations.

    ``strict``/``allow`` default to the ``INC_PLUGINS_STRICT``/``INC_PLUGINS`` environment variables.
    """
    from inc_core.plugins import builtin as builtin_plugin

    strict = _env_flag(STRICT_ENV) if strict is None else strict
    if allow is None and os.environ.get(ALLOW_ENV):
        allow = [a.strip() for a in os.environ[ALLOW_ENV].split(",") if a.strip()]
    pm = IncPluginManager()
    from inc_core.plugins.logger import TuningLogger

    pm.register_plugin(builtin_plugin, name="inc-core", source="inc-core")
    pm.register(TuningLogger(), name="inc-logger")
    if load_installed:
        load_entry_points(pm, strict, set(allow) if allow is not None else None)
    pm.register_plugin(local.LocalStrategies(), name="inc-in-process", override=True)  # in-process ones win
    local.attach(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"a plugin implements a hook inc does not define: {exc}") from exc
    return pm


_default: IncPluginManager | None = None


def get_plugin_manager() -> IncPluginManager:
    """The process-wide manager, built on first use (never at import time)."""
    global _default
    if _default is None:
        _default = make_plugin_manager()
    return _default


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (after installing or registering plugins)."""
    global _default
    _default = None
