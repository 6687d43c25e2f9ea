"""Capability from the exported graph (and from the module tree before any export)."""

from __future__ import annotations

import logging

import torch

from inc_core import TuningSpace
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import TinyNet, seeded


def test_graph_capability_lists_modules_and_functional_ops_in_graph_order(tiny, tiny_adaptor) -> None:
    cap = tiny_adaptor.capability(tiny)
    assert [(op.name, op.type) for op in cap.ops] == [
        ("conv", "Conv2d"),
        ("conv1d", "Conv1d"),
        ("fc1", "Linear"),
        ("matmul", "matmul"),
        ("bmm", "bmm"),
        ("fc2", "Linear"),
    ]
    assert cap.framework == "torch"
    assert cap.recipes == {"act_algorithm": ("histogram", "minmax"), "smooth_quant_alpha": (None, 0.5, 0.75)}


def test_options_default_to_static_int8_and_end_in_fp32(tiny, tiny_adaptor) -> None:
    for spec in tiny_adaptor.capability(tiny).ops:
        assert spec.default.dtype == "int8" and spec.default.mode == "static"
        assert spec.options[-1].dtype == "fp32"
        assert "bf16" in spec.float_dtypes
    fc1 = next(op for op in tiny_adaptor.capability(tiny).ops if op.name == "fc1")
    modes = {(o.dtype, o.mode) for o in fc1.options}
    assert {("int8", "dynamic"), ("int8", "weight_only"), ("int4", "weight_only")} <= modes
    static = [o for o in fc1.options if o.mode == "static"]
    assert [(o.get("weight_granularity"), o.get("act_scheme")) for o in static] == [
        ("per_channel", "asym"),
        ("per_tensor", "asym"),
    ]
    dynamic = [o for o in fc1.options if o.mode == "dynamic"]
    assert [o.get("act_scheme") for o in dynamic] == ["sym", "asym"]
    conv = next(op for op in tiny_adaptor.capability(tiny).ops if op.name == "conv")
    assert {o.mode for o in conv.quantized_options} == {"static"}  # torchao's quantize_ has no conv path


def test_int4_options_cpu_cannot_run_are_removed_with_a_reason(tiny_data, caplog) -> None:
    from inc_torch import weights

    weights._PROBES.clear()
    model = seeded(TinyNet())
    with caplog.at_level(logging.INFO, logger="inc.torch"):
        cap = TorchAdaptor(example_inputs=tiny_data[0]).capability(model)
    fc2 = next(op for op in cap.ops if op.name == "fc2")  # 10 output rows: the CPU int4 kernel needs 16k
    packings = {o.get("packing") for o in fc2.options if o.dtype == "int4"}
    assert packings and "cpu_opaque" not in packings
    removed = [r.getMessage() for r in caplog.records if "removed from the capability" in r.getMessage()]
    assert any("packing=plain" in m for m in removed)  # Int4WeightOnlyConfig needs mslk/CUDA here
    assert any("cpu_opaque" in m and "10x64" in m for m in removed)


def test_module_tree_capability_without_example_inputs(tiny) -> None:
    cap = TorchAdaptor().capability(tiny)
    assert [(op.name, op.type) for op in cap.ops] == [
        ("conv", "Conv2d"),
        ("conv1d", "Conv1d"),
        ("fc1", "Linear"),
        ("fc2", "Linear"),
    ]


def test_space_constraints_by_type_and_name(tiny, tiny_adaptor) -> None:
    space = TuningSpace(
        tiny_adaptor.capability(tiny),
        op_type_dict={"Linear": {"mode": ["dynamic", "float"]}},
        op_name_dict={"conv.*": {"dtype": "fp32"}},
    )
    assert {o.mode for o in space.op("fc1").options} == {"dynamic", "float"}
    assert [o.dtype for o in space.op("conv").options] == ["fp32"]


def test_accepts_without_importing_torch_for_foreign_objects() -> None:
    assert TorchAdaptor.accepts(torch.nn.Linear(2, 2))
    assert TorchAdaptor.accepts("model.pt2") and not TorchAdaptor.accepts("model.onnx")
    assert not TorchAdaptor.accepts(object())
