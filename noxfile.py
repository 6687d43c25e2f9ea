"""Developer and CI sessions. pip (nox's default) is used: it finds the local torch CPU wheel."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "onnx_minimal", "torch_minimal", "docs"]
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
    """ruff (lint + format check) on everything, mypy on inc_core."""
    session.install(*CONSTRAINTS, "ruff", "mypy", "types-PyYAML", "-e", "packages/inc-core")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python=PYTHON)
def onnx_minimal(session: nox.Session) -> None:
    """inc-core + inc-strategies + inc-onnx without torch: tune the digits example."""
    session.install(*CONSTRAINTS, "packages/inc-core", "packages/inc-strategies", "packages/inc-onnx")
    session.run("python", "packages/inc-onnx/tests/no_torch_check.py")


@nox.session(python=PYTHON)
def torch_minimal(session: nox.Session) -> None:
    """inc-core + inc-strategies + inc-torch without onnxruntime: tune the torch example."""
    session.install(*CONSTRAINTS, "packages/inc-core", "packages/inc-strategies", "packages/inc-torch")
    session.run("python", "packages/inc-torch/tests/no_onnxruntime_check.py")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors."""
    session.install(*CONSTRAINTS, "-r", "docs/requirements.txt", "-e", "packages/inc-core")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


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
