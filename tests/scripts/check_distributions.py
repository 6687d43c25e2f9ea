"""Check built sdists and wheels: LICENSE, py.typed, one version, the dependencies a minimal install needs.

    python tests/scripts/check_distributions.py dist/*.whl dist/*.tar.gz

Run by the nox ``packaging`` session after ``python -m build`` and ``twine check --strict``;
exits non-zero naming the file and what is missing.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_STRATEGIES = {"inc-onnx", "inc-torch"}  # adaptors whose default strategy (auto) is in inc-strategies


def _source_version(dist: str) -> str:
    init = ROOT / "packages" / dist / "src" / dist.replace("-", "_") / "__init__.py"
    found = re.search(r'^__version__ = "([^"]+)"', init.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise SystemExit(f"{init}: no __version__")
    return found.group(1)


def _members(path: Path) -> tuple[list[str], str]:
    """(file names, METADATA/PKG-INFO text) of a wheel or sdist."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
            return names, archive.read(metadata).decode()
    with tarfile.open(path) as archive:
        names = archive.getnames()
        info = next(n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO"))
        member = archive.extractfile(info)
        assert member is not None
        return names, member.read().decode()


def check(path: Path) -> list[str]:
    """Problems with one distribution file (empty when it is fine)."""
    names, text = _members(path)
    metadata = Parser().parsestr(text)
    dist, version = metadata["Name"], metadata["Version"]
    module = dist.replace("-", "_")
    problems = []
    if not any(n.endswith("/LICENSE") or n == "LICENSE" for n in names):
        problems.append("no LICENSE file")
    if not any(n.endswith(f"{module}/py.typed") for n in names):
        problems.append(f"no {module}/py.typed")
    if version != _source_version(dist):
        problems.append(f"version {version} differs from {module}.__version__ {_source_version(dist)}")
    if metadata["License-Expression"] != "Apache-2.0":
        problems.append(f"License-Expression is {metadata['License-Expression']!r}, expected 'Apache-2.0'")
    if not metadata.get_all("Project-URL"):
        problems.append("no Project-URL")
    requires = [re.split(r"[<>=!;\s\[]", r, maxsplit=1)[0] for r in metadata.get_all("Requires-Dist") or []]
    if dist in NEEDS_STRATEGIES and "inc-strategies" not in requires:
        problems.append("does not depend on inc-strategies (the default strategy 'auto' lives there)")
    return [f"{path.name}: {p}" for p in problems]


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: check_distributions.py DIST_FILE...", file=sys.stderr)
        return 2
    problems = [p for path in paths for p in check(Path(path))]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"ok: {len(paths)} distribution files have LICENSE, py.typed, one version and their URLs")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
