"""The torch digits example's pieces, named by run.yaml and imported by tune.py.

A small CNN trained (seeded, a few seconds on one thread) on the 8x8 digit images of
digits.npz (scikit-learn's bundled digits data set, 1,200 training / 597 test images),
its calibration batches and its top-1 accuracy. Needs only torch and numpy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent


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


@cache
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train x, train y, test x, test y), images scaled to [0, 1] with a channel axis."""
    with np.load(HERE / "digits.npz") as arrays:
        images = {k: torch.tensor(arrays[k][:, None] / 16.0, dtype=torch.float32) for k in ("train_x", "test_x")}
        labels = {k: torch.tensor(arrays[k], dtype=torch.long) for k in ("train_y", "test_y")}
    return images["train_x"], labels["train_y"], images["test_x"], labels["test_y"]


def trained_model(epochs: int = 15) -> DigitsCNN:
    """The float model to tune: trained from a fixed seed on the training images."""
    torch.set_num_threads(1)
    x, y, _, _ = data()
    torch.manual_seed(0)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[i : i + 64]), y[i : i + 64]).backward()
            optimizer.step()
    return model.eval()


def calibration() -> list[torch.Tensor]:
    """16 batches of 32 training images."""
    x = data()[0]
    return [x[i : i + 32] for i in range(0, 512, 32)]


def example_inputs() -> tuple[torch.Tensor]:
    """What torch.export traces the model with (one batch of calibration images)."""
    return (data()[0][:32],)


def accuracy(model: nn.Module) -> float:
    """Top-1 accuracy on the 597 test images."""
    _, _, x, y = data()
    with torch.inference_mode():
        return float((model(x).argmax(1) == y).float().mean())
