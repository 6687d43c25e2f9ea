"""inc-torch: the PyTorch adaptor of inc (torch.export + torchao PT2E and quantize_).

Importing this package does not import torch; `TorchAdaptor` is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["TorchAdaptor", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "TorchAdaptor":
        from inc_torch.adaptor import TorchAdaptor

        return TorchAdaptor
    raise AttributeError(f"module 'inc_torch' has no attribute {name!r}")
