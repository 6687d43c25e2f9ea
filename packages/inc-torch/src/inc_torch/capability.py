"""The options each op type offers (first = default), filtered by what this machine runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inc_core import Capability, OpOption, OpSpec
from inc_torch.graph import OpInfo
from inc_torch.static import ACT_ALGORITHMS
from inc_torch.tensors import input_names, output_names
from inc_torch.weights import INT4_PACKINGS, float_dtype_reason, probe

GROUP_SIZES = (32, 128)
SMOOTH_QUANT_ALPHAS: tuple[float | None, ...] = (None, 0.5, 0.75)
"""SmoothQuant (torchao prototype) for dynamic int8 Linear ops: None = off; else the
migration strength alpha (activation outliers moved into the weights)."""


def static_options() -> list[OpOption]:
    """Static int8 as X86InductorQuantizer does it: symmetric int8 weights (per-channel or
    per-tensor), asymmetric uint8 activations (the only activation scheme its x86 int8
    kernels take)."""
    return [
        OpOption("int8", "static", {"weight_granularity": granularity, "weight_scheme": "sym", "act_scheme": "asym"})
        for granularity in ("per_channel", "per_tensor")
    ]


def dynamic_options() -> list[OpOption]:
    """Dynamic int8 (torchao ``Int8DynamicActivationInt8WeightConfig``): per-channel weights,
    per-token activations, symmetric (torchao's default) or asymmetric."""
    return [
        OpOption("int8", "dynamic", {"weight_granularity": "per_channel", "weight_scheme": "sym", "act_scheme": act})
        for act in ("sym", "asym")
    ]


def _int4_options(kind: str, shape: tuple[int, int] | None) -> list[OpOption]:
    options = []
    for group in GROUP_SIZES:
        if shape is not None and shape[1] % group:
            continue
        for packing in INT4_PACKINGS if kind == "linear" else ("unpacked",):
            option = OpOption("int4", "weight_only", {"group_size": group, "weight_scheme": "sym", "packing": packing})
            if probe(kind, option) is None and probe(kind, option, shape) is None:
                options.append(option)
                break  # the first packing that runs here
    return options


def weight_only_options(kind: str, shape: tuple[int, int] | None) -> list[OpOption]:
    int8 = OpOption("int8", "weight_only", {"weight_granularity": "per_channel", "weight_scheme": "sym"})
    options = [int8] if probe(kind, int8) is None else []
    return options + _int4_options(kind, shape)


def float_options() -> list[OpOption]:
    return [OpOption.float(d) for d in ("bf16", "fp16") if float_dtype_reason(d) is None] + [OpOption.float("fp32")]


def options_for(info: OpInfo, shape: tuple[int, int] | None) -> tuple[OpOption, ...]:
    """Options of one op; ``shape``: its weight's (rows, columns), for int4 layouts and group sizes."""
    options: list[OpOption] = []
    if info.aten in ("conv1d", "conv2d", "linear", "matmul", "bmm"):
        if info.aten in ("matmul", "bmm"):
            options.append(OpOption("int8", "static", {"act_scheme": "asym"}))
        else:
            options += static_options()
    if info.is_module_op and info.aten == "linear":
        options += [o for o in dynamic_options() if probe("linear", o) is None]
        options += weight_only_options("linear", shape)
    if info.is_module_op and info.aten == "embedding":
        options += weight_only_options("embedding", shape)
    return tuple(options + float_options())


def build_capability(
    ops: Sequence[OpInfo], shapes: dict[str, tuple[int, int] | None], outputs: Sequence[str]
) -> Capability:
    """The capability of ``ops``, each naming its activation tensors (`inc_torch.tensors`); ``outputs``: the model's."""
    specs = tuple(
        OpSpec(info.name, info.type, options_for(info, shapes.get(info.name)), input_names(info), output_names(info))
        for info in ops
    )
    recipes: dict[str, tuple[Any, ...]] = {"act_algorithm": ACT_ALGORITHMS}
    if any(o.mode == "dynamic" for spec in specs for o in spec.options):
        recipes["smooth_quant_alpha"] = SMOOTH_QUANT_ALPHAS
    return Capability(specs, recipes, framework="torch", outputs=tuple(outputs))
