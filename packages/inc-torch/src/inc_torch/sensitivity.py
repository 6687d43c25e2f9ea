"""``hawq_v2`` sensitivity, which needs autograd (``mse``/``mse_v2`` are core's, `inc_core.measure.sensitivity`).

* ``hawq_v2``: Hutchinson estimate of the trace of the loss Hessian w.r.t. each op's
  weight, times the weight's quantization error: ``Tr(H)/n * ||Q(W) - W||^2``. Ops
  without a weight (matmul/bmm) score 0.

``Calibration.loss_fn`` for hawq_v2, either signature:
``loss_fn(output, target) -> scalar tensor`` with ``target`` the batch's label (batches
given as ``(inputs, label)``) or, for unlabelled batches, the fp32 model's output; or
``loss_fn(model, batch) -> scalar tensor`` (first parameter named ``model``), with ``batch``
the item exactly as the calibration data yielded it. Without a loss_fn the MSE between
the output and the fp32 output is used.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from inc_core import OpOption
from inc_torch.inputs import Batch

if TYPE_CHECKING:
    import torch


def _leaves(value: Any) -> list[Any]:
    import torch.utils._pytree as pytree

    return pytree.tree_leaves(value)


def weight_error(weight: torch.Tensor, option: OpOption) -> float:
    """``||Q(W) - W||^2`` of a simulated quantization of ``weight`` under ``option``."""
    import torch

    w = weight.detach().float()
    if option.dtype in ("bf16", "fp16"):
        cast = torch.bfloat16 if option.dtype == "bf16" else torch.float16
        return float(((w.to(cast).float() - w) ** 2).sum())
    if option.is_float:
        return 0.0
    if option.dtype == "int4":
        group = int(option.get("group_size", 32))
        rows = w.reshape(-1, group) if w.numel() % group == 0 else w.reshape(w.shape[0], -1)
        scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 7
        q = (rows / scale).round().clamp(-8, 7) * scale
        return float(((q - rows) ** 2).sum())
    if option.get("weight_granularity", "per_channel") == "per_channel":
        scale = w.reshape(w.shape[0], -1).abs().amax(dim=1).clamp_min(1e-12) / 127
        scale = scale.reshape(-1, *([1] * (w.dim() - 1)))
    else:
        scale = w.abs().amax().clamp_min(1e-12) / 127
    q = (w / scale).round().clamp(-128, 127) * scale
    return float(((q - w) ** 2).sum())


def _loss(loss_fn: Any, model: Any, batch: Batch, fp32_output: Any) -> Any:
    import torch
    import torch.nn.functional as functional

    if loss_fn is None:
        out = batch.call(model)
        pairs = zip(_leaves(out), _leaves(fp32_output), strict=False)
        return sum(functional.mse_loss(o, r) for o, r in pairs if isinstance(o, torch.Tensor))
    params = list(inspect.signature(loss_fn).parameters)
    if params and params[0] == "model":
        return loss_fn(model, batch.raw if batch.raw is not None else batch.args)
    target = batch.target if batch.target is not None else fp32_output
    return loss_fn(batch.call(model), target)


def hawq_v2(
    model: torch.nn.Module,
    modules: Mapping[str, str],
    options: Mapping[str, OpOption],
    batches: Sequence[Batch],
    loss_fn: Any = None,
    samples: int = 8,
    seed: int = 0,
) -> dict[str, float]:
    """``Tr(H)/n * ||Q(W) - W||^2`` for each op of ``options`` (the option it is scored at).

    ``modules``: op name -> the module whose ``weight`` the op uses; ops without one score
    0. ``model`` is not changed (its copy gets the gradients); ``samples``: Rademacher
    probes per batch.
    """
    import torch

    work = copy.deepcopy(model).eval()
    work.requires_grad_(False)
    weights: dict[str, torch.nn.Parameter] = {}
    for name, module in modules.items():
        if name in options:
            weight = work.get_submodule(module).weight
            weight.requires_grad_(True)
            weights[name] = weight
    names = list(weights)
    traces = dict.fromkeys(names, 0.0)
    generator = torch.Generator().manual_seed(seed)
    samples = max(1, samples)
    for batch in batches:
        with torch.no_grad():
            fp32_output = batch.call(work)
        loss = _loss(loss_fn, work, batch, fp32_output)
        grads = torch.autograd.grad(loss, [weights[n] for n in names], create_graph=True, allow_unused=True)
        for _ in range(samples):
            probes = [torch.randint(0, 2, weights[n].shape, generator=generator).float() * 2 - 1 for n in names]
            live = [(i, g) for i, g in enumerate(grads) if g is not None and g.requires_grad]
            if not live:
                break
            hvps = torch.autograd.grad(
                [g for _, g in live],
                [weights[names[i]] for i, _ in live],
                grad_outputs=[probes[i] for i, _ in live],
                retain_graph=True,
                allow_unused=True,
            )
            for (i, _), hv in zip(live, hvps, strict=True):
                if hv is not None:
                    traces[names[i]] += float((hv * probes[i]).sum()) / samples / len(batches)
    scores = dict.fromkeys(options, 0.0)
    for name, weight in weights.items():
        scores[name] = abs(traces[name]) / weight.numel() * weight_error(weight, options[name])
    return scores
