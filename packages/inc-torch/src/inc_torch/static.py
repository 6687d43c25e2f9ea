"""Static int8 through PT2E: per-op quantization configs, the quantizer, observer reuse.

Every trial prepares the shared exported graph with `IncX86Quantizer` (torchao's
``X86InductorQuantizer`` plus node-level annotation for the ops it does not
cover: Conv1d, functional conv/linear, matmul, bmm, and the conv/linear ops of
``nn.Conv2d``/``nn.Linear`` subclasses, which its module patterns do not match). Ops a trial does not run in
static int8 are marked "not quantized" (``set_module_name_qconfig(name, None)``
for modules), so no observer, quantize or dequantize node touches them.

Calibration reuse: activation observers only watch fp32 tensors of the
unquantized graph, whose values do not depend on which other ops are quantized.
So the data is run once per calibration setting through a graph prepared with
every static-capable op observed; each observer's state (min/max, histogram) is
stored under the names of the graph nodes it watches. A trial's prepared graph
gets its observers' states from that store; weight observers are run on the
weights directly. An observer the store does not have (a sharing pattern the
all-ops run did not produce) makes the trial calibrate itself, and is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inc_core import OpOption
from inc_torch._quiet import import_torchao, quiet_quantizer
from inc_torch.graph import OpInfo

if TYPE_CHECKING:
    import torch

ACT_ALGORITHMS = ("histogram", "minmax")
"""``histogram``: HistogramObserver (clipping range minimising the L2 error; the x86 default).
``minmax``: MinMaxObserver (the full observed range)."""

STATIC_ATEN = ("conv1d", "conv2d", "linear", "matmul", "bmm")
_X86_MODULE_ATEN = ("conv2d", "linear")  # what set_module_name_qconfig covers for module ops
# ... of exactly nn.Conv2d / nn.Linear: X86InductorQuantizer finds them by the module class
# in ``nn_module_stack`` (exact class name), so it never annotates a subclass's op.


def quantization_config(option: OpOption, act_algorithm: str, is_qat: bool = False) -> Any:
    """The PT2E ``QuantizationConfig`` for one static int8 option."""
    import torch

    import_torchao()
    from torchao.quantization.pt2e import (
        HistogramObserver,
        MinMaxObserver,
        PerChannelMinMaxObserver,
    )
    from torchao.quantization.pt2e.quantizer import QuantizationConfig, QuantizationSpec
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        get_default_x86_inductor_quantization_config,
    )

    if is_qat:  # torchao's QAT recipe: per-channel weights, uint8 activations
        return get_default_x86_inductor_quantization_config(is_qat=True)
    extra = {"eps": 2**-12}
    act_observer = HistogramObserver if act_algorithm == "histogram" else MinMaxObserver
    if option.get("act_scheme", "asym") == "sym":
        act = QuantizationSpec(
            dtype=torch.int8,
            quant_min=-128,
            quant_max=127,
            qscheme=torch.per_tensor_symmetric,
            observer_or_fake_quant_ctr=act_observer.with_args(**extra),
        )
    else:
        act = QuantizationSpec(
            dtype=torch.uint8,
            quant_min=0,
            quant_max=255,
            qscheme=torch.per_tensor_affine,
            observer_or_fake_quant_ctr=act_observer.with_args(**extra),
        )
    if option.get("weight_granularity", "per_channel") == "per_channel":
        weight = QuantizationSpec(
            dtype=torch.int8,
            quant_min=-128,
            quant_max=127,
            qscheme=torch.per_channel_symmetric,
            ch_axis=0,
            observer_or_fake_quant_ctr=PerChannelMinMaxObserver.with_args(**extra),
        )
    else:
        weight = QuantizationSpec(
            dtype=torch.int8,
            quant_min=-128,
            quant_max=127,
            qscheme=torch.per_tensor_symmetric,
            observer_or_fake_quant_ctr=MinMaxObserver.with_args(**extra),
        )
    return QuantizationConfig(act, act, weight, None, False)


def make_quantizer(
    ops: Iterable[OpInfo], options: Mapping[str, OpOption | None], act_algorithm: str, is_qat: bool
) -> Any:
    """A quantizer that quantizes exactly the ops whose option is static int8 (others stay float)."""
    import_torchao()
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import X86InductorQuantizer

    class IncX86Quantizer(X86InductorQuantizer):
        """X86InductorQuantizer driven op by op; annotates the ops it has no recipe for."""

        def __init__(self) -> None:
            super().__init__()
            self.node_configs: dict[str, tuple[str, Any]] = {}

        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            for node in model.graph.nodes:
                entry = self.node_configs.get(node.name)
                if entry is not None:
                    _annotate_node(node, entry[0], entry[1])
            return super().annotate(model)

    quantizer = IncX86Quantizer()
    configs: dict[OpOption, Any] = {}
    for info in ops:
        option = options.get(info.name)
        config = None
        if option is not None and option.mode == "static" and info.aten in STATIC_ATEN:
            if option not in configs:
                configs[option] = quantization_config(option, act_algorithm, is_qat)
            config = configs[option]
        if info.is_module_op and info.exact_module and info.aten in _X86_MODULE_ATEN:
            quantizer.set_module_name_qconfig(info.module, config)
        elif info.node is not None and info.aten in STATIC_ATEN:
            quantizer.node_configs[info.node] = (info.aten, config)
    return quantizer


def _annotate_node(node: torch.fx.Node, aten: str, config: Any) -> None:
    import torch
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        QUANT_ANNOTATION_KEY,
        _X86InductorQuantizationAnnotation,
    )

    if config is None:
        node.meta[QUANT_ANNOTATION_KEY] = _X86InductorQuantizationAnnotation(_annotated=True)
        return
    qspecs: dict[torch.fx.Node, Any] = {}
    if aten in ("matmul", "bmm"):
        for arg in node.args[:2]:
            if isinstance(arg, torch.fx.Node):
                qspecs[arg] = config.input_activation
    else:  # conv1d / conv2d / linear: activation, weight; bias stays float
        activation, weight = node.args[0], node.args[1]
        if isinstance(activation, torch.fx.Node):
            qspecs[activation] = config.input_activation
        if isinstance(weight, torch.fx.Node):
            qspecs[weight] = config.weight
    node.meta[QUANT_ANNOTATION_KEY] = _X86InductorQuantizationAnnotation(
        input_qspec_map=qspecs, _annotated=True, _is_output_of_quantized_pattern=False
    )


def prepare(graph_module: torch.fx.GraphModule, quantizer: Any, is_qat: bool = False) -> torch.fx.GraphModule:
    import_torchao()
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, prepare_qat_pt2e

    with quiet_quantizer():
        return (prepare_qat_pt2e if is_qat else prepare_pt2e)(graph_module, quantizer)


def convert(prepared: torch.fx.GraphModule) -> torch.fx.GraphModule:
    import_torchao()
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    with quiet_quantizer():
        return convert_pt2e(prepared)


# Observer statistics ----------------------------------------------------------------------
ObserverKey = tuple[str, frozenset[str]]


@dataclass
class ObserverStats:
    """Observer states from one calibration run, keyed by (observer class, watched node names)."""

    states: dict[ObserverKey, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0  # what the calibration run cost


def _observers(prepared: torch.fx.GraphModule) -> dict[str, tuple[Any, list[torch.fx.Node]]]:
    """Observer module target -> (module, the graph nodes it watches)."""
    import torch
    from torchao.quantization.pt2e import ObserverBase

    found: dict[str, tuple[Any, list[torch.fx.Node]]] = {}
    for node in prepared.graph.nodes:
        if node.op != "call_module":
            continue
        module = prepared.get_submodule(str(node.target))
        if not isinstance(module, ObserverBase):
            continue
        watched = node.args[0]
        entry = found.setdefault(str(node.target), (module, []))
        if isinstance(watched, torch.fx.Node):
            entry[1].append(watched)
    return found


def _key(module: Any, nodes: list[torch.fx.Node]) -> ObserverKey:
    return (type(module).__name__, frozenset(n.name for n in nodes))


def harvest(prepared: torch.fx.GraphModule) -> dict[ObserverKey, dict[str, Any]]:
    """The states of a calibrated prepared graph's activation observers."""
    states = {}
    for module, nodes in _observers(prepared).values():
        if nodes and not all(n.op == "get_attr" for n in nodes):
            states[_key(module, nodes)] = {k: v.clone() for k, v in module.state_dict().items()}
    return states


def load_stats(prepared: torch.fx.GraphModule, stats: ObserverStats) -> list[str]:
    """Fill a prepared graph's observers from ``stats``; weights are observed directly.

    Returns the watched node names of observers ``stats`` had no state for.
    """
    import torch

    missing: list[str] = []
    for module, nodes in _observers(prepared).values():
        if nodes and all(n.op == "get_attr" for n in nodes):
            from inc_torch.graph import get_attr_value

            with torch.no_grad():
                for node in nodes:
                    module(get_attr_value(prepared, str(node.target)))
            continue
        state = stats.states.get(_key(module, nodes))
        if state is None:
            missing.extend(n.name for n in nodes)
            continue
        module.load_state_dict(state)
    return missing


def calibrate(prepared: torch.fx.GraphModule, feed: Callable[[torch.nn.Module], None]) -> None:
    import torch

    with torch.no_grad():
        feed(prepared)
