"""Named activation tensors of exported graphs, for core's sensitivity and range checks.

Names: ``<op>:in0`` (``:in1`` for matmul/bmm) is the float activation an op reads,
``<op>:out`` what it writes, ``output:<i>`` the i-th tensor of the model's output
(flattened). A quantized graph keeps the node names of the fp32 graph it was built
from (PT2E inserts quantize/dequantize nodes around them, torchao swaps the weight,
a bf16 op gets casts around it), so each name resolves to the node playing the same
part in every graph:

* an input skips the quantize/dequantize/cast nodes in front of the op: it is the value
  the producer made, not the op's quantized copy of it (that copy's error is the op's);
* an output follows casts back to float and a BatchNorm that reads only the op, since
  ``prepare_pt2e`` folds that BatchNorm into a conv: ``conv:out`` is the normalised
  value in the fp32 graph and in the quantized one alike.

The graphs run through an `torch.fx.Interpreter` that keeps the named nodes' values,
so functional ops (matmul, bmm) are exposed as well as modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from inc_torch.graph import OpInfo
from inc_torch.inputs import Batch

if TYPE_CHECKING:
    import torch

OUTPUT = "output"
_SKIPPED_INPUTS = frozenset(
    {
        "quantize_per_tensor",
        "dequantize_per_tensor",
        "quantize_per_channel",
        "dequantize_per_channel",
        "_to_copy",
    }
)
_BATCH_NORMS = frozenset({"batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit"})


def input_names(info: OpInfo) -> tuple[str, ...]:
    """The float activations ``info`` reads (embedding indices are not one)."""
    if info.aten == "embedding":
        return ()
    count = 2 if info.aten in ("matmul", "bmm") else 1
    return tuple(f"{info.name}:in{i}" for i in range(count))


def output_names(info: OpInfo) -> tuple[str, ...]:
    return (f"{info.name}:out",)


def model_output_names(graph_module: torch.fx.GraphModule | None) -> tuple[str, ...]:
    """``output:<i>`` for each tensor the graph returns; ``output:0`` alone when no graph is known yet."""
    import torch.utils._pytree as pytree

    if graph_module is None:
        return (f"{OUTPUT}:0",)
    node = next(n for n in reversed(graph_module.graph.nodes) if n.op == "output")
    leaves = pytree.tree_leaves(node.args[0])
    return tuple(f"{OUTPUT}:{i}" for i in range(len(leaves)))


def _packet(node: Any) -> str:
    target = getattr(node, "target", None)
    packet = getattr(target, "overloadpacket", target)
    return str(getattr(packet, "__name__", ""))


def _producer(node: Any) -> Any:
    while getattr(node, "op", None) == "call_function" and _packet(node) in _SKIPPED_INPUTS:
        node = node.args[0]
    return node


def _result(node: torch.fx.Node) -> torch.fx.Node:
    import operator

    while len(node.users) == 1:
        user = next(iter(node.users))
        casts = _packet(user) == "_to_copy"
        normalises = _packet(user) in _BATCH_NORMS and user.args[0] is node
        picks_first = _packet(node) in _BATCH_NORMS and user.target is operator.getitem and user.args[1] == 0
        if not (casts or normalises or picks_first):
            break
        node = user
    return node


def locate(
    graph_module: torch.fx.GraphModule, op_nodes: Mapping[str, str], names: Iterable[str]
) -> dict[str, torch.fx.Node]:
    """Graph node holding each named tensor; names the graph cannot expose are left out.

    ``op_nodes``: op name -> the name of its node (the same in the fp32 and quantized graphs).
    ``output:<i>`` names are not nodes (see `capture`).
    """
    nodes = {node.name: node for node in graph_module.graph.nodes}
    found = {}
    for name in names:
        op, _, part = name.rpartition(":")
        node = nodes.get(op_nodes.get(op, ""))
        if node is None:
            continue
        if part == "out":
            found[name] = _result(node)
        elif part.startswith("in") and part[2:].isdigit() and int(part[2:]) < len(node.args):
            source = _producer(node.args[int(part[2:])])
            if getattr(source, "op", None) not in (None, "get_attr"):
                found[name] = source
    return found


def capture(
    graph_module: torch.fx.GraphModule, batches: Iterable[Batch], located: Mapping[str, torch.fx.Node], outputs: bool
) -> Iterator[dict[str, np.ndarray]]:
    """Run ``graph_module`` on each batch; yield the located nodes' values (and ``output:<i>``) as float32 arrays."""
    import torch
    import torch.utils._pytree as pytree

    wanted: dict[torch.fx.Node, list[str]] = {}
    for name, node in located.items():
        wanted.setdefault(node, []).append(name)
    values: dict[str, np.ndarray] = {}

    class Capture(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            out = super().run_node(n)
            if n in wanted and isinstance(out, torch.Tensor):
                values.update(dict.fromkeys(wanted[n], _array(out)))
            return out

    for batch in batches:
        values = {}
        leaves = pytree.tree_leaves((tuple(batch.args), dict(batch.kwargs)))
        with torch.no_grad():
            result = Capture(graph_module).run(*leaves)
        if outputs:
            for i, leaf in enumerate(pytree.tree_leaves(result)):
                if isinstance(leaf, torch.Tensor):
                    values[f"{OUTPUT}:{i}"] = _array(leaf)
        yield values


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()
