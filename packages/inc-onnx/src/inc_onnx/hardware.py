"""What the CPU tells about ONNX Runtime's int8 kernels.

On x86 CPUs without VNNI, ORT's u8s8 int8 kernels (QLinearConv, MatMulInteger, QGEMM)
multiply with AVX2's ``vpmaddubsw``, which adds pairs of u8 x s8 products in *saturating*
int16: two products of 255 x 127 overflow it. A QDQ model that is accurate when its Q/DQ
nodes run as written then loses accuracy once ORT fuses them into those kernels (measured on
the test CNN: 0.005 max error unfused, 0.063 fused). ORT's documented remedy is
``reduce_range`` (7-bit weights: 2 x 255 x 63 fits in int16). VNNI (and AMX) kernels
accumulate in int32 and need no such care.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
X86 = frozenset({"x86_64", "amd64", "i386", "i686", "x86"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU feature flags (Linux ``/proc/cpuinfo``), or None where they cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


@functools.cache
def int8_pairs_saturate() -> bool:
    """Whether ORT's u8s8 kernels on this CPU add product pairs in saturating int16 (x86 without VNNI).

    Unknown flags on x86 count as saturating: 7-bit weights cost little accuracy, overflow a lot.
    """
    if platform.machine().lower() not in X86:
        return False
    flags = cpu_flags()
    return flags is None or not (flags & VNNI_FLAGS)
