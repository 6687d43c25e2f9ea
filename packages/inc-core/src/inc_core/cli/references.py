"""References to user code in a run file (``package.module:function``), imported and checked."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from inc_core.errors import ConfigError, IncError


def importable(folder: Path) -> None:
    """Make modules next to the run file importable here and in worker processes started later."""
    text = str(folder)
    if text not in sys.path:
        sys.path.insert(0, text)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if text not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([text, *parts])


def resolve_reference(reference: str, key: str, base: Path) -> Callable[..., Any]:
    """Import ``package.module:function`` (or ``file.py:function`` relative to ``base``)."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{key}: {reference!r} is not a 'module:function' reference")
    try:
        if module_name.endswith(".py"):
            file = (base / module_name).resolve()
            spec = importlib.util.spec_from_file_location(file.stem, file)
            if spec is None or spec.loader is None or not file.is_file():
                raise ConfigError(f"{key}: no such file {file}")
            importable(file.parent)  # process/Dask workers import it by name when unpickling the function
            module = importlib.util.module_from_spec(spec)
            sys.modules[file.stem] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{key}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError(f"{key}: module {module_name!r} has no attribute {attr!r}")
    if not callable(target):
        raise ConfigError(f"{key}: {reference!r} is not callable (it is a {type(target).__name__})")
    return target


def check_call(function: Callable[..., Any], key: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Raise `ConfigError` if ``function`` cannot be called with these arguments (checked, not called)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # builtins without a signature: find out when called
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ConfigError(
            f"{key}: {getattr(function, '__name__', function)}{signature} cannot take them: {exc}"
        ) from None


def call(function: Callable[..., Any], key: str, kwargs: Mapping[str, Any]) -> Any:
    check_call(function, key, (), kwargs)
    try:
        return function(**kwargs)
    except IncError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"{key}: calling it failed: {type(exc).__name__}: {exc}") from None
