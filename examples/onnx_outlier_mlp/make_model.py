"""Build the outlier example: an MLP on the digits whose middle activations have huge outliers.

A 64-128-128-10 MLP is trained on scikit-learn's bundled digits with numpy (plain
gradient descent, seeded). Then 4 output channels of the second layer are scaled up
by 500 and a ``Mul`` node ("rescale") after its ReLU scales them back down: the float
function is unchanged and every weight keeps its range, but the activation between
the ReLU and the Mul now has 4 huge channels, so per-tensor int8 quantization of it
wipes out the other 124 channels. Full int8 loses far more than 1%; the tuner has to
fall back the ops around that activation (relu2 and rescale). Writes ``outlier_mlp.onnx``,
``calib.npz`` and ``eval.npz``.

    python examples/onnx_outlier_mlp/make_model.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
OUTLIER_SCALE = 500.0


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def train(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [64, 128, 128, 10]
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(np.float32), np.zeros(n_out, np.float32)]
    onehot = np.eye(10, dtype=np.float32)[y]
    lr = 0.1
    for _epoch in range(60):
        perm = rng.permutation(len(x))
        for i in range(0, len(x), 50):
            idx = perm[i : i + 50]
            acts = [x[idx]]
            for layer in range(3):
                z = acts[-1] @ params[2 * layer] + params[2 * layer + 1]
                acts.append(np.maximum(z, 0) if layer < 2 else z)
            logits = acts[-1] - acts[-1].max(1, keepdims=True)
            probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
            grad = (probs - onehot[idx]) / len(idx)
            for layer in reversed(range(3)):
                w = params[2 * layer]
                grad_w, grad_b = acts[layer].T @ grad, grad.sum(0)
                if layer:
                    grad = (grad @ w.T) * (acts[layer] > 0)
                params[2 * layer] -= lr * grad_w
                params[2 * layer + 1] -= lr * grad_b
    return params


def add_outliers(params: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    w1, b1, w2, b2, w3, b3 = (p.copy() for p in params)
    channels = np.arange(4)
    w2[:, channels] *= OUTLIER_SCALE  # layer-2 outputs (ReLU commutes with a positive scale) ...
    b2[channels] *= OUTLIER_SCALE
    rescale = np.ones(w2.shape[1], np.float32)
    rescale[channels] = 1 / OUTLIER_SCALE  # ... undone by the Mul: same float function
    return [w1, b1, w2, b2, w3, b3], rescale


def to_onnx(params: list[np.ndarray], rescale: np.ndarray) -> onnx.ModelProto:
    names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    inits = [numpy_helper.from_array(p.astype(np.float32), n) for p, n in zip(params, names, strict=True)]
    inits.append(numpy_helper.from_array(rescale, "rescale.scale"))
    nodes = [
        helper.make_node("MatMul", ["input", "fc1.weight"], ["m1"], name="fc1"),
        helper.make_node("Add", ["m1", "fc1.bias"], ["a1"], name="fc1_bias"),
        helper.make_node("Relu", ["a1"], ["h1"], name="relu1"),
        helper.make_node("MatMul", ["h1", "fc2.weight"], ["m2"], name="fc2"),
        helper.make_node("Add", ["m2", "fc2.bias"], ["a2"], name="fc2_bias"),
        helper.make_node("Relu", ["a2"], ["h2"], name="relu2"),
        helper.make_node("Mul", ["h2", "rescale.scale"], ["s2"], name="rescale"),
        helper.make_node("MatMul", ["s2", "fc3.weight"], ["m3"], name="fc3"),
        helper.make_node("Add", ["m3", "fc3.bias"], ["logits"], name="fc3_bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "outlier_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="inc-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    x_train, y_train, x_eval, y_eval = data()
    params, rescale = add_outliers(train(x_train, y_train))
    onnx.save(to_onnx(params, rescale), HERE / "outlier_mlp.onnx")
    np.savez_compressed(HERE / "calib.npz", input=x_train[:200])
    np.savez_compressed(HERE / "eval.npz", x=x_eval, y=y_eval)
    h = x_eval
    for layer in range(3):
        h = h @ params[2 * layer] + params[2 * layer + 1]
        h = np.maximum(h, 0) if layer < 2 else h
        h = h * rescale if layer == 1 else h
    print(f"wrote {HERE / 'outlier_mlp.onnx'}; eval accuracy {(h.argmax(1) == y_eval).mean():.4f}")


if __name__ == "__main__":
    main()
