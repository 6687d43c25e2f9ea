"""Former path of `inc_core.adaptor.options`, kept because the 0.1 docs named it."""

from inc_core.adaptor.options import *  # noqa: F403
