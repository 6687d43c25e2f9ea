"""Former path of `inc_core.measure.timing`, kept because the 0.1 docs named it."""

from inc_core.measure.timing import *  # noqa: F403
