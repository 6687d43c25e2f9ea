"""`OnnxAdaptor`: accuracy-aware tuning of ONNX models through onnxruntime.quantization."""

from __future__ import annotations

import functools
import logging
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inc_core import Adaptor, AdaptorError, Calibration, Capability, ConfigError, NotSupportedError, TuneConfig
from inc_core.measure.timing import interleaved_latency

if TYPE_CHECKING:
    import onnx
    import onnxruntime

    from inc_onnx.calibration import CalibrationCache, Feed
    from inc_onnx.capability import NodeInfo
    from inc_onnx.graph import PreparedModel

logger = logging.getLogger("inc.onnx")
PREPARED_KEY = "inc.prepared"
"""Metadata of a quantized model: which prepared graph (of this adaptor) it was built from."""


@dataclass
class _ModelState:
    """Everything derived from one input model: prepared graph, capability, calibration caches."""

    source: Any  # the caller's model object, kept alive so its id stays unique
    prepared: PreparedModel
    capability: Capability
    infos: dict[str, NodeInfo]
    calibration: CalibrationCache
    workdir: Path
    batches: dict[int, list[Feed]]


class OnnxAdaptor(Adaptor):
    """ONNX models (``onnx.ModelProto`` or ``.onnx`` paths) quantized with ONNX Runtime.

    ``threads``/``providers``: intra-op threads and execution providers of every session the
    adaptor builds (benchmarks, tensor values). ``warmup``/``repetitions``: benchmark rounds
    discarded / timed at least (more are timed until the latency ratios are stable, see
    `inc_core.measure.timing.interleaved_latency`; the median is reported).
    ``calib_batch_size``: rows per calibration batch for array data (default: the
    model's fixed batch size, else 32). ``preprocess``: run ORT's ``quant_pre_process`` first.
    ``external_data_threshold``: bytes above which models are written with external data.
    ``reuse_calibration``: False recomputes calibration statistics for every trial
    (only for measuring what reuse saves). ``reduce_range``: 7-bit int8 weights, so that
    ORT's u8s8 kernels on x86 CPUs without VNNI (which sum pairs of products in saturating
    int16) do not overflow; None: on exactly those CPUs (`inc_onnx.hardware`).
    ``session_options``: ``onnxruntime.SessionOptions`` attributes set on every session the
    adaptor builds (e.g. ``{"enable_cpu_mem_arena": False}``); ``providers`` are names from
    ``onnxruntime.get_available_providers()``.
    """

    name = "onnx"

    def __init__(
        self,
        threads: int = 1,
        warmup: int = 2,
        repetitions: int = 5,
        calib_batch_size: int | None = None,
        preprocess: bool = True,
        external_data_threshold: int | None = None,
        workdir: str | Path | None = None,
        reuse_calibration: bool = True,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        reduce_range: bool | None = None,
        session_options: Mapping[str, Any] | None = None,
    ) -> None:
        from inc_onnx.capability import FloatSupport
        from inc_onnx.hardware import int8_pairs_saturate
        from inc_onnx.model_io import EXTERNAL_DATA_THRESHOLD, check_session_settings

        self.providers = tuple(providers)
        self.session_options = dict(session_options or {})
        if self.providers != ("CPUExecutionProvider",) or self.session_options:  # checking imports onnxruntime
            check_session_settings(self.providers, self.session_options)
        self.threads = threads
        self.reduce_range = int8_pairs_saturate() if reduce_range is None else reduce_range
        self.warmup = warmup
        self.repetitions = repetitions
        self.calib_batch_size = calib_batch_size
        self.preprocess = preprocess
        self.external_data_threshold = (
            EXTERNAL_DATA_THRESHOLD if external_data_threshold is None else external_data_threshold
        )
        self._root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="inc-onnx-"))
        self._owns_root = workdir is None
        self._states: dict[int, _ModelState] = {}
        self._float_support = FloatSupport()
        self._feed_cache: dict[Any, list[Feed]] = {}
        self._read: dict[int, tuple[Any, list[Any]]] = {}
        self._fp32_tensors: tuple[Any, Any, dict[str, str]] = (None, None, {})  # (key, session, names)
        self._lock = threading.RLock()
        self.reuse_calibration = reuse_calibration
        self.quantize_calls = 0
        self._closed_calibrations = 0

    # Protocol -----------------------------------------------------------------------------
    @classmethod
    def accepts(cls, model: Any) -> bool:
        if isinstance(model, (str, Path)):
            return str(model).lower().endswith(".onnx")
        if "onnx" in sys.modules:
            return type(model).__module__.startswith("onnx")
        return False

    def load(self, path: str | Path) -> onnx.ModelProto:
        from inc_onnx.model_io import load_model

        return load_model(path)

    def save(self, model: onnx.ModelProto, path: str | Path) -> Path:
        """Write ``<path>.onnx`` (plus ``<path>.onnx.data`` for models over the external-data threshold)."""
        from inc_onnx.model_io import save_model

        model = self._as_model(model)
        target = Path(path)
        target = target.with_name(target.name + ".onnx") if target.suffix != ".onnx" else target
        return save_model(model, target, self.external_data_threshold)

    def model_size(self, model: onnx.ModelProto) -> int:
        from inc_onnx.model_io import model_size

        return model_size(self._as_model(model))

    def capability(self, model: Any) -> Capability:
        return self._state(model).capability

    def check_calibration(self, model: Any, calibration: Calibration) -> None:
        """Read the calibration data once and check it against the model's inputs (cached for the benchmarks)."""
        if calibration.data is not None:
            self._feeds_for(self._as_model(model), calibration)

    def quantize(self, model: Any, tune_cfg: TuneConfig, calibration: Calibration) -> onnx.ModelProto:
        from inc_onnx.model_io import is_large
        from inc_onnx.passes import PassContext, new_workdir, quantize_prepared

        state = self._state(model)
        workdir = new_workdir(state.workdir / "trials")

        def cache(method: str, samples: int) -> Path:
            from inc_onnx.passes import STATIC_CALIBRATION_TYPES

            with self._lock:
                batches = self._batches(state, calibration)
                return state.calibration.path(method, samples, state.prepared.path, STATIC_CALIBRATION_TYPES, batches)

        ctx = PassContext(
            state.prepared,
            state.infos,
            workdir,
            cache,
            large=is_large(state.prepared.model, self.external_data_threshold),
            reduce_range=self.reduce_range,
        )
        order = [(op.name, op.type) for op in state.capability.ops]
        try:
            quantized = quantize_prepared(ctx, tune_cfg, order)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.quantize_calls += 1
        entry = quantized.metadata_props.add()
        entry.key, entry.value = PREPARED_KEY, state.workdir.name
        return quantized

    def benchmark(self, model: Any, calibration: Calibration) -> float:
        """Median seconds of one inference on the first calibration batch."""
        return self.benchmark_many([model], calibration)[0]

    def benchmark_many(self, models: Sequence[Any], calibration: Calibration) -> list[float]:
        """Median seconds of one inference of each model on the first calibration batch, timed interleaved.

        The sessions' idle intra-op workers block instead of spinning: a spinning pool of one
        session takes the cores the next session's call needs, and at 2 threads two sessions
        of one sub-ms model then read 0.7x or 1.4x of each other, flipping between runs
        (1.00 ± 0.01 without spinning; measured on the digits example).
        """
        runs = []
        for model in models:
            proto = self._as_model(model)
            feed = self._feeds_for(proto, calibration)[0]
            runs.append(functools.partial(self._session(proto, spinning=False).run, None, feed))
        return interleaved_latency(runs, warmup=self.warmup, min_repetitions=self.repetitions)

    def tensor_values(
        self, model: Any, calibration: Calibration, names: Sequence[str], batches: int = 2
    ) -> Iterator[dict[str, Any]]:
        """Named float tensors (prepared-graph names) of ``model`` on the first ``batches`` calibration batches.

        The fp32 model runs as prepared (the graph the capability names); a quantized model
        shows the float value at each named point (`inc_onnx.tensors`).
        """
        import numpy as np

        from inc_onnx.tensors import expose, folded_activations

        state = self._known_state(model)
        proto = state.prepared.model if state is not None else self._as_model(model)
        key = (id(proto), tuple(names))
        cached = self._fp32_tensors if state is not None and self._fp32_tensors[0] == key else None
        if cached is None:
            prepared = state.prepared.model if state is not None else self._prepared_of(proto)
            exposed, found = expose(proto, names, folded_activations(prepared) if prepared is not None else None)
            cached = (key, self._session(exposed), found)
            if state is not None:  # the fp32 reference is read once per candidate: keep its session
                self._fp32_tensors = cached
        _, sess, found = cached
        wanted = list(found)
        for feed in self._feeds_for(proto, calibration)[: max(1, batches)]:
            values = sess.run(wanted, feed)
            yield {found[name]: np.asarray(value) for name, value in zip(wanted, values, strict=True)}

    def op_sensitivity(
        self,
        model: Any,
        tune_cfg: TuneConfig,
        calibration: Calibration,
        method: str = "mse",
        ops: Sequence[str] | None = None,
    ) -> Mapping[str, float]:
        """``mse``/``mse_v2`` as core defines them (`inc_core.measure.sensitivity`,
        over `tensor_values`); no ``hawq_v2``."""
        from inc_core import TuningSpace
        from inc_core.measure.sensitivity import METHODS

        if method == "hawq_v2":
            raise NotSupportedError("hawq_v2 needs autograd (Hessian traces); ONNX Runtime models have none")
        if method not in METHODS:
            raise NotSupportedError(f"sensitivity method {method!r} is not supported by the onnx adaptor (mse, mse_v2)")
        space = TuningSpace(self.capability(model))
        return METHODS[method](self, model, calibration, space, tune_cfg, ops)

    def __getstate__(self) -> dict[str, Any]:  # process executors pickle the adaptor
        state = dict(self.__dict__)
        state.pop("_lock")
        state["_fp32_tensors"] = (None, None, {})  # sessions do not pickle
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._closed_calibrations += sum(state.calibration.count for state in self._states.values())
        self._states.clear()
        self._feed_cache.clear()
        self._read.clear()
        self._fp32_tensors = (None, None, {})
        if self._owns_root:
            shutil.rmtree(self._root, ignore_errors=True)

    # Helpers ------------------------------------------------------------------------------
    @property
    def calibration_count(self) -> int:
        """Calibration statistics computed so far (over every model this adaptor handled)."""
        return self._closed_calibrations + sum(state.calibration.count for state in self._states.values())

    def _session(self, model: onnx.ModelProto, spinning: bool = True) -> onnxruntime.InferenceSession:
        """A session with the user's threads and providers (large models go through a file under the workdir)."""
        from inc_onnx.model_io import session

        return session(
            model,
            threads=self.threads,
            providers=self.providers,
            workdir=self._root,
            settings=self.session_options,
            spinning=spinning,
        )

    def _as_model(self, model: Any) -> onnx.ModelProto:
        import onnx

        if isinstance(model, onnx.ModelProto):
            return model
        if isinstance(model, (str, Path)):
            return self.load(model)
        raise AdaptorError(f"the onnx adaptor handles onnx.ModelProto or .onnx paths, not {type(model).__name__}")

    def _prepared_of(self, quantized: onnx.ModelProto) -> onnx.ModelProto | None:
        """The prepared graph a model quantized by this adaptor came from (its ``inc.prepared`` metadata)."""
        source = next((p.value for p in quantized.metadata_props if p.key == PREPARED_KEY), None)
        state = next((s for s in self._states.values() if s.workdir.name == source), None)
        return state.prepared.model if state is not None else None

    def _known_state(self, model: Any) -> _ModelState | None:
        """The state of a model this adaptor prepared (``model`` is an input, not a quantized result), if any."""
        with self._lock:
            if isinstance(model, (str, Path)):
                return self._states.get(("path", str(Path(model).resolve())))
            state = self._states.get(id(model))
            return state if state is not None and state.source is model else None

    def _state(self, model: Any) -> _ModelState:
        with self._lock:  # thread executors: prepare (and calibrate) each model once
            return self._state_locked(model)

    def _state_locked(self, model: Any) -> _ModelState:
        from inc_onnx.calibration import CalibrationCache
        from inc_onnx.capability import build_capability
        from inc_onnx.graph import prepare

        is_path = isinstance(model, (str, Path))
        key: Any = ("path", str(Path(model).resolve())) if is_path else id(model)
        state = self._states.get(key)
        if state is not None and (is_path or state.source is model):
            return state
        proto = self._as_model(model)
        workdir = self._root / f"model-{len(self._states)}"
        try:
            prepared = prepare(proto, workdir, self.preprocess, self.external_data_threshold)
        except (AdaptorError, ConfigError):
            raise
        except Exception as exc:
            raise AdaptorError(f"preparing the ONNX model failed: {type(exc).__name__}: {exc}") from exc
        capability, infos = build_capability(prepared, self._float_support)
        state = _ModelState(
            model,
            prepared,
            capability,
            infos,
            CalibrationCache(workdir / "calibration", self.reuse_calibration),
            workdir,
            {},
        )
        self._states[key] = state
        return state

    def _batches(self, state: _ModelState, calibration: Calibration) -> list[Feed]:
        from inc_onnx.calibration import model_inputs, to_batches

        key = id(calibration.data)
        if key not in state.batches:
            if calibration.data is None and calibration.run_fn is not None:
                raise ConfigError(
                    "the onnx adaptor calibrates from data (calib_data=dict/.npz/iterable/CalibrationDataReader); "
                    "run_fn is not used"
                )
            data = self._replayable(calibration.data)
            state.batches[key] = to_batches(data, model_inputs(state.prepared.model), self.calib_batch_size)
        return state.batches[key]

    def _feeds_for(self, model: onnx.ModelProto, calibration: Calibration) -> list[Feed]:
        from inc_onnx.calibration import model_inputs, to_batches

        key = (id(calibration.data), tuple(s.name for s in model_inputs(model)))
        if key not in self._feed_cache:
            data = self._replayable(calibration.data)
            self._feed_cache[key] = to_batches(data, model_inputs(model), self.calib_batch_size)
        return self._feed_cache[key]

    def _replayable(self, data: Any) -> Any:
        """``data``, with one-shot iterators and data readers read once into a list of feeds."""
        from inc_onnx.calibration import read_all

        if data is None or isinstance(data, (str, Path, Mapping, list, tuple)):
            return data
        if id(data) not in self._read:
            self._read[id(data)] = (data, read_all(data))  # keep ``data`` alive: its id stays unique
        return self._read[id(data)][1]
