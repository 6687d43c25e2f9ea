"""Validation errors of a run file as one line each: file, line, YAML key, what was expected."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from inc_core.cli.run_schema import Key, RunFile, RunSpec

_TYPE_WORDS = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list",
}


def _explain(problem: Mapping[str, Any]) -> str:
    message = _TYPE_WORDS.get(problem["type"])
    if message is None:
        message = reword(str(problem["msg"]))
    got = problem.get("input")
    if problem["type"] != "missing" and not isinstance(got, Mapping):
        message += f" (got {got!r})"
    return message


def suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


def _model_at(loc: Key) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid under ``loc`` (None for free-form mappings)."""
    model: type[BaseModel] = RunSpec
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        candidates = [info.annotation, *getattr(info.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def format_errors(error: ValidationError, run: RunFile) -> str:
    """One line per problem pydantic found, each naming where it is (file:line, or the flag)."""
    lines = []
    for problem in error.errors():
        # pydantic puts the model's own validators at the model's location
        loc: Key = tuple(p for p in problem["loc"] if isinstance(p, (str, int)))
        if problem["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            valid = list(model.model_fields) if model else []
            dotted = ".".join(map(str, loc))
            hint = suggest(str(loc[-1]), valid)
            if loc[:1] == ("model",) and len(loc) == 2:
                hint += f"; adaptor options go under the top-level 'adaptor' key (adaptor: {{{loc[-1]}: ...}})"
            lines.append(f"{run.at(loc)}: unknown key {dotted!r}{hint}")
        elif problem["type"] == "missing":
            lines.append(
                f"{run.at(loc[:-1]) if loc[:-1] else run.path}: missing required key {'.'.join(map(str, loc))!r}"
            )
        else:
            lines.append(f"{run.where(loc)}: {_explain(problem)}")
    return "\n".join(lines)


_REWORDED = (
    (r"Input should be a valid integer[^(]*", "expected an integer "),
    (r"Input should be a valid number[^(]*", "expected a number "),
    (r"Input should be a valid boolean[^(]*", "expected true or false "),
    (r"Input should be a valid dictionary[^(]*", "expected a mapping (key: value lines) "),
    (r"Input should be a valid string[^(]*", "expected a string "),
)


def reword(problem: str) -> str:
    """pydantic's wording, said the way the rest of our messages say it."""
    problem = problem.removeprefix("Value error, ")
    for pattern, replacement in _REWORDED:
        problem = re.sub(pattern, replacement, problem).replace("  ", " ").rstrip()
    return problem[:1].lower() + problem[1:]
