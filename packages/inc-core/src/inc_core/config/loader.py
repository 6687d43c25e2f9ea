"""The 3.x config-set walk: expand configs whose fields hold lists, de-duplicate, sample.

Expansion: each field holding a list is tunable; the Cartesian product runs over
tunable fields in declaration order with the **last field varying fastest**; an
empty list is ignored (the field is left unset); a list of lists expands per
element (so ``[[1, 2]]`` is one value ``[1, 2]``). ``op_name_dict``/``op_type_dict``
(per-op overrides) are never expanded. Duplicates across the whole set are kept once.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence, Sized
from typing import Any

from inc_core.errors import ConfigError

NOT_EXPANDED = frozenset({"op_name_dict", "op_type_dict", "name"})


class Sampler:
    """Chooses the order in which a config source's entries are visited (INC's ``Sampler``)."""

    def __init__(self, config_source: Sized) -> None:
        self.config_source = config_source

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.config_source)


class SequentialSampler(Sampler):
    """Visits entries in order (the default)."""

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.config_source)))


def config_fields(config: Any) -> dict[str, Any]:
    """A config's fields as an ordered dict: dicts, dataclasses, pydantic models, ``to_dict()``."""
    if isinstance(config, Mapping):
        return dict(config)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if hasattr(config, "model_dump"):
        return dict(config.model_dump())
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    raise ConfigError(f"config_set entry {config!r}: expected a dict, dataclass or object with to_dict()")


def _values(value: list[Any]) -> list[Any]:
    return [tuple(v) if isinstance(v, list) else v for v in value]


def expand_config(config: Any) -> list[dict[str, Any]]:
    """All combinations of one config's list-valued fields (last field fastest)."""
    fields = config_fields(config)
    tunable = [k for k, v in fields.items() if isinstance(v, list) and k not in NOT_EXPANDED and v]
    fixed = {k: v for k, v in fields.items() if not (isinstance(v, list) and k not in NOT_EXPANDED)}
    if not tunable:
        return [fixed]
    combos = itertools.product(*(_values(fields[k]) for k in tunable))
    return [{**fixed, **dict(zip(tunable, combo, strict=True))} for combo in combos]


def _key(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, default=repr)


class ConfigLoader:
    """Iterates the expanded, de-duplicated configs of a config set in sampler order."""

    def __init__(self, config_set: Any, sampler: type[Sampler] | Sampler | None = None) -> None:
        entries = (
            config_set
            if isinstance(config_set, Sequence) and not isinstance(config_set, (str, Mapping))
            else [config_set]
        )
        if not entries:
            raise ConfigError("config_set is empty; give at least one config")
        self.config_set = list(entries)
        self.expanded: list[dict[str, Any]] = []
        seen: set[str] = set()
        for config in self.config_set:
            for entry in expand_config(config):
                key = _key(entry)
                if key not in seen:
                    seen.add(key)
                    self.expanded.append(entry)
        if sampler is None:
            self.sampler: Sampler = SequentialSampler(self.expanded)
        elif isinstance(sampler, type):
            self.sampler = sampler(self.expanded)
        else:
            self.sampler = sampler
            self.sampler.config_source = self.expanded

    def __len__(self) -> int:
        return len(self.expanded)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in self.sampler:
            yield self.expanded[index]
