"""The framework-neutral adaptor protocol every framework plugin implements.

Core never imports a framework: it hands models, tune configs and calibration data
to an `Adaptor` and gets back quantized models, sizes, latencies and per-op
sensitivity scores.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from inc_core.errors import NotSupportedError
from inc_core.space import Capability
from inc_core.tune_config import TuneConfig

SENSITIVITY_METHODS = ("mse", "mse_v2", "hawq_v2")
"""``mse``: output error of each op quantized alone vs fp32 (higher = more sensitive).
``mse_v2``: how much falling back each op alone *reduces* the output error of a config.
``hawq_v2``: Hessian trace of each op's weights under a user loss (autograd frameworks)."""


@dataclass(frozen=True)
class Calibration:
    """What a user gave to calibrate with; the adaptor interprets ``data``.

    ``data``: framework-specific (a dict of arrays, an ``.npz`` path, an iterable of
    batches, a DataLoader, ...). ``run_fn(model)``: a user function that feeds the
    prepared model. ``train_fn(model)``: quantization-aware training hook (INC's
    ``q_func``). ``loss_fn``: the loss for Hessian-based sensitivity.
    """

    data: Any = None
    run_fn: Callable[[Any], Any] | None = None
    train_fn: Callable[[Any], Any] | None = None
    loss_fn: Callable[..., Any] | None = None

    @property
    def empty(self) -> bool:
        return self.data is None and self.run_fn is None and self.train_fn is None


class Adaptor(abc.ABC):
    """Base class of framework adaptors. Subclasses set ``name`` and the abstract methods.

    Adaptors are created once per run (``Adaptor()``), so they may cache per-model
    work such as calibration statistics: statistics must be computed once per
    calibration setting and reused by every trial that shares it.
    """

    name: ClassVar[str] = ""

    @classmethod
    def accepts(cls, model: Any) -> bool:
        """Whether this adaptor handles ``model`` (an object or a file path).

        Must be cheap and must not import the framework unless ``model`` already
        belongs to it (check ``sys.modules`` or the file suffix first).
        """
        return False

    def load(self, path: str | Path) -> Any:
        """Read a model file; errors name the file and the cause."""
        raise NotSupportedError(f"adaptor {self.name!r} cannot load model files")

    @abc.abstractmethod
    def capability(self, model: Any) -> Capability:
        """The quantizable ops of ``model`` with their options (first = default) and recipe knobs."""

    @abc.abstractmethod
    def quantize(self, model: Any, tune_cfg: TuneConfig, calibration: Calibration) -> Any:
        """A new model quantized as ``tune_cfg`` says; ``model`` itself is left unchanged."""

    def save(self, model: Any, path: str | Path) -> Path:
        """Write ``model`` under ``path`` (a file name without suffix); return the file written."""
        raise NotSupportedError(f"adaptor {self.name!r} cannot save models")

    def model_size(self, model: Any) -> int:
        """Model size in bytes."""
        raise NotSupportedError(f"adaptor {self.name!r} cannot measure model size")

    def benchmark(self, model: Any, calibration: Calibration) -> float:
        """Median latency in seconds of one inference (warm-up and repetitions inside)."""
        raise NotSupportedError(f"adaptor {self.name!r} cannot benchmark models")

    def op_sensitivity(
        self,
        model: Any,
        tune_cfg: TuneConfig,
        calibration: Calibration,
        method: str = "mse",
        ops: Sequence[str] | None = None,
    ) -> Mapping[str, float]:
        """Per-op sensitivity scores (higher = quantizing the op hurts more); see `SENSITIVITY_METHODS`."""
        raise NotSupportedError(f"adaptor {self.name!r} does not compute op sensitivity ({method})")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release cached sessions, temp files and statistics at the end of a run."""
