"""Model size as stored: parameters, buffers and graph constants, packed weights counted by their storage."""

from __future__ import annotations

from typing import Any


def tensor_bytes(tensor: Any) -> int:
    """Bytes a tensor stores; torchao subclasses count their inner (packed) tensors, scales and zero points."""
    import torch

    flatten = getattr(type(tensor), "__tensor_flatten__", None)
    if flatten is not None and type(tensor) not in (torch.Tensor, torch.nn.Parameter):
        names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in names)
    if isinstance(tensor, torch.nn.Parameter):
        tensor = tensor.data
    if not isinstance(tensor, torch.Tensor):
        return 0
    return int(tensor.numel() * tensor.element_size())


def model_size(model: Any) -> int:
    """Bytes of every distinct tensor a module holds (parameters, buffers, tensor attributes of a graph)."""
    import torch

    seen: set[int] = set()
    total = 0

    def add(value: Any) -> None:
        nonlocal total
        if isinstance(value, torch.Tensor) and id(value) not in seen:
            seen.add(id(value))
            total += tensor_bytes(value)

    for _, param in model.named_parameters(remove_duplicate=True):
        add(param)
    for _, buffer in model.named_buffers(remove_duplicate=True):
        add(buffer)
    graph = getattr(model, "graph", None)
    if isinstance(graph, torch.fx.Graph):
        for node in graph.nodes:
            if node.op == "get_attr":
                value: Any = model
                try:
                    for part in str(node.target).split("."):
                        value = getattr(value, part)
                except AttributeError:
                    continue
                add(value)
    return total
