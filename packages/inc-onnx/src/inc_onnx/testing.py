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
    """Embedding Gather, projection MatMuls (v with a bias Add, initializer first), activation x activation
    MatMuls, Softmax, residual Add, LayerNorm."""
    rng = np.random.default_rng(seed)
    d = 16

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    inits = [
        numpy_helper.from_array(w(50, d), "emb"),
        numpy_helper.from_array(w(d, d), "wq"),
        numpy_helper.from_array(w(d, d), "wk"),
        numpy_helper.from_array(w(d, d), "wv"),
        numpy_helper.from_array(w(d), "bv"),
        numpy_helper.from_array(np.ones(d, np.float32), "ln.g"),
        numpy_helper.from_array(np.zeros(d, np.float32), "ln.b"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        helper.make_node("MatMul", ["e", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["e", "wk"], ["k"], name="k_proj"),
        helper.make_node("MatMul", ["e", "wv"], ["v_mm"], name="v_proj"),
        helper.make_node("Add", ["bv", "v_mm"], ["v"], name="v_bias"),
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


def masked_attention_model(seed: int = 0, outlier: float = 100.0) -> onnx.ModelProto:
    """One BERT-style encoder layer as HF exports it: additive -3.4e38 mask, bias Adds, an outlier FFN channel.

    ``ids``/``mask`` (int64 [n, 8]). The extended mask is ``(1 - mask) * -3.4e38`` added to the
    scaled scores; projections are ``Add(bias, MatMul(x, W))`` on 3-D tensors (never fused to
    Gemm); the first FFN layer's bias puts one channel at ``outlier`` and the second MatMul scales
    it back down, so that per-tensor int8 of that activation erases the other channels.
    """
    rng = np.random.default_rng(seed)
    d, ffn = 16, 32

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    b1, w2 = w(ffn), w(ffn, d)
    b1[0] = outlier
    w2[0, :] /= outlier
    arrays = {
        "emb": w(50, d), "wq": w(d, d), "bq": w(d), "wk": w(d, d), "bk": w(d), "wv": w(d, d), "bv": w(d),
        "wo": w(d, d), "bo": w(d), "w1": w(d, ffn), "b1": b1, "w2": w2, "b2": w(d),
        "ln1.g": np.ones(d, np.float32), "ln1.b": np.zeros(d, np.float32),
        "ln2.g": np.ones(d, np.float32), "ln2.b": np.zeros(d, np.float32),
        "one": np.array(1.0, np.float32), "min": np.array(np.finfo(np.float32).min, np.float32),
        "scale": np.array(1 / np.sqrt(d), np.float32), "axis1": np.array([1], np.int64),
    }  # fmt: skip
    inits = [numpy_helper.from_array(v, k) for k, v in arrays.items()]

    def linear(x: str, name: str, out: str) -> list[onnx.NodeProto]:
        return [
            helper.make_node("MatMul", [x, f"w{name}"], [f"{out}_mm"], name=f"{name}_matmul"),
            helper.make_node("Add", [f"b{name}", f"{out}_mm"], [out], name=f"{name}_bias"),
        ]

    nodes = [
        helper.make_node("Cast", ["mask"], ["mask_f"], name="mask_cast", to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "mask_f"], ["inverted"], name="mask_invert"),
        helper.make_node("Mul", ["inverted", "min"], ["ext"], name="mask_scale"),
        helper.make_node("Unsqueeze", ["ext", "axis1"], ["ext3"], name="mask_unsqueeze"),
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        *linear("e", "q", "q"),
        *linear("e", "k", "k"),
        *linear("e", "v", "v"),
        helper.make_node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Mul", ["s", "scale"], ["ss"], name="scores_scale"),
        helper.make_node("Add", ["ss", "ext3"], ["masked"], name="mask_add"),
        helper.make_node("Softmax", ["masked"], ["pr"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["pr", "v"], ["ctx"], name="context"),
        *linear("ctx", "o", "att"),
        helper.make_node("Add", ["att", "e"], ["res1"], name="residual1"),
        helper.make_node("LayerNormalization", ["res1", "ln1.g", "ln1.b"], ["h1"], name="ln1", axis=-1),
        *linear("h1", "1", "f1"),
        helper.make_node("Relu", ["f1"], ["f1r"], name="ffn_relu"),
        *linear("f1r", "2", "f2"),
        helper.make_node("Add", ["f2", "h1"], ["res2"], name="residual2"),
        helper.make_node("LayerNormalization", ["res2", "ln2.g", "ln2.b"], ["y"], name="ln2", axis=-1),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["n", 8]) for n in ("ids", "mask")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8, d])],
        inits,
    )


def masked_attention_calib(n: int = 32, seed: int = 1) -> dict[str, np.ndarray]:
    """Token ids and padding masks (1 = token, 0 = padding; every row keeps at least 3 tokens)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 9, n)
    mask = (np.arange(8)[None, :] < lengths[:, None]).astype(np.int64)
    return {"ids": rng.integers(0, 50, (n, 8)).astype(np.int64), "mask": mask}


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
