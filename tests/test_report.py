"""`inc report`: a real HTML page with real PNG charts from a real run."""

from __future__ import annotations

import base64
import subprocess
import sys
from html.parser import HTMLParser

from inc_core import TuningConfig, autotune
from inc_core.history.trial import Trial
from inc_core.space.tune_config import TuneConfig
from inc_core.testing import SyntheticModel, synthetic_accuracy


class Page(HTMLParser):
    """The images, table rows (with their classes) and chart captions of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.rows: list[dict[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        if tag == "tr":
            self.rows.append(dict(attrs))

    def handle_data(self, data):
        self.text += data


def png_of(source: str) -> bytes:
    assert source.startswith("data:image/png;base64,"), "charts are embedded: the page is one self-contained file"
    return base64.b64decode(source.partition(",")[2])


def test_report_is_one_page_with_embedded_charts_and_a_header_in_words(tmp_path) -> None:
    model = SyntheticModel(40, "few_sensitive", seed=3)
    result = autotune(model, TuningConfig(strategy="auto", run_dir=tmp_path / "run", timeout=600, max_trials=25),
                      synthetic_accuracy)  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "inc_core.cli", "report", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page_file = tmp_path / "run" / "report" / "index.html"
    assert [p.name for p in page_file.parent.iterdir()] == ["index.html"]
    parser = Page()
    parser.feed(page_file.read_text())
    assert len(parser.sources) >= 3
    for source in parser.sources:
        image = png_of(source)
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 5_000
    rows = [r for r in parser.rows if r.get("id")]
    assert [r["id"] for r in rows] == [f"trial-{t.number}" for t in result.trials]
    chosen = [r for r in rows if "chosen" in (r.get("class") or "")]
    assert [r["id"] for r in chosen] == [f"trial-{result.best_trial.number}"]
    assert f"accuracy {result.baseline_score:.4g} (fp32) -> {result.best_trial.score:.4g}" in parser.text
    assert f"{len(result.trials)} trials in " in parser.text and "full config" in parser.text
    assert "{'accuracy'" not in parser.text  # no raw key dump


def test_the_front_is_the_two_axes_shown() -> None:
    from inc_core.cli.report import front_2d

    def trial(n: int) -> Trial:
        return Trial(number=n, config=TuneConfig({}), stage="", passed=True)

    # (latency, score): 3 is dominated by 2 (slower and worse) although it may win on a third axis
    points = [(1.0, 0.90, trial(1)), (2.0, 0.95, trial(2)), (3.0, 0.93, trial(3)), (4.0, 0.97, trial(4))]
    assert [p[2].number for p in front_2d(points, higher=True)] == [1, 2, 4]
    assert [p[2].number for p in front_2d(points, higher=False)] == [1]


def test_progress_plugin_draws_into_a_terminal_console(tmp_path) -> None:
    import io

    from rich.console import Console

    from inc_core import make_plugin_manager
    from inc_core.cli.progress import TuningProgress

    buffer = io.StringIO()
    progress = TuningProgress(Console(file=buffer, force_terminal=True, width=140))
    pm = make_plugin_manager()
    pm.register(progress)
    autotune(SyntheticModel(20, "few_sensitive", seed=1), TuningConfig(strategy="auto", run_dir=tmp_path),
             synthetic_accuracy, plugin_manager=pm)  # fmt: skip
    text = buffer.getvalue()
    assert "target 0.792" in text and "best 0.7" in text
