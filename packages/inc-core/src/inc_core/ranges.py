"""Former path of `inc_core.measure.ranges`, kept because the 0.1 docs named it."""

from inc_core.measure.ranges import *  # noqa: F403
