"""Calibration batches: reading them once, splitting off labels, checking them.

A batch is what the user's data yields: a tensor (one input), a tuple/list of
tensors (positional inputs), a dict (keyword inputs), or INC's ``(inputs, label)``
pair. Which one is decided by how many positional inputs ``forward`` takes: a
sequence one longer than that carries a label as its last item (used as the
target by ``loss_fn(output, target)``, ignored for calibration).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inc_core import AdaptorError, ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Batch:
    """Positional and keyword model inputs, plus an optional label."""

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    target: Any = None
    raw: Any = None  # the item as the user's data yielded it

    def call(self, model: Any) -> Any:
        return model(*self.args, **dict(self.kwargs))


def positional_inputs(model: Any) -> int | None:
    """Number of positional parameters of ``model.forward``; None if it takes ``*args``."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        positional = param.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if positional and param.default is inspect.Parameter.empty:
            count += 1
    return count


def to_batch(item: Any, n_inputs: int | None, where: str) -> Batch:
    """Interpret one item of the user's data as model inputs (and maybe a label)."""
    import torch

    if isinstance(item, Batch):
        return item
    if isinstance(item, torch.Tensor):
        return Batch((item,))
    if isinstance(item, Mapping):
        return Batch((), dict(item))
    if isinstance(item, (tuple, list)):
        items = tuple(item)
        if n_inputs is None or len(items) == n_inputs:
            return Batch(items)
        if len(items) == n_inputs + 1:
            return Batch(items[:n_inputs], target=items[-1])
        raise ConfigError(
            f"{where}: a batch of {len(items)} items, but the model's forward takes {n_inputs} positional "
            f"input(s); give {n_inputs} tensors, or {n_inputs} plus a label"
        )
    raise ConfigError(
        f"{where}: unsupported batch type {type(item).__name__}; expected a tensor, a tuple/list of tensors, "
        "a dict of keyword inputs or an (inputs, label) pair"
    )


def read_batches(data: Any, n_inputs: int | None, limit: int | None = None) -> list[Batch]:
    """Read up to ``limit`` batches from ``data``: an iterable/DataLoader of batches, or one tensor/dict."""
    import torch

    if data is None:
        return []
    if isinstance(data, (torch.Tensor, Mapping, Batch)):
        return [to_batch(data, n_inputs, "calibration data")]
    if not isinstance(data, Iterable):
        raise ConfigError(
            f"calibration data of type {type(data).__name__} is not iterable; pass a DataLoader, a list of "
            "batches, or a tensor"
        )
    batches: list[Batch] = []
    for index, item in enumerate(data):
        if limit is not None and index >= limit:
            break
        batch = to_batch(item, n_inputs, f"calibration batch {index}")
        batches.append(Batch(batch.args, batch.kwargs, batch.target, item))
    return batches


def describe(value: Any) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def check_batch(batch: Batch, example: Batch, where: str, dynamic_batch: bool = True) -> None:
    """Raise `ConfigError` naming the input if ``batch`` does not match the example's dtypes/shapes."""
    import torch

    def check(name: str, got: Any, want: Any) -> None:
        if isinstance(want, torch.Tensor):
            if not isinstance(got, torch.Tensor):
                raise ConfigError(
                    f"{where}, input {name}: expected a tensor like the example inputs, got {describe(got)}"
                )
            same_rank = got.dim() == want.dim()
            tail_ok = same_rank and tuple(got.shape[1:]) == tuple(want.shape[1:])
            head_ok = dynamic_batch or (same_rank and got.shape[:1] == want.shape[:1])
            if got.dtype != want.dtype or not tail_ok or not head_ok:
                expected = ("(*, " + ", ".join(map(str, want.shape[1:])) + ")") if dynamic_batch else tuple(want.shape)
                raise ConfigError(
                    f"{where}, input {name}: expected {want.dtype} with shape {expected} like the example inputs, "
                    f"got {describe(got)}"
                )

    if len(batch.args) != len(example.args) or set(batch.kwargs) != set(example.kwargs):
        raise ConfigError(
            f"{where}: {len(batch.args)} positional / {sorted(batch.kwargs)} keyword inputs, but the example inputs "
            f"have {len(example.args)} positional / {sorted(example.kwargs)} keyword"
        )
    for i, (got, want) in enumerate(zip(batch.args, example.args, strict=True)):
        check(str(i), got, want)
    for key, want in example.kwargs.items():
        check(repr(key), batch.kwargs[key], want)


class _CapturedError(Exception):
    pass


def capture_run_fn_inputs(model: torch.nn.Module, run_fn: Any) -> Batch:
    """The first inputs ``run_fn`` feeds to ``model`` (run_fn is stopped right after that call)."""
    import torch

    captured: list[Batch] = []

    class _Recorder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            captured.append(Batch(tuple(args), dict(kwargs)))
            raise _CapturedError

    with contextlib.suppress(_CapturedError):
        run_fn(_Recorder(model))
    if not captured:
        raise AdaptorError(
            "run_fn never called the model, so inc cannot learn its example inputs; pass calib_data or "
            "TorchAdaptor(example_inputs=...)"
        )
    return captured[0]
