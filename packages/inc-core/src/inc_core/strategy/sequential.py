"""The 3.x walk over a config set: each expanded config once, in sampler order."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar

from inc_core.config.loader import ConfigLoader, config_fields
from inc_core.errors import ConfigError
from inc_core.strategy.base import TuneStrategy

if TYPE_CHECKING:
    from inc_core.config.tuning import TuningConfig


class SequentialTuneStrategy(TuneStrategy):
    """Walk a 3.x config set (expanded, de-duplicated) in order; stop rules are the monitor's.

    Each entry is a flat dict of option fields (``dtype``, ``mode``, ``bits``, params)
    and recipe values applied to every op that supports them, with optional
    ``op_name_dict`` (regex -> fields) overrides that win for matching ops.
    """

    name = "sequential"
    default_options: ClassVar[dict[str, Any]] = {"config_set": None, "sampler": None}

    @classmethod
    def run_options(cls, config: TuningConfig) -> dict[str, Any]:
        """``strategy_kwargs`` plus the run's ``config_set`` and ``sampler`` (unless given there)."""
        options = super().run_options(config)
        options.setdefault("config_set", config.config_set)
        options.setdefault("sampler", config.sampler)
        return options

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        config_set = self.options["config_set"]
        if config_set is None:
            raise ConfigError("strategy 'sequential' needs TuningConfig.config_set")
        loader = ConfigLoader(config_set, self.options["sampler"])
        self.stage = "config set"
        for entry in loader:
            fields = config_fields(entry)
            overrides = fields.pop("op_name_dict", None) or {}
            fields.pop("name", None)
            yield self.space.config_from_settings(fields, overrides)
