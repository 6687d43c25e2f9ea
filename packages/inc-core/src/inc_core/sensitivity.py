"""Former path of `inc_core.measure.sensitivity`, kept because the 0.1 docs named it."""

from inc_core.measure.sensitivity import *  # noqa: F403
