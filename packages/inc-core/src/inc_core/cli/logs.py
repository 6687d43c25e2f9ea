"""Log records of other libraries (ONNX Runtime's quantizers, torchao, warnings) go to ``tuning.log`` only.

ORT's ``matmul_nbits_quantizer`` calls ``logging.basicConfig(level=INFO)`` when imported,
which would print a line per quantized MatMul through the progress display. While a
run is going, `foreign_logs_into` gives the root logger a handler on the run's log
file, so such a ``basicConfig`` does nothing and their records land in the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def foreign_logs_into(log_file: Path) -> Iterator[None]:
    """Root logger (every library but ``inc``, which logs on its own) and warnings -> ``log_file``."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        handler.close()
