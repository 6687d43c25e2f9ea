"""Small ONNX graphs built with ``onnx.helper`` and matching calibration data, for tests and benchmarks.

Importing this module imports onnx (it is only used where onnx is wanted anyway).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _model(nodes, inputs, outputs, inits, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "test", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def cnn_model(seed: int = 0) -> onnx.ModelProto:
    """Conv -> Relu -> MaxPool -> Reshape -> Gemm -> Relu -> MatMul -> Add -> Softmax."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    inits = [
        numpy_helper.from_array(w(4, 1, 3, 3), "conv.w"),
        numpy_helper.from_array(w(4), "conv.b"),
        numpy_helper.from_array(np.array([-1, 64], np.int64), "shape"),
        numpy_helper.from_array(w(32, 64), "gemm.w"),
        numpy_helper.from_array(w(32), "gemm.b"),
        numpy_helper.from_array(w(32, 16), "mm.w"),
        numpy_helper.from_array(w(16), "add.b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "shape"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "gemm.w", "gemm.b"], ["g"], name="gemm", transB=1),
        helper.make_node("Relu", ["g"], ["gr"], name="relu_g"),
        helper.make_node("MatMul", ["gr", "mm.w"], ["m"], name="matmul"),
        helper.make_node("Add", ["m", "add.b"], ["a"], name="add"),
        helper.make_node("Softmax", ["a"], ["y"], name="softmax", axis=-1),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 16])],
        inits,
    )


def attention_model(seed: int = 0) -> onnx.ModelProto:
    """Embedding Gather, projection MatMuls, activation x activation MatMuls, Softmax, LayerNorm."""
    rng = np.random.default_rng(seed)
    d = 16

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    inits = [
        numpy_helper.from_array(w(50, d), "emb"),
        numpy_helper.from_array(w(d, d), "wq"),
        numpy_helper.from_array(w(d, d), "wk"),
        numpy_helper.from_array(w(d, d), "wv"),
        numpy_helper.from_array(np.ones(d, np.float32), "ln.g"),
        numpy_helper.from_array(np.zeros(d, np.float32), "ln.b"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        helper.make_node("MatMul", ["e", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["e", "wk"], ["k"], name="k_proj"),
        helper.make_node("MatMul", ["e", "wv"], ["v"], name="v_proj"),
        helper.make_node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Softmax", ["s"], ["pr"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["pr", "v"], ["o"], name="context"),
        helper.make_node("Add", ["o", "e"], ["res"], name="residual"),
        helper.make_node("LayerNormalization", ["res", "ln.g", "ln.b"], ["y"], name="ln", axis=-1),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 6, d])],
        inits,
    )


def no_quantizable_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], name="t", perm=[1, 0]),
        helper.make_node("Neg", ["t"], ["y"], name="neg"),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 3])],
        [],
    )


def cnn_calib(n: int = 64, seed: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).random((n, 1, 8, 8), dtype=np.float32)}


def attention_calib(n: int = 32, seed: int = 1) -> dict[str, np.ndarray]:
    return {"ids": np.random.default_rng(seed).integers(0, 50, (n, 6)).astype(np.int64)}


class ArgmaxAgreement:
    """A picklable eval function: share of samples whose argmax matches the fp32 model's.

    Holds the reference predictions and the feed (numpy arrays), so it works in process
    and Dask executors too.
    """

    def __init__(self, reference: onnx.ModelProto, feed: dict[str, np.ndarray]) -> None:
        from inc_onnx.model_io import session

        self.feed = feed
        self.expected = session(reference).run(None, feed)[0].argmax(-1)

    def __call__(self, model: onnx.ModelProto) -> float:
        from inc_onnx.model_io import session

        return float((session(model).run(None, self.feed)[0].argmax(-1) == self.expected).mean())
