"""Dynamic int8 and weight-only int8/int4 through torchao's ``quantize_``.

Each option maps to one torchao config. A weight is quantized by running
``quantize_`` on a copy of its module with a ``filter_fn`` selecting that
module, and the resulting tensor subclass is cached per (module, option): every
trial that gives the module the same option reuses it.

Which configs the machine can run is probed once per process on a tiny layer;
a config that fails (int4 kernels that need CUDA or an extra package) is left
out of the capability and the reason logged.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from inc_core import AdaptorError, OpOption
from inc_torch._quiet import import_torchao

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("inc.torch")

INT4_PACKINGS = ("plain", "tile_packed_to_4d", "cpu_opaque", "unpacked")
"""int4 weight layouts in order of preference: torchao's ``Int4WeightOnlyConfig`` formats
(mslk / tinygemm kernels), the CPU int4 kernel (``_weight_int4pack_mm_for_cpu``), and
int4 values stored unpacked in int8 (dequantized on the fly; runs anywhere)."""


def torchao_config(option: OpOption, kind: str = "linear") -> Any:
    """The torchao config for a dynamic or weight-only option on a ``kind`` (linear/embedding) layer."""
    import torch

    import_torchao()
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        IntxWeightOnlyConfig,
        MappingType,
    )
    from torchao.quantization.granularity import PerAxis, PerGroup, PerRow, PerTensor

    granularity = option.get("weight_granularity", "per_channel")
    if option.mode == "dynamic" and option.dtype == "int8":
        mapping = MappingType.SYMMETRIC if option.get("act_scheme", "sym") == "sym" else MappingType.ASYMMETRIC
        return Int8DynamicActivationInt8WeightConfig(
            granularity=PerRow() if granularity == "per_channel" else PerTensor(), act_mapping_type=mapping
        )
    if option.mode == "weight_only" and option.dtype == "int8":
        if kind == "embedding":
            return IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0))
        return Int8WeightOnlyConfig(granularity=PerRow() if granularity == "per_channel" else PerTensor())
    if option.mode == "weight_only" and option.dtype == "int4":
        group = int(option.get("group_size", 32))
        packing = option.get("packing", "unpacked")
        if packing == "unpacked":
            return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group))
        if packing == "cpu_opaque":
            from torchao.prototype.quantization.int4.inference_workflow import PrototypeInt4WeightOnlyConfig

            return PrototypeInt4WeightOnlyConfig(group_size=group)
        from torchao.quantization import Int4WeightOnlyConfig
        from torchao.quantization.quantize_.workflows import Int4PackingFormat

        return Int4WeightOnlyConfig(group_size=group, int4_packing_format=Int4PackingFormat(packing))
    raise AdaptorError(f"no torchao config for option {option}")


def quantize_module_weight(module: torch.nn.Module, option: OpOption) -> torch.Tensor:
    """The torchao-quantized weight of ``module`` under ``option`` (``module`` is not changed)."""
    import torch

    import_torchao()
    from torchao.quantization import quantize_

    work = copy.deepcopy(module)
    work.requires_grad_(False)
    kind = "embedding" if isinstance(module, torch.nn.Embedding) else "linear"
    quantize_(work, torchao_config(option, kind), filter_fn=lambda m, fqn: m is work)
    weight = work.weight
    if type(weight.data if isinstance(weight, torch.nn.Parameter) else weight) is torch.Tensor:
        raise AdaptorError(
            f"torchao left the weight of {type(module).__name__}{tuple(module.weight.shape)} unquantized "
            f"under {option} (shape not supported by the config)"
        )
    return weight.detach() if not isinstance(weight, torch.nn.Parameter) else weight.data


_PROBES: dict[tuple[Any, ...], str | None] = {}


def probe(kind: str, option: OpOption, shape: tuple[int, int] | None = None) -> str | None:
    """Why ``option`` cannot run here on a ``kind`` (``linear``/``embedding``) layer; None if it can.

    ``shape``: the weight's (rows, columns); kernels with layout constraints (e.g. the CPU
    int4 kernel needs rows divisible by 16) are probed on that exact shape, once per shape.
    """
    key = (kind, option, shape)
    if key in _PROBES:
        return _PROBES[key]
    import torch
    import torch.nn.functional as functional

    reason: str | None = None
    try:
        gen = torch.Generator().manual_seed(0)
        group = int(option.get("group_size", 32) or 32)
        rows, width = shape if shape is not None else (32, max(128, group))
        if kind == "embedding":
            layer: torch.nn.Module = torch.nn.Embedding(rows, width)
            weight = quantize_module_weight(layer, option)
            out = functional.embedding(torch.arange(4), weight)
            ref = layer(torch.arange(4))
        else:
            layer = torch.nn.Linear(width, rows)
            weight = quantize_module_weight(layer, option)
            x = torch.randn(4, width, generator=gen)
            out = functional.linear(x, weight, layer.bias)
            ref = layer(x)
        if out.shape != ref.shape or not torch.isfinite(out).all():
            reason = "produced wrong or non-finite outputs"
    except Exception as exc:  # any failure means: not on this machine
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    _PROBES[key] = reason
    if reason is not None:
        where = f"{kind} {shape[0]}x{shape[1]}" if shape else kind
        logger.info("torch adaptor: option %s for %s removed from the capability: %s", option, where, reason)
    return reason


def float_dtype_reason(dtype: str) -> str | None:
    """Why float ``dtype`` cannot run conv/linear/matmul on this CPU; None if it can (probed once)."""
    key = ("float", OpOption.float(dtype))
    if key in _PROBES:
        return _PROBES[key]
    import torch
    import torch.nn.functional as functional

    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    reason = None
    try:
        x = torch.randn(2, 4, 8, 8).to(torch_dtype)
        functional.conv2d(x, torch.randn(3, 4, 3, 3).to(torch_dtype))
        functional.conv1d(x[:, :, 0], torch.randn(3, 4, 3).to(torch_dtype))
        functional.linear(x.flatten(1), torch.randn(5, 256).to(torch_dtype))
        torch.bmm(x[:, 0], x[:, 1])
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    _PROBES[key] = reason
    if reason is not None:
        logger.info("torch adaptor: %s removed from the capability: %s", dtype, reason)
    return reason


def smoothquant_observed(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` (a Linear) wrapped by torchao's SmoothQuant observer (PREPARE step).

    The observer records per-channel absolute maxima of the inputs; alpha is only used
    when the smoothed weight is built, so one observation serves every alpha.
    """
    import torch

    import_torchao()
    from torchao.prototype.smoothquant import SmoothQuantConfig
    from torchao.quantization import quantize_

    holder = torch.nn.Sequential(copy.deepcopy(module))
    holder.requires_grad_(False)
    config = SmoothQuantConfig(base_config=_dynamic_base(), step="prepare", alpha=0.5)
    quantize_(holder, config, filter_fn=lambda m, fqn: fqn == "0")
    return holder[0]


def smoothquant_weight(observed: torch.nn.Module, option: OpOption, alpha: float) -> torch.Tensor:
    """The dynamic-int8 weight of an observed Linear smoothed with ``alpha`` (carries ``act_pre_scale``)."""
    import torch
    from torchao.prototype.smoothquant import SmoothQuantConfig
    from torchao.quantization import quantize_

    holder = torch.nn.Sequential(copy.deepcopy(observed))
    holder[0].obs.alpha = alpha
    config = SmoothQuantConfig(base_config=torchao_config(option), step="convert", alpha=alpha)
    quantize_(holder, config, filter_fn=lambda m, fqn: fqn == "0")
    return holder[0].weight.data


def _dynamic_base() -> Any:
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig

    return Int8DynamicActivationInt8WeightConfig()
