"""inc plugin of inc-onnx: registers the ``onnx`` adaptor without importing onnx or onnxruntime."""

from __future__ import annotations

from collections.abc import Callable

from inc_core import hookimpl


@hookimpl
def inc_register_adaptors(register: Callable[[str, type], None]) -> None:
    from inc_onnx.adaptor import OnnxAdaptor

    register("onnx", OnnxAdaptor)
