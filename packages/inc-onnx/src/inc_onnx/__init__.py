"""inc-onnx: accuracy-aware quantization of ONNX models with ONNX Runtime (see the package README).

Importing this package does not import onnx or onnxruntime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inc_onnx.adaptor import OnnxAdaptor

__version__ = "0.1.0"

__all__ = ["OnnxAdaptor", "__version__", "session"]


def __getattr__(name: str) -> Any:
    if name == "OnnxAdaptor":
        from inc_onnx.adaptor import OnnxAdaptor

        return OnnxAdaptor
    if name == "session":
        from inc_onnx.model_io import session

        return session
    raise AttributeError(f"module 'inc_onnx' has no attribute {name!r}")
