"""Build the example: train a small CNN on scikit-learn's bundled digits and write it as ONNX.

Writes ``digits_cnn.onnx`` (opset 17), ``calib.npz`` (input ``input``: 200 training
images) and ``eval.npz`` (``x``, ``y``: the held-out images). Training uses torch (CPU,
seeded, a few seconds); the ONNX graph is written with ``onnx.helper`` from the
trained weights, so node names are stable. The shipped files are committed; only
regenerating them needs torch.

    python examples/onnx_digits/make_model.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # N, 1, 8, 8 in [0, 1]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = torch.nn.Linear(32 * 4 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def train(x: np.ndarray, y: np.ndarray) -> Net:
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _epoch in range(30):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return net.eval()


def to_onnx(net: Net) -> onnx.ModelProto:
    p = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    inits = [numpy_helper.from_array(v, k) for k, v in p.items()]
    inits.append(numpy_helper.from_array(np.array([-1, 32 * 4 * 4], dtype=np.int64), "flat_shape"))
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["f1"], name="fc1", transB=1),
        helper.make_node("Relu", ["f1"], ["r3"], name="relu3"),
        helper.make_node("Gemm", ["r3", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="inc-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    x_train, y_train, x_eval, y_eval = data()
    net = train(x_train, y_train)
    model = to_onnx(net)
    onnx.save(model, HERE / "digits_cnn.onnx")
    np.savez_compressed(HERE / "calib.npz", input=x_train[:200])
    np.savez_compressed(HERE / "eval.npz", x=x_eval, y=y_eval)
    with torch.no_grad():
        acc = (net(torch.from_numpy(x_eval)).argmax(1).numpy() == y_eval).mean()
    print(f"wrote {HERE / 'digits_cnn.onnx'}; eval accuracy {acc:.4f} on {len(y_eval)} images")


if __name__ == "__main__":
    main()
