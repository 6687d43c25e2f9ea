"""Calibration data: accepted forms, validation against the model's inputs, and cached statistics.

Accepted forms (``Calibration.data``): a dict input name -> array (samples on axis 0),
an ``.npz`` path holding such arrays, an iterable of feed dicts (one batch each), or
an ORT ``CalibrationDataReader``. Everything is turned into a list of feed dicts once.

Statistics (ORT's ``TensorsData``: ranges or histograms of every tensor the static
quantizer may need) are computed once per (calibration method, sampling size) and
saved as ORT calibration caches that every later ``quantize_static`` call reads.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inc_core import AdaptorError, ConfigError

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger("inc.onnx")

Feed = dict[str, np.ndarray]


@dataclass(frozen=True)
class InputSpec:
    name: str
    dtype: np.dtype
    shape: tuple[int | str | None, ...]

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype} of rank {len(self.shape)} [{dims}]"


def model_inputs(model: onnx.ModelProto) -> list[InputSpec]:
    """The graph inputs a feed must provide (initializers listed as inputs are optional)."""
    from onnx import helper

    inits = {i.name for i in model.graph.initializer}
    specs = []
    for info in model.graph.input:
        if info.name in inits:
            continue
        tensor = info.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim)
        specs.append(InputSpec(info.name, dtype, shape))
    return specs


def _batches_from_arrays(
    arrays: Mapping[str, Any], specs: list[InputSpec], batch_size: int | None, where: str = "calibration data"
) -> list[Feed]:
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    check_names(arrays, specs, where)
    lengths = {k: v.shape[0] if v.ndim else 1 for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"{where}: inputs hold different numbers of samples on axis 0 (the batch axis): {lengths}")
    total = next(iter(lengths.values()), 0)
    if batch_size is None:
        fixed = [s.shape[0] for s in specs if s.shape and isinstance(s.shape[0], int) and s.shape[0] > 0]
        batch_size = fixed[0] if fixed else 32
    return [{k: v[i : i + batch_size] for k, v in arrays.items()} for i in range(0, total, batch_size)]


def check_names(feed: Mapping[str, Any], specs: list[InputSpec], where: str) -> None:
    expected = {s.name for s in specs}
    missing = [s for s in specs if s.name not in feed]
    extra = sorted(set(feed) - expected)
    wanted = ", ".join(f"{s.name!r} ({s.describe()})" for s in specs)
    if missing:
        raise ConfigError(f"{where}: no data for model input {missing[0].name!r}; the model expects inputs {wanted}")
    if extra:
        raise ConfigError(f"{where}: {extra[0]!r} is not an input of the model; the model expects inputs {wanted}")


def check_feed(feed: Mapping[str, np.ndarray], specs: list[InputSpec], where: str) -> None:
    """Raise `ConfigError` naming the first input whose names, rank, dtype or fixed dims don't match."""
    check_names(feed, specs, where)
    for spec in specs:
        value = feed[spec.name]
        if value.dtype != spec.dtype:
            raise ConfigError(
                f"{where}: input {spec.name!r} has dtype {value.dtype}, the model expects {spec.describe()}"
                f" (convert with .astype(np.{spec.dtype}))"
            )
        if value.ndim != len(spec.shape):
            raise ConfigError(
                f"{where}: input {spec.name!r} has rank {value.ndim} (shape {list(value.shape)}), "
                f"the model expects {spec.describe()}"
            )
        for axis, (got, want) in enumerate(zip(value.shape, spec.shape, strict=True)):
            if isinstance(want, int) and want > 0 and got != want:
                raise ConfigError(
                    f"{where}: input {spec.name!r} has size {got} on axis {axis} (shape {list(value.shape)}), "
                    f"the model expects {spec.describe()}"
                )


def _reader_batches(reader: Any) -> list[Feed]:
    batches = []
    while (item := reader.get_next()) is not None:
        batches.append({k: np.asarray(v) for k, v in item.items()})
    if hasattr(reader, "rewind"):
        reader.rewind()
    return batches


def read_all(data: Any) -> list[Any]:
    """Every batch of an iterable or ``get_next`` reader, as a list (readers are rewound if they can)."""
    if hasattr(data, "get_next"):
        return _reader_batches(data)
    if isinstance(data, Iterable):
        return list(data)
    return data


