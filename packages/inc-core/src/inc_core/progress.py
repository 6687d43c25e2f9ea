"""Former path of `inc_core.cli.progress`, kept because the 0.1 docs named it."""

from inc_core.cli.progress import *  # noqa: F403
