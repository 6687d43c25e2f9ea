"""Every ``inc_core`` path the docs and READMEs name resolves, and the 0.1 paths still work."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted([*ROOT.glob("docs/**/*.md"), ROOT / "README.md", *ROOT.glob("packages/*/README.md")])
DOTTED = re.compile(r"\binc_core(?:\.\w+)+(?::\w+)?")
FROM_IMPORT = re.compile(r"from (inc_core(?:\.\w+)*) import ([\w, ]+)")


def resolve(path: str) -> object:
    """Import the longest module prefix of ``path`` (``a.b.c`` or ``a.b:c``), then read the rest as attributes."""
    module_path, _, attribute = path.partition(":")
    parts = module_path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in [*parts[cut:], *([attribute] if attribute else [])]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(path)


def documented() -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        where = str(doc.relative_to(ROOT))
        found |= {(where, m.group(0)) for m in DOTTED.finditer(text)}
        for module, names in FROM_IMPORT.findall(text):
            found |= {(where, f"{module}:{n.strip()}") for n in names.split(",") if n.strip()}
    return sorted(found)


@pytest.mark.parametrize(("doc", "path"), documented())
def test_documented_path_resolves(doc: str, path: str) -> None:
    try:
        resolve(path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{doc} names {path}, which does not resolve: {exc}")


COMPAT = {
    # 0.1 path (named by its docs) -> where the object lives now
    "inc_core.timing:interleaved_latency": "inc_core.measure.timing:interleaved_latency",
    "inc_core.sensitivity:METHODS": "inc_core.measure.sensitivity:METHODS",
    "inc_core.ranges:extreme_tensors": "inc_core.measure.ranges:extreme_tensors",
    "inc_core.hookspecs:inc_register_strategies": "inc_core.plugins.hookspecs:inc_register_strategies",
    "inc_core.progress:TuningProgress": "inc_core.cli.progress:TuningProgress",
    "inc_core.progress:progress_wanted": "inc_core.cli.progress:progress_wanted",
    "inc_core.report:write_report": "inc_core.cli.report:write_report",
    "inc_core.run_spec:load_run_file": "inc_core.cli.run_file:load_run_file",
    "inc_core.run_spec:resolve_run": "inc_core.cli.resolve_run:resolve_run",
    "inc_core.adaptor_options:build_adaptor": "inc_core.adaptor.options:build_adaptor",
    "inc_core.strategy:TuneStrategy": "inc_core.strategy.base:TuneStrategy",
    "inc_core.strategy:option_model": "inc_core.strategy.options:option_model",
    "inc_core.adaptor:Adaptor": "inc_core.adaptor.base:Adaptor",
    "inc_core.history:TrialHistory": "inc_core.history.store:TrialHistory",
    "inc_core.testing.synthetic:SyntheticAdaptor": "inc_core.adaptor.synthetic:SyntheticAdaptor",
}


@pytest.mark.parametrize(("old", "new"), sorted(COMPAT.items()))
def test_former_paths_give_the_same_objects(old: str, new: str) -> None:
    assert resolve(old) is resolve(new)