def to_batches(data: Any, specs: list[InputSpec], batch_size: int | None = None) -> list[Feed]:
    """Normalize any accepted calibration form into validated feed dicts."""
    from onnxruntime.quantization import CalibrationDataReader

    if data is None:
        raise ConfigError("static quantization needs calibration data (calib_data=...); none was given")
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.suffix != ".npz":
            raise ConfigError(f"calibration data file {path}: expected an .npz file of arrays named like the inputs")
        if not path.is_file():
            raise ConfigError(f"calibration data file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:
            raise ConfigError(f"calibration data file {path} cannot be read: {type(exc).__name__}: {exc}") from exc
        where = f"calibration data file {path}"
        batches = _batches_from_arrays(arrays, specs, batch_size, where)
    elif isinstance(data, Mapping):
        batches = _batches_from_arrays(data, specs, batch_size)
        where = "calibration data"
    elif isinstance(data, CalibrationDataReader) or hasattr(data, "get_next"):
        batches = _reader_batches(data)
        where = "calibration data reader"
    elif isinstance(data, Iterable):
        batches = []
        for i, item in enumerate(data):
            if not isinstance(item, Mapping):
                raise ConfigError(
                    f"calibration data: batch {i} is a {type(item).__name__}, expected a dict input -> array"
                )
            batches.append({k: np.asarray(v) for k, v in item.items()})
        where = "calibration data"
    else:
        raise ConfigError(
            f"calibration data of type {type(data).__name__} is not supported; give a dict of arrays, an .npz path, "
            "an iterable of feed dicts or an onnxruntime CalibrationDataReader"
        )
    if not batches:
        raise ConfigError(f"{where} is empty")
    for i, batch in enumerate(batches):
        check_feed(batch, specs, f"{where} (batch {i})" if len(batches) > 1 else where)
    return batches


def take_samples(batches: list[Feed], n: int) -> list[Feed]:
    """The first ``n`` samples (rows on axis 0), keeping the batching."""
    out: list[Feed] = []
    left = n
    for batch in batches:
        if left <= 0:
            break
        rows = next(iter(batch.values())).shape[0] if batch else 0
        if rows <= left:
            out.append(batch)
        else:
            out.append({k: v[:left] for k, v in batch.items()})
        left -= rows
    return out


def _rows(batch: Feed) -> int:
    return next(iter(batch.values())).shape[0] if batch else 0


class FeedReader:
    """A calibration data reader (ORT's ``get_next``/``rewind`` protocol) over a list of feeds."""

    def __init__(self, batches: list[Feed]) -> None:
        self.batches = batches
        self._it: Iterator[Feed] = iter(batches)

    def get_next(self) -> Feed | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
# ORT's entropy calibrator defaults to 128 histogram bins *and* 128 quantized bins: then the
# only threshold it can pick is the full range, i.e. minmax. 2048 bins searched down to 128
# (the usual KL-divergence setting) makes it a distinct, clipping calibration.
EXTRA_OPTIONS = {"entropy": {"num_bins": 2048, "num_quantized_bins": 128}}


class CalibrationCache:
    """ORT calibration caches (one JSON file per calibration setting) for one prepared model.

    ``count`` is how many times statistics were actually computed (tests assert it).
    """

    def __init__(self, workdir: Path, reuse: bool = True) -> None:
        self.workdir = workdir
        self.reuse = reuse
        self.count = 0
        self._paths: dict[tuple[str, int], Path] = {}

    def path(self, method: str, samples: int, model_path: Path, op_types: list[str], batches: list[Feed]) -> Path:
        key = (method, samples)
        if key in self._paths and self.reuse:
            return self._paths[key]
        from onnxruntime.quantization.calibrate import save_tensors_data

        if method not in METHODS:
            raise ConfigError(f"recipe act_algorithm: unknown calibration method {method!r}; valid: {list(METHODS)}")
        chosen = take_samples(batches, samples)
        if method != "minmax" and len(chosen) > 1:
            # ORT's histogram calibrators stack per-batch outputs: batches must be the same size.
            size = _rows(chosen[0])
            chosen = [b for b in chosen if _rows(b) == size]
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            tensors = self._collect(model_path, op_types, method, samples, chosen, EXTRA_OPTIONS.get(method, {}))
        except Exception as exc:
            raise AdaptorError(
                f"calibration ({method}, {samples} samples) failed: {type(exc).__name__}: {exc}"
            ) from exc
        cache = self.workdir / f"calibration-{method}-{samples}-{self.count}.json"
        save_tensors_data(tensors, cache)
        self.count += 1
        logger.debug("calibrated with %s on %d samples (calibration #%d)", method, samples, self.count)
        self._paths[key] = cache
        return cache

    def _collect(
        self, model_path: Path, op_types: list[str], method: str, samples: int, batches: list[Feed], extra: dict
    ) -> Any:
        """Run ORT's calibrator for ``method`` on ``batches``; its tensor ranges."""
        from onnxruntime.quantization import CalibrationMethod, create_calibrator

        calibrator = create_calibrator(
            model_path,
            op_types,
            augmented_model_path=str(self.workdir / f"augmented-{method}-{samples}.onnx"),
            calibrate_method=getattr(CalibrationMethod, METHODS[method]),
            extra_options=dict(extra),
            use_external_data_format=(model_path.parent / (model_path.name + ".data")).exists(),
        )
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # ORT's histogram calibrators print progress
                calibrator.collect_data(FeedReader(batches))
                return calibrator.compute_data()
        finally:
            del calibrator
