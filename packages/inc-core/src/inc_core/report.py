"""Former path of `inc_core.cli.report`, kept because the 0.1 docs named it."""

from inc_core.cli.report import *  # noqa: F403
