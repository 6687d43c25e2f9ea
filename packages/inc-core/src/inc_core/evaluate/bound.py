"""`BoundEval`: an eval function with its extra arguments bound, picklable for worker processes.

A lambda or ``functools.partial`` over a local would not survive cloudpickle on every
engine and shows no name in logs; this keeps the function's own name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class BoundEval:
    """``function(model, *args, **kwargs)`` (the API's ``eval_args``, a run file's ``evaluation.args``)."""

    def __init__(
        self, function: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.function, self.args, self.kwargs = function, tuple(args), dict(kwargs or {})
        self.__name__ = getattr(function, "__name__", "accuracy")

    def __call__(self, model: Any) -> Any:
        return self.function(model, *self.args, **self.kwargs)
