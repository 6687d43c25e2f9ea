"""Former path of the run-file API (`inc_core.cli.run_file`, `.resolve_run`), named by the 0.1 docs."""

from inc_core.cli.resolve_run import ResolvedRun, resolve_run
from inc_core.cli.run_file import load_run_file, load_run_spec, tuning_config

__all__ = ["ResolvedRun", "load_run_file", "load_run_spec", "resolve_run", "tuning_config"]
