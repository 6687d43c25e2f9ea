"""Small seeded models and eval functions for tests, examples and benchmarks (imports torch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class TinyNet(nn.Module):
    """Every op kind the adaptor handles: Conv2d+BN, Conv1d, Linear, matmul, bmm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv1d = nn.Conv1d(8, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 16, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        z = self.conv1d(y.flatten(2))
        h = torch.relu(self.fc1(z.flatten(1)))
        outer = torch.matmul(h.unsqueeze(2), h.unsqueeze(1))
        mixed = torch.bmm(outer, h.unsqueeze(2)).squeeze(2)
        return self.fc2(h + 0.01 * mixed)


class TinyEmbedding(nn.Module):
    """Embedding bag-of-tokens classifier (integer inputs)."""

    def __init__(self, vocab: int = 50, dim: int = 64) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.fc = nn.Linear(dim, 4)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(self.emb(tokens).mean(1))


class OutlierMLP(nn.Module):
    """An MLP whose first layer sees one input feature 500x larger than the rest.

    Static int8 of that layer's input (one scale for the whole tensor) wipes out the small
    features, so a tight accuracy goal needs that layer in float or weight-only.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.cat([torch.full((1,), 500.0), torch.ones(31)])
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class SamePadConv2d(nn.Conv2d):
    """A Conv2d subclass that pads in ``forward`` then calls ``F.conv2d`` with its own weight.

    The pattern of EfficientNet's ``Conv2dStaticSamePadding`` (TensorFlow "SAME" padding).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x, (0, 1, 0, 1))
        return nn.functional.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ScaledLinear(nn.Linear):
    """A Linear subclass whose ``forward`` scales the standard linear output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * super().forward(x)


class WeightNormLinear(nn.Linear):
    """A Linear subclass that computes its weight in ``forward``: not its own weight's op."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight / self.weight.norm(dim=1, keepdim=True), self.bias)


class SubclassNet(nn.Module):
    """Conv/Linear subclasses as third-party models define them (input 1x8x8)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = SamePadConv2d(1, 8, 3, stride=2)
        self.bn = nn.BatchNorm2d(8)
        self.fc = ScaledLinear(8 * 4 * 4, 32)
        self.norm_fc = WeightNormLinear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))
        return self.norm_fc(torch.relu(self.fc(y.flatten(1))))


def seeded(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` with weights re-drawn from ``seed`` (so tests don't depend on global RNG state)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * (1.0 / max(1, param.shape[-1]) ** 0.5))
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1, generator=gen)
                module.running_var.uniform_(0.5, 1.5, generator=gen)
    return model.eval()


def batches(shape: tuple[int, ...], n: int = 4, batch: int = 8, seed: int = 1) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn((batch, *shape), generator=gen) for _ in range(n)]


class Agreement:
    """Share of inputs on which a model's top-1 matches the fp32 reference's (picklable)."""

    def __init__(self, reference: nn.Module, inputs: torch.Tensor) -> None:
        self.inputs = inputs
        with torch.no_grad():
            self.labels = reference(inputs).argmax(1)

    def __call__(self, model: Any) -> float:
        with torch.no_grad():
            return float((model(self.inputs).argmax(1) == self.labels).float().mean())
