"""Developer and CI sessions. pip (nox's default) is used: it finds the local torch CPU wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = [
    "tests",
    "lint",
    "onnx_minimal",
    "torch_minimal",
    "onnx_lowest",
    "packaging",
    "report_browser",
    "docs",
]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ("-c", "constraints-ci.txt")
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Every package's unit tests and the cross-package tests."""
    session.install(*CONSTRAINTS, "-r", "requirements-dev.txt")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) on everything, mypy on inc_core, the import contracts (pyproject.toml)."""
    session.install(*CONSTRAINTS, "ruff", "mypy", "types-PyYAML", "import-linter", "-e", "packages/inc-core")
    session.install("--no-deps", *(f"-e{p}" for p in PACKAGES[1:]))  # lint-imports reads their source only
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")


PACKAGES = ("packages/inc-core", "packages/inc-strategies", "packages/inc-onnx", "packages/inc-torch")
ONNXRUNTIME_FLOOR = "1.31.0"  # the lowest onnxruntime inc-onnx declares (see packages/inc-onnx/README.md)


def _wheelhouse(session: nox.Session) -> str:
    """Wheels of every inc distribution of this checkout: pip resolves ``inc-*`` names from here."""
    wheels = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), *PACKAGES)
    return str(wheels)


@nox.session(python=PYTHON, reuse_venv=False)
def onnx_minimal(session: nox.Session) -> None:
    """A fresh venv with exactly ``pip install inc-core inc-onnx``: tune the digits example (Python and CLI)."""
    session.install(*CONSTRAINTS, "--find-links", _wheelhouse(session), "inc-core", "inc-onnx")
    session.run("python", "packages/inc-onnx/tests/no_torch_check.py")


@nox.session(python=PYTHON, reuse_venv=False)
def torch_minimal(session: nox.Session) -> None:
    """A fresh venv with exactly ``pip install inc-core inc-torch``: tune the torch digits example."""
    session.install(*CONSTRAINTS, "--find-links", _wheelhouse(session), "inc-core", "inc-torch")
    session.run("python", "packages/inc-torch/tests/no_onnxruntime_check.py")


@nox.session(python=PYTHON, reuse_venv=False)
def onnx_lowest(session: nox.Session) -> None:
    """The ONNX tests against the lowest onnxruntime inc-onnx declares."""
    session.install(
        "--find-links",
        _wheelhouse(session),
        "inc-core",
        "inc-onnx",
        f"onnxruntime=={ONNXRUNTIME_FLOOR}",
        "tests/plugins/inc-toy-strategy",
        "pytest>=8",
        "pytest-timeout>=2.3",
        "hypothesis>=6",
    )
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "packages/inc-onnx/tests", *session.posargs)


@nox.session(python=PYTHON, reuse_venv=False)
def packaging(session: nox.Session) -> None:
    """Build every sdist and wheel, check their metadata (twine --strict) and contents (LICENSE, py.typed)."""
    session.install("build>=1.2", "twine>=6.1")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in PACKAGES:
        session.run("python", "-m", "build", "-q", "--outdir", str(dist), package)
    files = sorted(str(p) for p in dist.iterdir())
    session.run("twine", "check", "--strict", *files)
    session.run("python", "tests/scripts/check_distributions.py", *files)


@nox.session(python=PYTHON, reuse_venv=False)
def report_browser(session: nox.Session) -> None:
    """``inc report`` pages of two real runs in headless Chromium: no console error, every chart drawn.

    Needs Debian's ``chromium`` and ``chromium-driver``. Screenshots go to ``build/screenshots``
    (or the folder given after ``--``).
    """
    session.install(
        *CONSTRAINTS, "--find-links", _wheelhouse(session), "inc-core[report]", "inc-onnx", "selenium>=4.20"
    )
    runs = Path(session.create_tmp()) / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    pages = []
    for name in ("synthetic", "onnx_digits"):
        session.run("inc", "tune", f"examples/{name}/run.yaml", "--run-dir", str(runs / name), success_codes=[0, 1])
        session.run("inc", "report", str(runs / name))
        pages.append(str(runs / name / "report" / "index.html"))
    shots = session.posargs[0] if session.posargs else "build/screenshots"
    session.run("python", "tests/scripts/browser_check.py", shots, *pages)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx site, nitpicky, with warnings as errors (remaining ignores justified in docs/conf.py)."""
    editable = ("-e", "packages/inc-core", "-e", "packages/inc-strategies", "-e", "packages/inc-onnx")
    session.install(*CONSTRAINTS, "-r", "docs/requirements.txt", *editable)
    session.install("--no-deps", "-e", "packages/inc-torch")  # torch is mocked
    session.run("sphinx-build", "-n", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


def _bench(session: nox.Session, name: str) -> None:
    session.install(*CONSTRAINTS, "-r", "requirements-dev.txt")
    session.run("python", f"benchmarks/{name}.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_core(session: nox.Session) -> None:
    """Core overheads on the 10,000-op synthetic model -> docs/benchmarks/core.md."""
    _bench(session, "core")


@nox.session(python=PYTHON)
def bench_strategies(session: nox.Session) -> None:
    """Strategies x profiles x sizes -> docs/benchmarks/strategies.md."""
    _bench(session, "strategies")


@nox.session(python=PYTHON)
def bench_onnx(session: nox.Session) -> None:
    """ONNX adaptor per-trial time, latency and size -> docs/benchmarks/onnx.md."""
    _bench(session, "onnx")


@nox.session(python=PYTHON)
def bench_torch(session: nox.Session) -> None:
    """Torch adaptor per-trial time, latency and size -> docs/benchmarks/torch.md."""
    _bench(session, "torch")


@nox.session(python=PYTHON)
def bench_scaleout(session: nox.Session) -> None:
    """Eval-bound tuning on 1/2/4/8 Dask workers -> docs/benchmarks/scaleout.md."""
    _bench(session, "scaleout")


@nox.session(python=PYTHON)
def bench_shipping(session: nox.Session) -> None:
    """Real models x strategies: evaluations to goal, paired speed-up, size -> docs/benchmarks/shipping.md."""
    _bench(session, "shipping")


@nox.session(python=PYTHON)
def faults(session: nox.Session) -> None:
    """SIGKILL/resume and Dask worker loss at random points -> docs/benchmarks/faults.md."""
    _bench(session, "faults")
