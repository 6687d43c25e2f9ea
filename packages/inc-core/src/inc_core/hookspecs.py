"""Former path of `inc_core.plugins.hookspecs`, kept because the 0.1 docs named it."""

from inc_core.plugins.hookspecs import *  # noqa: F403
