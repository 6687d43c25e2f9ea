"""`inc report`: a real HTML page with real PNG charts from a real run."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser

from inc_core import TuningConfig, autotune
from inc_core.testing import SyntheticModel, synthetic_accuracy


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        if tag == "tr":
            self.rows += 1


def test_report_page_references_its_charts(tmp_path) -> None:
    model = SyntheticModel(40, "few_sensitive", seed=3)
    result = autotune(model, TuningConfig(strategy="auto", run_dir=tmp_path / "run", timeout=600, max_trials=25),
                      synthetic_accuracy)  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "inc_core.cli", "report", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = tmp_path / "run" / "report" / "index.html"
    parser = Images()
    parser.feed(page.read_text())
    assert sorted(parser.sources) == ["float_ops.png", "pareto.png", "scores.png"]
    for source in parser.sources:
        image = page.parent / source
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 5_000
    assert parser.rows == len(result.trials) + 1  # header + one row per trial


def test_progress_plugin_draws_into_a_terminal_console(tmp_path) -> None:
    import io

    from rich.console import Console

    from inc_core import make_plugin_manager
    from inc_core.progress import TuningProgress

    buffer = io.StringIO()
    progress = TuningProgress(Console(file=buffer, force_terminal=True, width=140))
    pm = make_plugin_manager()
    pm.register(progress)
    autotune(SyntheticModel(20, "few_sensitive", seed=1), TuningConfig(strategy="auto", run_dir=tmp_path),
             synthetic_accuracy, plugin_manager=pm)  # fmt: skip
    text = buffer.getvalue()
    assert "target 0.792" in text and "best 0.7" in text
