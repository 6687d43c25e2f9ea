"""Adaptor options of a run file (``adaptor:``) and of the command line, checked against the adaptor's constructor.

.. code-block:: yaml

    adaptor:                        # keyword arguments of the adaptor class (OnnxAdaptor, TorchAdaptor, ...)
      threads: 4
      providers: [CPUExecutionProvider]
      example_inputs: {function: "digits:example_inputs"}   # a value computed by user code

Option names are the constructor's parameter names; values are checked against its
type hints. A mapping ``{function: module:function, args: {...}}`` stands for what
that function returns (for values YAML cannot spell, such as tensors).
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from inc_core.errors import ConfigError, IncError

Where = Callable[[str], str]
"""Turns an option name into the place it was given (``run.yaml:7: adaptor.threads`` or ``--threads``)."""


def option_types(cls: type) -> dict[str, Any]:
    """Constructor parameter name -> type hint (``Any`` where unannotated) of an adaptor class."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    except Exception:  # hints naming types only imported for type checking
        hints = {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: hints.get(name, Any) for name, parameter in signature.parameters.items() if parameter.kind in kinds}


def _is_reference(value: Any) -> bool:
    return isinstance(value, Mapping) and "function" in value and set(value) <= {"function", "args"}


def check_options(cls: type, adaptor_name: str, options: Mapping[str, Any], where: Where) -> dict[str, Any]:
    """Options with known names and values of the right type (references left for `resolve_options`)."""
    types = option_types(cls)
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name not in types:
            close = difflib.get_close_matches(str(name), list(types), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(types) or 'none'}"
            raise ConfigError(f"{where(name)}: the {adaptor_name} adaptor has no option {name!r}{hint}")
        if _is_reference(value):
            checked[name] = dict(value)
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(types[name], config=ConfigDict(arbitrary_types_allowed=True))
            checked[name] = adapter.validate_python(value)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"]
            raise ConfigError(f"{where(name)}: {message[:1].lower()}{message[1:]} (got {value!r})") from None
        except Exception:  # a hint pydantic cannot check: the constructor checks the value
            checked[name] = value
    return checked


def build_adaptor(
    cls: type,
    adaptor_name: str,
    options: Mapping[str, Any],
    where: Where,
    call: Callable[[str, Mapping[str, Any], str], Any],
) -> Any:
    """Construct ``cls(**options)``; ``call(reference, args, place)`` computes ``{function: ...}`` values.

    An error the constructor raises is reported at the option it names (its message starts
    with the option's name), else at the first option given.
    """
    values = {}
    for name, value in check_options(cls, adaptor_name, options, where).items():
        values[name] = call(value["function"], value.get("args") or {}, where(name)) if _is_reference(value) else value
    try:
        return cls(**values)
    except IncError as exc:
        message = str(exc)
        named = next((n for n in values if message.startswith(f"{n}:") or message.startswith(f"{n} ")), None)
        if named is not None:
            raise ConfigError(f"{where(named)}: {message.removeprefix(f'{named}:').strip()}") from None
        first = next(iter(values), "")
        raise ConfigError(f"{where(first)}: {message}") from None
    except TypeError as exc:
        raise ConfigError(f"{where(next(iter(values), ''))}: {exc}") from None
