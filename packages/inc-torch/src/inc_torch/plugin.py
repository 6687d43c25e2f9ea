"""inc plugin of inc-torch: registers the ``torch`` adaptor without importing torch."""

from __future__ import annotations

from typing import Any

from inc_core import hookimpl


@hookimpl
def inc_register_adaptors(register: Any) -> None:
    from inc_torch.adaptor import TorchAdaptor  # imports no torch at module level

    register("torch", TorchAdaptor)
