"""Train a small CNN on scikit-learn's bundled digits (seeded, a few seconds), then tune it to a 1% goal.

    python examples/torch_digits/tune.py [--strategy auto] [--max-trials 30] [--run-dir DIR] [--compile]

``--compile`` measures latency through torch.compile (the int8 kernels a deployment runs;
eager static int8 executes reference quantize/dequantize ops and is slower than fp32).

No download: the 8x8 digit images ship with scikit-learn. Needs inc-core,
inc-strategies and inc-torch (no onnxruntime).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inc_core import TuningConfig, autotune


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train x, train y, test x, test y): 1,200 / 597 images scaled to [0, 1], fixed split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images[:, None] / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(y)))
    x, y = x[order], y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def train(x: torch.Tensor, y: torch.Tensor, epochs: int = 15) -> DigitsCNN:
    torch.manual_seed(0)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[i : i + 64]), y[i : i + 64]).backward()
            optimizer.step()
    return model.eval()


class Accuracy:
    """Top-1 accuracy on the held-out digits (a picklable eval function)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __call__(self, model: nn.Module) -> float:
        with torch.inference_mode():
            return float((model(self.x).argmax(1) == self.y).float().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--max-trials", type=int, default=30)
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--compile", action="store_true", help="benchmark through torch.compile")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train_x, train_y, test_x, test_y = digits()
    model = train(train_x, train_y)
    calib = [train_x[i : i + 32] for i in range(0, 512, 32)]
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="inc-torch-example-"))
    config = TuningConfig(tolerable_loss=0.01, strategy=args.strategy, max_trials=args.max_trials, run_dir=run_dir)
    from inc_torch import TorchAdaptor

    adaptor = TorchAdaptor(threads=1, compile=args.compile)
    result = autotune(model, config, Accuracy(test_x, test_y), calib_data=calib, adaptor=adaptor)
    best = result.best_trial
    print(f"strategy:     {args.strategy}")
    print(f"met_goal:     {result.met_goal} ({result.stop_reason})")
    print(f"trials:       {len(result.trials)}")
    score = f"{best.score:.4f}" if best and best.score is not None else "n/a"
    print(f"accuracy:     fp32 {result.baseline_score:.4f} -> tuned {score} (target >= {result.target_score:.4f})")
    if best and best.latency and result.baseline_latency:
        print(f"latency:      fp32 {result.baseline_latency * 1e3:.3f} ms -> tuned {best.latency * 1e3:.3f} ms")
    if best and best.model_size and result.baseline_size:
        print(f"size:         fp32 {result.baseline_size / 1024:.1f} KiB -> tuned {best.model_size / 1024:.1f} KiB")
    if result.best_config is not None:
        print(f"best config:  {result.best_config.summary(8)}")
    print(f"saved:        {result.model_path or 'n/a'}")
    return 0 if result.met_goal else 1


if __name__ == "__main__":
    sys.exit(main())
