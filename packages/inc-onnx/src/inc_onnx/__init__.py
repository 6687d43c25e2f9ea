"""inc-onnx: see the package README."""
