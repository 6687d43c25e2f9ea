"""inc plugin of inc-onnx (placeholder until its issue lands)."""
