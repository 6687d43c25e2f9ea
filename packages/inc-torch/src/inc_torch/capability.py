"""The options each op type offers (first = default), filtered by what this machine runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inc_core import Capability, OpOption, OpSpec
from inc_torch.graph import OpInfo
from inc_torch.static import ACT_ALGORITHMS
from inc_torch.weights import INT4_PACKINGS, float_dtype_reason, probe

GROUP_SIZES = (32, 128)


def static_options() -> list[OpOption]:
    """Static int8: per-channel/per-tensor symmetric weights x asymmetric (uint8)/symmetric (int8) activations."""
    return [
        OpOption(
            "int8",
            "static",
            {"weight_granularity": granularity, "weight_scheme": "sym", "act_scheme": act},
        )
        for granularity in ("per_channel", "per_tensor")
        for act in ("asym", "sym")
    ]


def dynamic_options() -> list[OpOption]:
    """Dynamic int8 (torchao): per-channel weights with per-token activations, or both per-tensor."""
    return [
        OpOption("int8", "dynamic", {"weight_granularity": granularity, "weight_scheme": "sym", "act_scheme": act})
        for granularity in ("per_channel", "per_tensor")
        for act in ("sym", "asym")
    ]


def _int4_options(kind: str, width: int | None) -> list[OpOption]:
    options = []
    for group in GROUP_SIZES:
        if width is not None and width % group:
            continue
        for packing in INT4_PACKINGS if kind == "linear" else ("unpacked",):
            option = OpOption("int4", "weight_only", {"group_size": group, "weight_scheme": "sym", "packing": packing})
            if probe(kind, option) is None:
                options.append(option)
                break  # the first packing that runs here
    return options


def weight_only_options(kind: str, width: int | None) -> list[OpOption]:
    int8 = OpOption("int8", "weight_only", {"weight_granularity": "per_channel", "weight_scheme": "sym"})
    options = [int8] if probe(kind, int8) is None else []
    return options + _int4_options(kind, width)


def float_options() -> list[OpOption]:
    return [OpOption.float(d) for d in ("bf16", "fp16") if float_dtype_reason(d) is None] + [OpOption.float("fp32")]


def options_for(info: OpInfo, width: int | None) -> tuple[OpOption, ...]:
    """Options of one op; ``width``: the weight's input features (for int4 group sizes)."""
    options: list[OpOption] = []
    if info.aten in ("conv1d", "conv2d", "linear", "matmul", "bmm"):
        if info.aten in ("matmul", "bmm"):
            options += [OpOption("int8", "static", {"act_scheme": act}) for act in ("asym", "sym")]
        else:
            options += static_options()
    if info.is_module_op and info.aten == "linear":
        options += [o for o in dynamic_options() if probe("linear", o) is None]
        options += weight_only_options("linear", width)
    if info.is_module_op and info.aten == "embedding":
        options += weight_only_options("embedding", width)
    return tuple(options + float_options())


def build_capability(ops: Sequence[OpInfo], widths: dict[str, int | None]) -> Capability:
    specs = tuple(OpSpec(info.name, info.type, options_for(info, widths.get(info.name))) for info in ops)
    recipes: dict[str, tuple[Any, ...]] = {"act_algorithm": ACT_ALGORITHMS}
    return Capability(specs, recipes, framework="torch")
