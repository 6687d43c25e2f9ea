"""The framework-neutral adaptor protocol every framework plugin implements.

Core never imports a framework: it hands models, tune configs and calibration data
to an `Adaptor` and gets back quantized models, sizes, latencies and per-op
sensitivity scores.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from inc_core.errors import NotSupportedError
from inc_core.space.capability import Capability
from inc_core.space.tune_config import TuneConfig

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

    def check_calibration(self, model: Any, calibration: Calibration) -> None:  # noqa: B027 - optional hook
        """Raise `ConfigError` if ``calibration`` cannot feed ``model`` (input names, rank, dtype, batch axis).

        Called once before the baseline and before the run directory is created, so a
        wrong calibration file is bad input, not 50 failed trials. Name the file and
        the array in the message. The default checks nothing.
        """

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

    def benchmark_many(self, models: Sequence[Any], calibration: Calibration) -> list[float]:
        """Latency (s) of each model on the same input, timed interleaved in one process.

        Core compares every candidate with fp32 through one call, so the speed-up is a
        paired ratio that load on a shared machine does not decide. Adaptors override this
        with `inc_core.measure.timing.interleaved_latency` on the user's runtime settings; this
        default times the models one after another with `benchmark` (not paired).
        """
        return [self.benchmark(model, calibration) for model in models]

    def tensor_values(
        self, model: Any, calibration: Calibration, names: Sequence[str], batches: int = 2
    ) -> Iterator[dict[str, Any]]:
        """Run ``model`` on the first ``batches`` calibration batches; yield each batch's named tensors.

        ``model`` is the fp32 model or one this adaptor's `quantize` produced; ``names``
        come from the capability (`OpSpec.inputs`/`outputs`, `Capability.outputs`). In a
        quantized model a name means the float value at that point of the original graph.
        Values are numpy arrays; names the model cannot expose are left out. Core's
        framework-neutral sensitivity (`inc_core.measure.sensitivity`) and range checks use this.
        """
        raise NotSupportedError(f"adaptor {self.name!r} cannot read tensor values")

    def op_sensitivity(
        self,
        model: Any,
        tune_cfg: TuneConfig,
        calibration: Calibration,
        method: str = "mse",
        ops: Sequence[str] | None = None,
    ) -> Mapping[str, float]:
        """Per-op sensitivity scores (higher = quantizing the op hurts more); see `SENSITIVITY_METHODS`.

        Core computes ``mse``/``mse_v2`` itself from `tensor_values`; this hook is for
        methods only the framework can compute (``hawq_v2`` needs autograd), and for
        adaptors without `tensor_values`.
        """
        raise NotSupportedError(f"adaptor {self.name!r} does not compute op sensitivity ({method})")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release cached sessions, temp files and statistics at the end of a run."""
