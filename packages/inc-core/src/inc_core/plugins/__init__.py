"""Plugins through pluggy: hook specs, the plugin manager, the built-in plugin and `TuningLogger`."""

from inc_core.plugins.hookspecs import hookimpl
from inc_core.plugins.manager import (
    ENTRY_POINT_GROUP,
    IncPluginManager,
    get_plugin_manager,
    make_plugin_manager,
    reset_plugin_manager,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "IncPluginManager",
    "get_plugin_manager",
    "hookimpl",
    "make_plugin_manager",
    "reset_plugin_manager",
]
