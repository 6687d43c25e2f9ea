"""Per-op sensitivity for the mse, mse_v2 and hawq_v2 strategies.

* ``mse``: each op quantized alone (its option in the config, or its default quantized
  option if the config keeps it float); score = that op's output MSE against fp32,
  relative to the fp32 output's mean square. Outputs are read from the graph nodes.
* ``mse_v2``: the config as given; score = how much the model output's relative MSE
  drops when the op alone falls back to fp32 (quantized ops only; others score 0).
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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from inc_core import Calibration, OpOption, TuneConfig
from inc_torch.inputs import Batch

if TYPE_CHECKING:
    import torch

    from inc_torch.adaptor import TorchAdaptor, _ModelState


def _flat_inputs(batch: Batch) -> list[Any]:
    import torch.utils._pytree as pytree

    return pytree.tree_leaves((tuple(batch.args), dict(batch.kwargs)))


def node_outputs(graph_module: Any, batch: Batch, names: set[str]) -> dict[str, Any]:
    """Outputs of the named nodes when ``graph_module`` runs ``batch`` (as float32 tensors)."""
    import torch

    captured: dict[str, Any] = {}

    class Capture(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            out = super().run_node(n)
            if n.name in names and isinstance(out, torch.Tensor):
                captured[n.name] = out.detach().float()
            return out

    with torch.no_grad():
        Capture(graph_module).run(*_flat_inputs(batch))
    return captured


def _relative_mse(got: Any, want: Any) -> float:
    import torch

    got_leaves = [t for t in _leaves(got) if isinstance(t, torch.Tensor)]
    want_leaves = [t for t in _leaves(want) if isinstance(t, torch.Tensor)]
    error = sum(float(((g.float() - w.float()) ** 2).mean()) for g, w in zip(got_leaves, want_leaves, strict=False))
    scale = sum(float((w.float() ** 2).mean()) for w in want_leaves)
    return error / (scale + 1e-12)


def _leaves(value: Any) -> list[Any]:
    import torch.utils._pytree as pytree

    return pytree.tree_leaves(value)


def _default_quantized(adaptor: TorchAdaptor, state: _ModelState, name: str) -> OpOption | None:
    capability = adaptor.capability(state.model)
    for spec in capability.ops:
        if spec.name == name:
            return spec.quantized_options[0] if spec.quantized_options else None
    return None


def _all_float(tune_cfg: TuneConfig) -> TuneConfig:
    return tune_cfg.replace({name: OpOption.float("fp32") for name in tune_cfg.ops})


def per_op_mse(
    adaptor: TorchAdaptor,
    state: _ModelState,
    tune_cfg: TuneConfig,
    calibration: Calibration,
    batches: list[Batch],
    wanted: Sequence[str],
) -> dict[str, float]:
    ops = state.graph_ops
    present = {name: ops[name].node for name in wanted if name in ops and ops[name].node}
    reference = [node_outputs(state.graph, b, set(present.values())) for b in batches]
    base = _all_float(tune_cfg)
    scores: dict[str, float] = {}
    for name in wanted:
        option = tune_cfg.ops.get(name)
        if option is None or option.is_float:
            option = _default_quantized(adaptor, state, name)
        node = present.get(name)
        if option is None or node is None:
            scores[name] = 0.0
            continue
        model = adaptor.quantize(state.model, base.replace({name: option}), calibration)
        errors = []
        for batch, ref in zip(batches, reference, strict=True):
            got = node_outputs(model, batch, {node})
            errors.append(_relative_mse(got.get(node), ref.get(node)) if node in got and node in ref else 0.0)
        scores[name] = sum(errors) / len(errors)
    return scores


def fallback_gain(
    adaptor: TorchAdaptor,
    state: _ModelState,
    tune_cfg: TuneConfig,
    calibration: Calibration,
    batches: list[Batch],
    wanted: Sequence[str],
) -> dict[str, float]:
    import torch

    with torch.no_grad():
        reference = [b.call(state.graph) for b in batches]

    def error(config: TuneConfig) -> float:
        model = adaptor.quantize(state.model, config, calibration)
        with torch.no_grad():
            return sum(_relative_mse(b.call(model), r) for b, r in zip(batches, reference, strict=True)) / len(batches)

    base_error = error(tune_cfg)
    scores: dict[str, float] = {}
    for name in wanted:
        option = tune_cfg.ops.get(name)
        if option is None or option.is_float or name not in state.graph_ops:
            scores[name] = 0.0
            continue
        scores[name] = base_error - error(tune_cfg.replace({name: OpOption.float("fp32")}))
    return scores


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
    adaptor: TorchAdaptor,
    state: _ModelState,
    tune_cfg: TuneConfig,
    calibration: Calibration,
    batches: list[Batch],
    wanted: Sequence[str],
) -> dict[str, float]:
    import torch

    model = copy.deepcopy(state.model).eval()
    model.requires_grad_(False)
    weights: dict[str, torch.nn.Parameter] = {}
    for name in wanted:
        info = state.graph_ops.get(name)
        if info is not None and info.module is not None:
            weight = model.get_submodule(info.module).weight
            weight.requires_grad_(True)
            weights[name] = weight
    names = list(weights)
    traces = dict.fromkeys(names, 0.0)
    generator = torch.Generator().manual_seed(adaptor.seed)
    samples = max(1, adaptor.hutchinson_samples)
    for batch in batches:
        with torch.no_grad():
            fp32_output = batch.call(model)
        loss = _loss(calibration.loss_fn, model, batch, fp32_output)
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
    scores: dict[str, float] = {}
    for name in wanted:
        if name not in weights:
            scores[name] = 0.0
            continue
        option = tune_cfg.ops.get(name)
        if option is None or option.is_float:
            option = _default_quantized(adaptor, state, name) or OpOption.float("fp32")
        weight = weights[name]
        scores[name] = abs(traces[name]) / weight.numel() * weight_error(weight, option)
    return scores
