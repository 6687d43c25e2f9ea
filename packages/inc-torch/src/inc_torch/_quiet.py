"""Targeted filters for the noise torchao and torch print on a CPU-only machine.

torchao tries to load CUDA kernel libraries (``_C_*.so``) at import and logs a
warning for each one a CPU machine cannot load; torch warns about torchao's
enum registration, tensor-subclass cache hashing and pytree internals. None of it
concerns users of inc. Each filter matches one known message from one logger or
module, so every other warning still shows.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

_LOG_FILTERS: dict[str, tuple[re.Pattern[str], ...]] = {
    "torchao": (re.compile(r"Failed to load .*_C.*\.so"),),
    "torchao.kernel.intmm": (re.compile(r"Detected no triton"),),
    "torch.utils._pytree": (re.compile(r"is an Enum subclass and is now natively supported"),),
}

_WARNING_FILTERS: tuple[tuple[str, type[Warning]], ...] = (
    (r".*does not implement _stable_hash_for_caching", UserWarning),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    (r"`torch.jit.script_method` is deprecated", DeprecationWarning),
)

# Raised by X86InductorQuantizer while annotating a graph in which we keep some ops in
# fp32 on purpose; inc decides what is quantized, so these are expected.
QUANTIZER_WARNINGS: tuple[str, ...] = (
    r"The input of .* is not quantized, skip annotate",
    r"Skip the quantization config",
    r"Mixed .* quantization config is not supported",
)


class _MessageFilter(logging.Filter):
    def __init__(self, patterns: tuple[re.Pattern[str], ...]) -> None:
        super().__init__()
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        return not any(p.search(message) for p in self.patterns)


_installed = False


def install_filters() -> None:
    """Install the filters (idempotent; warning filters are re-added if something reset them)."""
    global _installed
    if not _installed:
        for name, patterns in _LOG_FILTERS.items():
            logging.getLogger(name).addFilter(_MessageFilter(patterns))
        _installed = True
    for message, category in _WARNING_FILTERS:
        warnings.filterwarnings("ignore", message=message, category=category)


def import_torchao() -> Any:
    """Import torchao with its CPU-machine noise filtered; returns the module."""
    install_filters()
    import torchao

    return torchao


class quiet_quantizer(warnings.catch_warnings):  # noqa: N801 - used as a context manager
    """Silence the expected X86InductorQuantizer annotation warnings inside a block."""

    def __enter__(self) -> Any:
        result = super().__enter__()
        for message in QUANTIZER_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        return result
