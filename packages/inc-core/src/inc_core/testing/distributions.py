"""A real installed distribution on a ``sys.path`` entry, for plugin-discovery tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from inc_core.plugins.manager import ENTRY_POINT_GROUP


def make_distribution(root: Path, dist: str, module: str, body: str) -> None:
    """Write ``dist``'s dist-info (metadata + one ``inc.plugins`` entry point) and ``module.py`` under ``root``."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(body))
