"""`TorchAdaptor`: accuracy-aware tuning of ``torch.nn.Module`` models on CPU.

One pipeline per trial, on a copy of the model's exported graph
(``torch.export.export(model, example_inputs).module()``, exported once per model):

1. static int8 ops: PT2E ``prepare_pt2e`` with `IncX86Quantizer`, observers filled from
   the calibration statistics cached for the trial's calibration setting, ``convert_pt2e``;
2. dynamic / weight-only ops: the op's weight becomes the torchao tensor subclass
   ``quantize_`` produces for its module (cached per module and option);
3. bf16 / fp16 ops: weights cast, activations cast in and out around the op.

Ops in fp32 are untouched: no observer, quantize or dequantize node.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inc_core import Adaptor, AdaptorError, Calibration, Capability, ConfigError, OpOption, TuneConfig
from inc_core.measure.timing import interleaved_latency
from inc_torch.graph import OpInfo
from inc_torch.inputs import Batch

if TYPE_CHECKING:
    from inc_torch.static import ObserverStats

logger = logging.getLogger("inc.torch")

_FLOAT = {"bf16": "bfloat16", "fp16": "float16"}


@dataclass
class _ModelState:
    """What inc derives from one user model: exported graph, ops, caches."""

    model: Any
    n_inputs: int | None
    example: Batch | None = None
    graph: Any = None  # the exported fp32 GraphModule
    graph_ops: dict[str, OpInfo] = field(default_factory=dict)
    capability: Capability | None = None
    weights: dict[tuple[str, OpOption], Any] = field(default_factory=dict)
    stats: dict[tuple[Any, ...], ObserverStats] = field(default_factory=dict)
    batches: dict[tuple[int, int | None], list[Batch]] = field(default_factory=dict)
    keep_alive: list[Any] = field(default_factory=list)
    compiled: Any = None  # torch.compile of the model, when benchmarks compile


@dataclass
class TrialCost:
    """What one `quantize` call did and how long each part took (seconds)."""

    static_ops: int = 0
    calibration: str = "none"  # none / reused / calibrated / trained
    calibration_s: float = 0.0
    prepare_s: float = 0.0
    convert_s: float = 0.0
    weights_quantized: int = 0
    weights_reused: int = 0
    weights_s: float = 0.0
    total_s: float = 0.0


class TorchAdaptor(Adaptor):
    """PyTorch modules (and ``.pt2`` exported programs) quantized with torch.export + torchao.

    ``example_inputs``: a tensor, tuple of tensors or dict used to export the model (default:
    the first calibration batch). With them, `capability` lists functional matmul/bmm ops too
    and only the modules ``forward`` really runs; without them it lists the
    Conv1d/Conv2d/Linear/Embedding modules of the module tree.
    ``threads``: intra-op threads while benchmarking and measuring sensitivity (None: torch's).
    ``warmup``/``repetitions``: benchmark rounds discarded / the fewest rounds timed (more
    are timed until the paired ratios are stable; the median is reported).
    ``compile``: benchmark every model, fp32 included, through ``torch.compile`` (inductor
    with freezing; seconds to compile each model): how a deployment that compiles runs, and
    the only way static int8 gets x86 int8 kernels (eager static int8 runs reference
    quantize/dequantize ops). ``calib_batches``: calibration batches read (None: all).
    ``sensitivity_batches``: batches used by ``mse`` sensitivity. ``hutchinson_samples``:
    Rademacher probes per batch for ``hawq_v2``. ``reuse_calibration``: False recalibrates
    every trial (only to measure what reuse saves).
    """

    name = "torch"

    def __init__(
        self,
        example_inputs: Any = None,
        threads: int | None = None,
        warmup: int = 2,
        repetitions: int = 5,
        compile: bool = False,
        calib_batches: int | None = None,
        sensitivity_batches: int = 2,
        hutchinson_samples: int = 8,
        reuse_calibration: bool = True,
        seed: int = 0,
    ) -> None:
        self.example_inputs = example_inputs
        self.threads = threads
        self.warmup = warmup
        self.repetitions = repetitions
        self.compile = compile
        self.calib_batches = calib_batches
        self.sensitivity_batches = sensitivity_batches
        self.hutchinson_samples = hutchinson_samples
        self.reuse_calibration = reuse_calibration
        self.seed = seed
        self.costs: list[TrialCost] = []
        self.calibration_runs = 0
        self._states: dict[int, _ModelState] = {}
        self._derived: weakref.WeakKeyDictionary[Any, _ModelState] = weakref.WeakKeyDictionary()
        self._lock = threading.RLock()

    # Protocol -----------------------------------------------------------------------------
    @classmethod
    def accepts(cls, model: Any) -> bool:
        if isinstance(model, (str, Path)):
            return str(model).lower().endswith(".pt2")
        if "torch" not in sys.modules:
            return False
        import torch

        return isinstance(model, torch.nn.Module)

    def load(self, path: str | Path) -> Any:
        """Read a ``.pt2`` saved by `save` (or ``torch.export.save``) as a runnable module."""
        import torch

        from inc_torch._quiet import import_torchao

        import_torchao()  # quantized programs hold torchao types
        try:
            program = torch.export.load(str(path))
        except FileNotFoundError:
            raise AdaptorError(f"model file {path} does not exist") from None
        except Exception as exc:
            raise AdaptorError(f"cannot load {path} as a torch.export program: {type(exc).__name__}: {exc}") from exc
        from inc_torch.graph import allow_eval_train

        return allow_eval_train(program.module())

    def save(self, model: Any, path: str | Path) -> Path:
        """Write ``<path>.pt2`` (``torch.export.save`` of the model exported on the example inputs)."""
        import torch

        from inc_torch._quiet import install_filters
        from inc_torch.graph import export_program

        install_filters()
        target = Path(path)
        target = target if target.suffix == ".pt2" else target.with_name(target.name + ".pt2")
        example = self._any_example(model)
        program = export_program(model, example)
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.export.save(program, str(target))
        return target

    def model_size(self, model: Any) -> int:
        from inc_torch.measure import model_size

        return model_size(model)

    def capability(self, model: Any) -> Capability:
        state = self._state(model)
        if state.capability is None:
            from inc_torch.capability import build_capability
            from inc_torch.graph import module_tree_ops

            if state.example is not None:
                ops = list(self._graph(state).values())
            else:
                ops = module_tree_ops(model)
                logger.info(
                    "torch adaptor: no example inputs yet, so the capability lists the module tree's "
                    "Conv/Linear/Embedding modules (pass TorchAdaptor(example_inputs=...) to include "
                    "functional matmul/bmm ops)"
                )
            if not ops:
                raise AdaptorError(
                    f"{type(model).__name__} has no quantizable op (Conv1d/Conv2d/Linear/Embedding modules, matmul/bmm)"
                )
            from inc_torch.tensors import model_output_names

            outputs = model_output_names(state.graph if state.example is not None else None)
            shapes = {op.name: self._shape(model, op) for op in ops}
            state.capability = build_capability(ops, shapes, outputs)
        return state.capability

    def quantize(self, model: Any, tune_cfg: TuneConfig, calibration: Calibration) -> Any:
        import torch

        from inc_torch import static
        from inc_torch.graph import allow_eval_train, cast_op, copy_graph_module, drop_unused_attributes, swap_weight

        start = time.perf_counter()
        cost = TrialCost()
        state = self._state(model)
        with self._lock:
            self._ensure_example(state, calibration)
            ops = self._graph(state)
        options = {name: tune_cfg.ops[name] for name in ops if name in tune_cfg.ops}
        unknown = [name for name in tune_cfg.ops if name not in ops and name not in self._tree_names(state)]
        if unknown:
            raise ConfigError(f"tune config names op {unknown[0]!r}, which the model does not have")
        act_algorithm = str(tune_cfg.recipes.get("act_algorithm", static.ACT_ALGORITHMS[0]))
        if act_algorithm not in static.ACT_ALGORITHMS:
            raise ConfigError(f"recipe act_algorithm={act_algorithm!r}; valid: {list(static.ACT_ALGORITHMS)}")
        graph = copy_graph_module(state.graph)
        static_ops = [n for n, o in options.items() if o.mode == "static"]
        cost.static_ops = len(static_ops)
        if static_ops:
            graph = self._static(state, graph, ops, options, act_algorithm, calibration, cost)
        weight_start = time.perf_counter()
        alpha = tune_cfg.recipes.get("smooth_quant_alpha")
        for name, option in options.items():
            if option.mode == "dynamic" and alpha is not None:
                weight = self._smoothed_weight(state, ops[name], option, float(alpha), calibration, cost)
                swap_weight(graph, ops[name], weight)
            elif option.mode in ("dynamic", "weight_only"):
                swap_weight(graph, ops[name], self._quantized_weight(state, ops[name], option, cost))
        cost.weights_s = time.perf_counter() - weight_start
        for name, option in options.items():
            if option.dtype in _FLOAT:
                cast_op(graph, ops[name], getattr(torch, _FLOAT[option.dtype]))
        graph.graph.lint()
        graph.recompile()
        drop_unused_attributes(graph)
        graph.requires_grad_(False)
        cost.total_s = time.perf_counter() - start
        result = allow_eval_train(graph)
        with self._lock:
            self.costs.append(cost)
            self._derived[result] = state  # its op nodes, for tensor_values
        return result

    def benchmark(self, model: Any, calibration: Calibration) -> float:
        """Median seconds of one forward pass on the example inputs (`benchmark_many` of one model)."""
        return self.benchmark_many([model], calibration)[0]

    def benchmark_many(self, models: Sequence[Any], calibration: Calibration) -> list[float]:
        """Median seconds of one forward pass of each model on the same example inputs, timed interleaved.

        Every model, the fp32 reference included, runs with the same ``threads`` and
        ``compile`` setting; repetitions adapt to the models' latency
        (`inc_core.measure.timing.interleaved_latency`, at least ``repetitions`` rounds).
        """
        import torch

        from inc_torch._quiet import install_filters

        install_filters()
        if not models:
            return []
        for model in models:
            state = self._state_if_known(model)
            if state is not None:
                self._ensure_example(state, calibration)
        example = self._any_example(models[0], calibration)
        with self._threads(), torch.no_grad(), self._compile_settings():
            runners = [self._runner(model) for model in models]
            calls = [functools.partial(example.call, runner) for runner in runners]
            return interleaved_latency(calls, warmup=max(1, self.warmup), min_repetitions=max(1, self.repetitions))

    def tensor_values(
        self, model: Any, calibration: Calibration, names: Sequence[str], batches: int = 2
    ) -> Iterator[dict[str, Any]]:
        """Values of the named tensors (`inc_torch.tensors`) on the first ``batches`` calibration batches.

        ``model``: a model the adaptor has seen or one `quantize` made; both run as their
        exported graphs, so a name means the same point of the graph in each.
        """
        from inc_torch import tensors

        state, graph = self._tensor_graph(model, calibration)
        op_nodes = {name: info.node for name, info in state.graph_ops.items() if info.node}
        located = tensors.locate(graph, op_nodes, names)
        wanted = set(names)
        chosen = self._batches(state, calibration)[: max(1, batches)] or [state.example]
        values = tensors.capture(graph, chosen, located, any(n.startswith(f"{tensors.OUTPUT}:") for n in names))
        while True:
            with self._threads():  # per batch: a paused generator must not hold the thread setting
                batch = next(values, None)
            if batch is None:
                return
            yield {name: value for name, value in batch.items() if name in wanted}

    def op_sensitivity(
        self,
        model: Any,
        tune_cfg: TuneConfig,
        calibration: Calibration,
        method: str = "mse",
        ops: Sequence[str] | None = None,
    ) -> Mapping[str, float]:
        """``mse``/``mse_v2``: core's definitions (`inc_core.measure.sensitivity`)
        over `tensor_values`; ``hawq_v2`` here."""
        from inc_core import TuningSpace
        from inc_core.measure import sensitivity as core_sensitivity

        if method in core_sensitivity.METHODS:
            space = TuningSpace(self.capability(model))
            batches = {"batches": max(1, self.sensitivity_batches)} if method == "mse" else {}
            return core_sensitivity.METHODS[method](self, model, calibration, space, tune_cfg, ops, **batches)
        if method == "hawq_v2":
            return self._hawq_v2(model, tune_cfg, calibration, list(ops) if ops is not None else list(tune_cfg.ops))
        raise ConfigError(f"unknown sensitivity method {method!r}; the torch adaptor offers mse, mse_v2, hawq_v2")

    def close(self) -> None:
        self._states.clear()
        self._derived.clear()

    def __getstate__(self) -> dict[str, Any]:  # process executors pickle the adaptor
        state = dict(self.__dict__)
        state.pop("_lock")
        state["_derived"] = None
        state["_states"] = {}  # graphs and caches are rebuilt where the adaptor lands
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._derived = weakref.WeakKeyDictionary()

    # Pipeline parts -------------------------------------------------------------------------
    def _hawq_v2(
        self, model: Any, tune_cfg: TuneConfig, calibration: Calibration, wanted: Sequence[str]
    ) -> dict[str, float]:
        from inc_torch.sensitivity import hawq_v2

        state = self._state(model)
        with self._lock:
            self._ensure_example(state, calibration)
            ops = self._graph(state)
        specs = {spec.name: spec for spec in self.capability(model).ops}
        modules = {name: ops[name].module for name in wanted if name in ops and ops[name].module}
        options = {}
        for name in wanted:
            option = tune_cfg.ops.get(name)
            if option is None or option.is_float:  # score the op at the option it would be tried with
                quantized = specs[name].quantized_options if name in specs else ()
                option = quantized[0] if quantized else OpOption.float("fp32")
            options[name] = option
        batches = self._batches(state, calibration)[: max(1, self.sensitivity_batches)] or [state.example]
        with self._threads():
            loss_fn, samples = calibration.loss_fn, self.hutchinson_samples
            return hawq_v2(state.model, modules, options, batches, loss_fn, samples, self.seed)

    def _tensor_graph(self, model: Any, calibration: Calibration) -> tuple[_ModelState, Any]:
        """The state whose op nodes name ``model``'s tensors, and the graph to run."""
        with self._lock:
            state = self._derived_state(model)
            if state is not None:
                return state, model
        state = self._state(model)
        with self._lock:
            self._ensure_example(state, calibration)
            self._graph(state)
        return state, state.graph

    def _runner(self, model: Any) -> Any:
        """``model``, or its ``torch.compile`` wrapper when ``compile`` is on (cached for the fp32 models)."""
        if not self.compile:
            return model
        import torch

        state = self._state_if_known(model)
        if state is None:
            return torch.compile(model)
        if state.compiled is None:
            state.compiled = torch.compile(model)
        return state.compiled

    @contextmanager
    def _compile_settings(self) -> Any:
        """Inductor freezing while compiled models run (it lowers PT2E q/dq patterns to int8 kernels)."""
        if not self.compile:
            yield
            return
        from torch._inductor import config as inductor_config

        with inductor_config.patch(freezing=True):
            yield

    def _static(
        self,
        state: _ModelState,
        graph: Any,
        ops: Mapping[str, OpInfo],
        options: Mapping[str, OpOption],
        act_algorithm: str,
        calibration: Calibration,
        cost: TrialCost,
    ) -> Any:
        from inc_torch import static

        is_qat = calibration.train_fn is not None
        t0 = time.perf_counter()
        quantizer = static.make_quantizer(ops.values(), options, act_algorithm, is_qat)
        prepared = static.prepare(graph, quantizer, is_qat)
        cost.prepare_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        if is_qat:
            assert calibration.train_fn is not None
            calibration.train_fn(prepared)
            cost.calibration = "trained"
        else:
            missing: list[str] = ["(reuse off)"]
            if self.reuse_calibration:
                stats = self._stats(state, calibration, act_algorithm)
                missing = static.load_stats(prepared, stats)
            if missing:
                if self.reuse_calibration:
                    logger.debug("torch adaptor: no cached statistics for %s; calibrating this trial", missing)
                static.calibrate(prepared, self._feeder(state, calibration))
                self.calibration_runs += 1
                cost.calibration = "calibrated"
            else:
                cost.calibration = "reused"
        cost.calibration_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        converted = static.convert(prepared)
        cost.convert_s = time.perf_counter() - t2
        return converted

    def _stats(self, state: _ModelState, calibration: Calibration, act_algorithm: str) -> ObserverStats:
        """Observer states for this calibration setting: computed once with every static-capable op observed."""
        from inc_torch import static
        from inc_torch.capability import static_options
        from inc_torch.graph import copy_graph_module

        key = (id(calibration.data), id(calibration.run_fn), self.calib_batches, act_algorithm)
        with self._lock:
            if key in state.stats:
                return state.stats[key]
            state.keep_alive.append(calibration)
            t0 = time.perf_counter()
            default = static_options()[0]
            ops = self._graph(state)
            every = {name: default for name, info in ops.items() if info.aten in static.STATIC_ATEN}
            quantizer = static.make_quantizer(ops.values(), every, act_algorithm, False)
            prepared = static.prepare(copy_graph_module(state.graph), quantizer)
            static.calibrate(prepared, self._feeder(state, calibration))
            self.calibration_runs += 1
            stats = static.ObserverStats(static.harvest(prepared), time.perf_counter() - t0)
            state.stats[key] = stats
            logger.info(
                "torch adaptor: calibrated once (%s, %d observers, %.2f s); trials reuse these statistics",
                act_algorithm,
                len(stats.states),
                stats.seconds,
            )
            return stats

    def _quantized_weight(self, state: _ModelState, info: OpInfo, option: OpOption, cost: TrialCost) -> Any:
        from inc_torch.weights import quantize_module_weight

        key = (info.name, option)
        with self._lock:
            cached = state.weights.get(key)
            if cached is not None:
                cost.weights_reused += 1
                return cached
        if info.module is None:
            raise AdaptorError(f"op {info.name!r}: {option} needs a Linear/Embedding module")
        weight = quantize_module_weight(state.model.get_submodule(info.module), option)
        cost.weights_quantized += 1
        with self._lock:
            state.weights[key] = weight
        return weight

    def _smoothed_weight(
        self,
        state: _ModelState,
        info: OpInfo,
        option: OpOption,
        alpha: float,
        calibration: Calibration,
        cost: TrialCost,
    ) -> Any:
        """SmoothQuant dynamic-int8 weight; activations are observed once per calibration setting."""
        from inc_torch.weights import smoothquant_weight

        observers = self._smoothquant_observers(state, calibration)
        key = (info.name, option, alpha, id(calibration.data), id(calibration.run_fn))
        with self._lock:
            cached = state.weights.get(key)  # type: ignore[call-overload]
            if cached is not None:
                cost.weights_reused += 1
                return cached
        if info.name not in observers:
            raise AdaptorError(f"op {info.name!r}: SmoothQuant needs a Linear module")
        weight = smoothquant_weight(observers[info.name], option, alpha)
        cost.weights_quantized += 1
        with self._lock:
            state.weights[key] = weight  # type: ignore[index]
        return weight

    def _smoothquant_observers(self, state: _ModelState, calibration: Calibration) -> dict[str, Any]:
        """Observed copies of the dynamic-capable Linear modules, fed the calibration data once."""
        import torch

        from inc_torch import static
        from inc_torch.graph import copy_graph_module, node_by_name
        from inc_torch.weights import smoothquant_observed

        key = ("smoothquant", id(calibration.data), id(calibration.run_fn), self.calib_batches)
        with self._lock:
            if key in state.stats:
                return state.stats[key].states  # type: ignore[return-value]
            state.keep_alive.append(calibration)
            graph = copy_graph_module(state.graph)
            observed: dict[str, Any] = {}
            for name, info in self._graph(state).items():
                if info.is_module_op and info.aten == "linear":
                    module = smoothquant_observed(state.model.get_submodule(info.module or ""))
                    observed[name] = module
                    target = f"_inc_smoothquant_obs_{info.node}"
                    graph.add_submodule(target, module.obs)
                    node = node_by_name(graph, info.node or "")
                    with graph.graph.inserting_before(node):
                        graph.graph.call_module(target, (node.args[0],))
            graph.recompile()
            t0 = time.perf_counter()
            with torch.no_grad():
                self._feeder(state, calibration)(graph)
            self.calibration_runs += 1
            state.stats[key] = static.ObserverStats(observed, time.perf_counter() - t0)  # type: ignore[arg-type]
            return observed

    def _feeder(self, state: _ModelState, calibration: Calibration) -> Callable[[Any], None]:
        if calibration.run_fn is not None:
            return calibration.run_fn
        batches = self._batches(state, calibration)
        if not batches:
            raise AdaptorError(
                "static int8 needs calibration: pass calib_data (batches of example inputs) or run_fn(model)"
            )

        def feed(model: Any) -> None:
            for batch in batches:
                batch.call(model)

        return feed

    # State ----------------------------------------------------------------------------------
    def _state(self, model: Any) -> _ModelState:
        from inc_torch._quiet import install_filters

        install_filters()  # every entry point passes here
        with self._lock:
            state = self._states.get(id(model))
            if state is None or state.model is not model:
                from inc_torch.inputs import positional_inputs, to_batch

                if not self.accepts(model) or isinstance(model, (str, Path)):
                    raise AdaptorError(f"the torch adaptor needs a torch.nn.Module, got {type(model).__name__}")
                state = _ModelState(model, positional_inputs(model))
                if self.example_inputs is not None:
                    example = self.example_inputs
                    if isinstance(example, list):
                        example = tuple(example)
                    state.example = to_batch(example, state.n_inputs, "example_inputs")
                    state.example = Batch(state.example.args, state.example.kwargs)  # a label is not an input
                self._states[id(model)] = state
            return state

    def _derived_state(self, model: Any) -> _ModelState | None:
        """The state of the model `quantize` made ``model`` from (None if it made none)."""
        try:
            return self._derived.get(model)
        except TypeError:  # not weak-referenceable: no module of ours
            return None

    def _state_if_known(self, model: Any) -> _ModelState | None:
        state = self._states.get(id(model))
        return state if state is not None and state.model is model else None

    def _ensure_example(self, state: _ModelState, calibration: Calibration) -> None:
        if state.example is not None:
            return
        from inc_torch.inputs import capture_run_fn_inputs

        batches = self._batches(state, calibration, check=False)
        if batches:
            state.example = Batch(batches[0].args, batches[0].kwargs)
        elif calibration.run_fn is not None:
            state.example = capture_run_fn_inputs(state.model, calibration.run_fn)
        else:
            raise AdaptorError(
                "the torch adaptor needs example inputs to export the model: pass calib_data, run_fn, "
                "or TorchAdaptor(example_inputs=...)"
            )

    def _batches(self, state: _ModelState, calibration: Calibration, check: bool = True) -> list[Batch]:
        from inc_torch.inputs import check_batch, read_batches

        if calibration.data is None:
            return []
        key = (id(calibration.data), self.calib_batches)
        with self._lock:
            batches = state.batches.get(key)
            if batches is None:
                batches = read_batches(calibration.data, state.n_inputs, self.calib_batches)
                state.batches[key] = batches
                state.keep_alive.append(calibration.data)
                if check and state.example is not None:
                    for index, batch in enumerate(batches):
                        check_batch(batch, state.example, f"calibration batch {index}")
        return batches

    def _graph(self, state: _ModelState) -> dict[str, OpInfo]:
        """The exported fp32 graph's ops (exporting on first use)."""
        from inc_torch.graph import discover_ops, export_model

        with self._lock:
            if state.graph is None:
                if state.example is None:
                    raise AdaptorError("internal: the model is exported before example inputs are known")
                t0 = time.perf_counter()
                state.graph = export_model(state.model, state.example)
                state.graph_ops = {info.name: info for info in discover_ops(state.graph, state.model)}
                logger.debug("torch adaptor: exported in %.2f s", time.perf_counter() - t0)
            return state.graph_ops

    def _tree_names(self, state: _ModelState) -> set[str]:
        return {spec.name for spec in state.capability.ops} if state.capability is not None else set()

    def _shape(self, model: Any, info: OpInfo) -> tuple[int, int] | None:
        if info.module is None:
            return None
        weight = getattr(model.get_submodule(info.module), "weight", None)
        return (int(weight.shape[0]), int(weight.shape[-1])) if weight is not None and weight.dim() == 2 else None

    def _any_example(self, model: Any, calibration: Calibration | None = None) -> Batch:
        """Example inputs for ``model`` or, for a quantized copy, those of any model seen."""
        from inc_torch.inputs import positional_inputs, to_batch

        state = self._state_if_known(model) or self._derived_state(model)
        if state is not None and state.example is not None:
            return state.example
        for known in self._states.values():
            if known.example is not None:
                return known.example
        if self.example_inputs is not None:
            return to_batch(self.example_inputs, positional_inputs(model), "example_inputs")
        raise AdaptorError("no example inputs known: pass calib_data or TorchAdaptor(example_inputs=...)")

    @contextmanager
    def _threads(self) -> Any:
        import torch

        if self.threads is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)
