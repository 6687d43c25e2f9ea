"""Strategy options: merged over a strategy's defaults and checked before anything runs.

``default_options`` gives names and types (the default's type is the expected type);
an ``options_model`` built with `option_model` adds ranges and allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from inc_core.errors import ConfigError


def merge_options(label: str, defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over ``defaults``; `ConfigError` for an unknown name or a value of the wrong type."""
    merged = dict(defaults)
    for key, value in options.items():
        if key not in defaults:
            valid = ", ".join(sorted(defaults)) or "none"
            raise ConfigError(f"strategy {label!r}: unknown option {key!r}; valid options: {valid}")
        default = defaults[key]
        if default is not None and value is not None and not _same_kind(value, default):
            expected, got = type(default).__name__, type(value).__name__
            raise ConfigError(f"strategy {label!r}: option {key!r} must be {expected}, got {got} {value!r}")
        merged[key] = value
    return merged


def validate_options(
    label: str, defaults: Mapping[str, Any], model: type[BaseModel] | None, options: Mapping[str, Any]
) -> dict[str, Any]:
    """`merge_options`, then ``model``'s ranges and allowed values; one `ConfigError` line per problem."""
    merged = merge_options(label, defaults, options)
    if model is None:
        return merged
    checked = {k: v for k, v in merged.items() if k in model.model_fields}
    try:
        validated = model.model_validate(checked)
    except ValidationError as exc:
        lines = []
        for problem in exc.errors():
            option = ".".join(str(p) for p in problem["loc"])
            lines.append(f"strategy {label!r}: option {option!r}: {problem['msg']} (got {problem.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None
    return {**merged, **{k: getattr(validated, k) for k in checked}}


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
FallbackDtype = Literal["bf16", "fp16", "fp32"]
"""Option types for `option_model` (``FallbackDtype``: the float dtypes of `FLOAT_DTYPES`)."""


def option_model(defaults: Mapping[str, Any], **rules: Any) -> type[BaseModel]:
    """A strict pydantic model checking the options named in ``rules`` (name -> type with its range).

    ``defaults`` is the strategy's ``default_options``: each rule's field defaults to it.
    Use ``PositiveInt``, ``Annotated[float, Field(gt=0)]``, ``Literal[...]``; values are
    not coerced (``"4"`` is not an int, ``True`` is not 1).
    """
    unknown = sorted(set(rules) - set(defaults))
    if unknown:
        raise TypeError(f"option_model: {unknown} are not in default_options")
    config = ConfigDict(strict=True, extra="forbid", frozen=True)
    fields: dict[str, Any] = {name: (rule, defaults[name]) for name, rule in rules.items()}
    return create_model("StrategyOptions", __config__=config, **fields)
