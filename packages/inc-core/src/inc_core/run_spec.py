"""Former path of `inc_core.cli.run_file`, kept because the 0.1 docs named it."""

from inc_core.cli.run_file import *  # noqa: F403
