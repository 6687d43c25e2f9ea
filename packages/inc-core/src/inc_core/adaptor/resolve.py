"""Which adaptor a model gets: given, named, or the first installed one whose ``accepts`` says yes.

One owner for the API (`inc_core.autotune`) and the CLI (`inc tune`). An adaptor whose
``accepts`` raises is skipped with a warning: a broken third-party adaptor must not
stop a model another adaptor handles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from inc_core.adaptor.base import Adaptor
from inc_core.errors import ConfigError

logger = logging.getLogger("inc")


class _Registration(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def cls(self) -> type: ...


class AdaptorRegistry(Protocol):
    """The plugin manager's adaptor registry, as far as resolution reads it."""

    def get(self, name: str) -> _Registration: ...

    def names(self) -> list[str]: ...

    def __iter__(self) -> Iterator[_Registration]: ...


def accepting(model: Any, adaptors: AdaptorRegistry) -> tuple[list[str], dict[str, str]]:
    """Names of the adaptors that accept ``model``, in registration order, and those whose check failed."""
    names: list[str] = []
    broken: dict[str, str] = {}
    for registration in adaptors:
        try:
            if registration.cls.accepts(model):  # type: ignore[attr-defined]
                names.append(registration.name)
        except Exception as exc:
            broken[registration.name] = f"{type(exc).__name__}: {exc}"
            logger.warning("adaptor %s: accepts() failed (%s); skipped", registration.name, broken[registration.name])
    return names, broken


def no_adaptor_message(model: Any, adaptors: AdaptorRegistry, broken: dict[str, str], hint: str) -> str:
    """Why no adaptor takes ``model``: what it is, what is installed, which checks failed, what to do."""
    what = model if isinstance(model, (str, Path)) else f"a model of type {type(model).__name__} ({model!r:.80})"
    installed = ", ".join(adaptors.names()) or "none"
    failed = "".join(f"; {name}.accepts() failed: {error}" for name, error in broken.items())
    return f"no installed adaptor accepts {what}; installed adaptors: {installed}{failed} ({hint})"


def resolve_adaptor(model: Any, adaptor: Adaptor | str | None, adaptors: AdaptorRegistry) -> Adaptor:
    """The adaptor instance for ``model``: given, named, or the first installed one that accepts it."""
    if isinstance(adaptor, Adaptor):
        return adaptor
    if isinstance(adaptor, str):
        return adaptors.get(adaptor).cls()
    if adaptor is not None:
        raise ConfigError(f"adaptor must be an Adaptor instance or a registered name, got {adaptor!r}")
    names, broken = accepting(model, adaptors)
    if names:
        return adaptors.get(names[0]).cls()
    raise ConfigError(no_adaptor_message(model, adaptors, broken, "install inc-onnx or inc-torch, or pass adaptor=..."))
