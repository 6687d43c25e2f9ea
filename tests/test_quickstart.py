"""docs/quickstart.md and the README, run as written: every ``$ inc ...`` command, its output shown, the snippets.

Commands run in a temporary copy of ``examples/`` (so ``inc_runs/`` lands in tmp_path);
an output line shown in the docs must appear in the real output (a line ending in ``…``
only up to there). The run files shown must be the shipped ones.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang == language]


def sessions(text: str) -> list[tuple[str, list[str]]]:
    """(command, output lines shown) for every ``$ `` line of the console blocks."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks(QUICKSTART, "console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and line.strip() and block.lstrip().startswith("$ "):
                found[-1][1].append(line)
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("onnx_digits", "synthetic", "torch_digits"):
        shutil.copytree(ROOT / "examples" / name, tmp_path / "examples" / name)
    return tmp_path


def _shown_in(shown: str, output: str) -> bool:
    lines = [line.rstrip() for line in output.splitlines()]
    if shown.endswith("…"):
        return any(line.startswith(shown[:-1]) for line in lines)
    return shown.rstrip() in lines


@pytest.mark.slow
def test_every_quickstart_command_runs_as_written(workdir: Path) -> None:
    commands = sessions(QUICKSTART.read_text(encoding="utf-8"))
    assert len(commands) >= 8
    inc = str(Path(sys.executable).with_name("inc"))
    env = {**os.environ, "COLUMNS": "200"}  # the docs show unwrapped lines
    for command, shown in commands:
        argv = shlex.split(command)
        assert argv[0] == "inc", command
        done = subprocess.run(
            [inc, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=600, env=env, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        for line in shown:
            assert _shown_in(line, done.stdout + done.stderr), f"{command}: shown {line!r}, got:\n{done.stderr}"
    assert (workdir / "digits.int8.onnx").is_file()
    # --overwrite replaced the run directory: the report written before it is gone with it
    assert (workdir / "inc_runs" / "onnx_digits" / "history.sqlite").is_file()
    assert not (workdir / "inc_runs" / "onnx_digits" / "report").exists()


@pytest.mark.slow
@pytest.mark.parametrize("document", [QUICKSTART, ROOT / "README.md"], ids=["quickstart", "README"])
def test_the_onnx_python_snippet_runs(workdir: Path, document: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet = next(b for b in blocks(document, "python") if "inc_onnx" in b)
    monkeypatch.chdir(workdir)
    namespace: dict[str, object] = {}
    exec(compile(snippet, str(document), "exec"), namespace)
    result = namespace["result"]
    assert result.met_goal and result.compression > 2  # type: ignore[attr-defined]


def test_the_run_files_shown_are_the_shipped_ones() -> None:
    shown = [yaml.safe_load(b) for b in blocks(QUICKSTART, "yaml")]
    for example in ("onnx_digits", "torch_digits"):
        shipped = yaml.safe_load((ROOT / "examples" / example / "run.yaml").read_text(encoding="utf-8"))
        assert shipped in shown, f"examples/{example}/run.yaml differs from the quickstart's"


def test_the_api_page_lists_every_tuning_config_field() -> None:
    from inc_core import TuningConfig

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \| [^|]+ \| [^|]+ \|$", text, re.M)
    assert table == list(TuningConfig.model_fields)
