"""The exported graph: export with good errors, find quantizable ops, edit ops in place.

Ops are named after the module that owns them (``features.0``, ``fc1``) when a
Conv/Linear/Embedding module (or a subclass, e.g. a same-padding Conv2d) runs exactly
one such op on its own weight; functional ops
(``torch.matmul``, ``torch.bmm``, ``functional.linear`` inside a custom module) are named
``<owner module>.<node name>`` (``attn.matmul_1``) and can only be quantized
statically (they own no weight module for torchao's ``quantize_``).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inc_core import AdaptorError
from inc_torch.inputs import Batch

if TYPE_CHECKING:
    import torch

# aten op name -> (op type of a module op, op type of a functional op)
_WEIGHTED = {
    "conv1d": ("Conv1d", "conv1d"),
    "conv2d": ("Conv2d", "conv2d"),
    "linear": ("Linear", "linear"),
    "embedding": ("Embedding", "embedding"),
}
_ACTIVATION_ONLY = {"matmul": "matmul", "bmm": "bmm"}


@dataclass(frozen=True)
class OpInfo:
    """One quantizable op: its name and type, its node in the exported graph, its module."""

    name: str
    type: str
    node: str | None  # node name in the exported graph (None before export)
    module: str | None  # FQN of the owning nn module for module ops
    aten: str  # conv1d / conv2d / linear / embedding / matmul / bmm
    exact_module: bool = False  # the module is exactly nn.Conv1d/Conv2d/Linear/Embedding, not a subclass

    @property
    def is_module_op(self) -> bool:
        return self.module is not None


def export_model(model: torch.nn.Module, example: Batch) -> torch.fx.GraphModule:
    """``torch.export.export(model, example).module()`` with a dynamic batch dimension when possible."""
    return export_program(model, example).module()


def export_program(model: torch.nn.Module, example: Batch) -> torch.export.ExportedProgram:
    """``torch.export.export`` with a dynamic batch dimension when possible; `AdaptorError` with the reason."""
    import torch

    was_training = model.training
    model.eval()
    try:

        def dims(value: Any) -> Any:
            if isinstance(value, torch.Tensor) and value.dim() >= 1:
                return {0: torch.export.Dim.AUTO}
            return None

        args, kwargs = tuple(example.args), dict(example.kwargs)
        try:
            bound = inspect.signature(model.forward).bind(*args, **kwargs).arguments
            dynamic: Any = {name: dims(value) for name, value in bound.items()}
        except (TypeError, ValueError):
            dynamic = None
        try:
            if dynamic is None:
                raise TypeError("no signature to attach dynamic shapes to")
            program = torch.export.export(model, args, kwargs, dynamic_shapes=dynamic)
        except Exception:
            try:
                program = torch.export.export(model, args, kwargs)
            except Exception as exc:
                reason = str(exc).strip().splitlines()
                short = "\n".join(reason[:12])
                raise AdaptorError(
                    f"torch.export could not capture {type(model).__name__}: {type(exc).__name__}: {short}\n"
                    "Hint: pass example inputs that match forward() (calib_data, or "
                    "TorchAdaptor(example_inputs=...)), and make the module exportable (no data-dependent "
                    "Python control flow or unsupported ops; see the torch.export docs)."
                ) from exc
    finally:
        model.train(was_training)
    return program


def _aten_name(node: torch.fx.Node) -> str | None:
    target = node.target
    packet = getattr(target, "overloadpacket", None)
    name = getattr(packet, "__name__", None)
    if name in _WEIGHTED or name in _ACTIVATION_ONLY:
        return name
    return None


def _owner(node: torch.fx.Node) -> tuple[str, str]:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", ""
    fqn, cls = list(stack.values())[-1]
    return str(fqn), str(cls if isinstance(cls, str) else getattr(cls, "__name__", cls))


def discover_ops(graph_module: torch.fx.GraphModule, model: torch.nn.Module) -> list[OpInfo]:
    """Quantizable ops of an exported graph, in graph order."""
    found: list[tuple[torch.fx.Node, str, str]] = []
    per_module: dict[str, int] = {}
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        aten = _aten_name(node)
        if aten is None:
            continue
        fqn, _ = _owner(node)
        found.append((node, aten, fqn))
        if aten in _WEIGHTED:
            per_module[fqn] = per_module.get(fqn, 0) + 1
    ops: list[OpInfo] = []
    for node, aten, fqn in found:
        if aten in _WEIGHTED:
            op_type, functional_type = _WEIGHTED[aten]
            if per_module.get(fqn) == 1 and _is_module_op(node, aten, fqn, _submodule(model, fqn)):
                exact = type(_submodule(model, fqn)) is _module_class(aten)
                ops.append(OpInfo(fqn, op_type, node.name, fqn, aten, exact))
                continue
            ops.append(OpInfo(_functional_name(fqn, node.name), functional_type, node.name, None, aten))
        else:
            ops.append(OpInfo(_functional_name(fqn, node.name), _ACTIVATION_ONLY[aten], node.name, None, aten))
    return ops


def _module_class(aten: str) -> type:
    import torch

    return {
        "conv1d": torch.nn.Conv1d,
        "conv2d": torch.nn.Conv2d,
        "linear": torch.nn.Linear,
        "embedding": torch.nn.Embedding,
    }[aten]


def _is_module_op(node: torch.fx.Node, aten: str, fqn: str, module: torch.nn.Module | None) -> bool:
    """Whether ``node`` is the one op of a Conv/Linear/Embedding module (subclasses included) on its own weight.

    Subclasses that pad in ``forward`` and then call ``F.conv2d`` with their own weight
    (EfficientNet's ``Conv2dStaticSamePadding``) count; a module whose op reads a weight
    computed in ``forward`` does not (torchao's weight swap would change what it computes),
    and is tuned as a functional op instead.
    """
    if not fqn or module is None or not isinstance(module, _module_class(aten)):
        return False
    weight = node.args[weight_arg_index(aten)] if len(node.args) > weight_arg_index(aten) else None
    return getattr(weight, "op", None) == "get_attr" and str(getattr(weight, "target", "")) == f"{fqn}.weight"


def _functional_name(owner: str, node_name: str) -> str:
    return f"{owner}.{node_name}" if owner else node_name


def _submodule(model: torch.nn.Module, fqn: str) -> torch.nn.Module | None:
    if not fqn:
        return model
    try:
        return model.get_submodule(fqn)
    except AttributeError:
        return None


def module_tree_ops(model: torch.nn.Module) -> list[OpInfo]:
    """Conv1d/Conv2d/Linear/Embedding modules (and subclasses) in definition order (used before any export)."""
    ops = []
    for fqn, module in model.named_modules():
        aten = next((a for a in _WEIGHTED if isinstance(module, _module_class(a))), None)
        if aten is not None and fqn:
            ops.append(OpInfo(fqn, _WEIGHTED[aten][0], None, fqn, aten, type(module) is _module_class(aten)))
    return ops


def node_by_name(graph_module: torch.fx.GraphModule, name: str) -> torch.fx.Node:
    for node in graph_module.graph.nodes:
        if node.name == name:
            return node
    raise AdaptorError(f"node {name!r} is not in the exported graph")


def get_attr_value(graph_module: torch.nn.Module, target: str) -> Any:
    value: Any = graph_module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def set_attr_value(graph_module: torch.nn.Module, target: str, value: Any) -> None:
    *path, leaf = target.split(".")
    owner: Any = graph_module
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, leaf, value)


def weight_arg_index(aten: str) -> int:
    return 0 if aten == "embedding" else 1


def swap_weight(graph_module: torch.fx.GraphModule, info: OpInfo, weight: torch.Tensor) -> None:
    """Give ``info``'s op a torchao-quantized weight; call it through ``functional.linear``/``functional.embedding``.

    torchao's weight tensor subclasses implement the functional ops (``__torch_function__``),
    not every aten op the graph's ``aten.linear`` decomposes into.
    """
    import torch
    import torch.nn.functional as functional

    node = node_by_name(graph_module, info.node or "")
    weight_node = node.args[weight_arg_index(info.aten)]
    if not isinstance(weight_node, torch.fx.Node) or weight_node.op != "get_attr":
        raise AdaptorError(f"op {info.name!r}: its weight is not a plain graph attribute; cannot swap it")
    target = f"_inc_qweight_{node.name}"
    setattr(graph_module, target, torch.nn.Parameter(weight, requires_grad=False))
    with graph_module.graph.inserting_before(node):
        new_weight = graph_module.graph.get_attr(target)
    if info.aten == "linear":
        args = list(node.args)
        args[1] = new_weight
        node.target = functional.linear
        node.args = tuple(args)
    elif info.aten == "embedding":
        weight_index = 0
        args = list(node.args)
        args[weight_index] = new_weight
        indices = args[1]
        padding_idx = args[2] if len(args) > 2 else None
        node.target = functional.embedding
        node.args = (indices, new_weight)
        node.kwargs = {"padding_idx": None if padding_idx in (None, -1) else padding_idx}
    else:
        raise AdaptorError(f"op {info.name!r} ({info.aten}) has no torchao weight-only/dynamic path")
    if not weight_node.users:
        graph_module.graph.erase_node(weight_node)


def cast_op(graph_module: torch.fx.GraphModule, info: OpInfo, dtype: torch.dtype) -> None:
    """Run ``info``'s op in ``dtype`` (bf16/fp16): cast its float inputs/weights in, its output back."""
    import torch

    node = node_by_name(graph_module, info.node or "")
    graph = graph_module.graph
    new_args = []
    for index, arg in enumerate(node.args):
        if isinstance(arg, torch.fx.Node) and _is_float(graph_module, arg, info.aten, index):
            if arg.op == "get_attr":
                value = get_attr_value(graph_module, str(arg.target))
                target = f"_inc_{str(dtype).split('.')[-1]}_{node.name}_{index}"
                setattr(graph_module, target, torch.nn.Parameter(value.detach().to(dtype), requires_grad=False))
                with graph.inserting_before(node):
                    new_args.append(graph.get_attr(target))
            else:
                with graph.inserting_before(node):
                    new_args.append(graph.call_function(torch.ops.aten._to_copy.default, (arg,), {"dtype": dtype}))
        else:
            new_args.append(arg)
    node.args = tuple(new_args)
    with graph.inserting_after(node):
        back = graph.call_function(torch.ops.aten._to_copy.default, (node,), {"dtype": torch.float32})
    node.replace_all_uses_with(back, delete_user_cb=lambda user: user is not back)
    graph.eliminate_dead_code()


def _is_float(graph_module: torch.fx.GraphModule, arg: torch.fx.Node, aten: str, index: int) -> bool:
    import torch

    if aten == "embedding" and index == 1:
        return False
    if arg.op == "get_attr":
        value = get_attr_value(graph_module, str(arg.target))
        return isinstance(value, torch.Tensor) and value.is_floating_point()
    val = arg.meta.get("val")
    if val is not None and hasattr(val, "dtype"):
        return bool(val.dtype.is_floating_point)
    return True


def copy_graph_module(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    return copy.deepcopy(graph_module)


def allow_eval_train(graph_module: torch.nn.Module) -> torch.nn.Module:
    """Undo PT2E's ban on ``.eval()``/``.train()`` so users' eval functions may call ``model.eval()``."""
    for name in ("eval", "train"):
        if name in graph_module.__dict__:
            del graph_module.__dict__[name]
    return graph_module


def drop_unused_attributes(graph_module: torch.fx.GraphModule) -> None:
    """Delete parameters/buffers no graph node reads (weights replaced by quantized or cast copies)."""
    used = {str(node.target) for node in graph_module.graph.nodes if node.op == "get_attr"}
    stale = [name for name, _ in graph_module.named_parameters(remove_duplicate=False) if name not in used]
    stale += [name for name, _ in graph_module.named_buffers(remove_duplicate=False) if name not in used]
    for name in stale:
        *path, leaf = name.split(".")
        owner: Any = graph_module
        for part in path:
            owner = getattr(owner, part)
        if leaf in owner._parameters:
            del owner._parameters[leaf]
        elif leaf in owner._buffers:
            del owner._buffers[leaf]
