"""Minimal-install check: ``pip install inc-core inc-torch`` (no onnxruntime) tunes the torch digits example.

    python packages/inc-torch/tests/no_onnxruntime_check.py [--strategy NAME] [--no-cli]

Run by the nox ``torch_minimal`` session in a fresh venv holding only those two
distributions and their dependencies (and by a test in the dev venv). It tunes
examples/torch_digits with the default strategy from Python, then runs
``inc tune examples/torch_digits/run.yaml`` through the installed ``inc`` script, and
fails if either misses the goal or if onnxruntime was imported.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "torch_digits"


def _onnxruntime_loaded() -> list[str]:
    return sorted(name for name in sys.modules if name == "onnxruntime" or name.startswith("onnxruntime."))


def check_python(strategy: str) -> None:
    from inc_core import TuningConfig, autotune, get_plugin_manager
    from inc_torch import TorchAdaptor

    names = get_plugin_manager().strategies.names()
    assert strategy in names, f"strategy {strategy!r} not installed (have {names})"
    spec = importlib.util.spec_from_file_location("digits", EXAMPLE / "digits.py")
    assert spec is not None and spec.loader is not None
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    with tempfile.TemporaryDirectory() as tmp:
        config = TuningConfig(
            tolerable_loss=0.01,
            strategy=strategy,
            objectives={"model_size": 1.0},
            max_trials=30,
            run_dir=Path(tmp) / "run",
        )
        adaptor = TorchAdaptor(example_inputs=digits.example_inputs(), threads=1)
        result = autotune(
            digits.trained_model(), config, digits.accuracy, calib_data=digits.calibration(), adaptor=adaptor
        )
    assert result.met_goal, result.summary()
    loaded = _onnxruntime_loaded()
    assert not loaded, f"tuning a torch model imported {loaded[:5]}"
    print(f"ok: {strategy} met the goal in {len(result.trials)} trial(s), onnxruntime not imported")


def check_cli() -> None:
    inc = Path(sys.executable).with_name("inc")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        done = subprocess.run(
            [str(inc), "tune", str(EXAMPLE / "run.yaml"), "--run-dir", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"inc tune exited {done.returncode}:\n{done.stderr}"
        assert (run_dir / "best_config.yaml").is_file() and (run_dir / "best_model.pt2").is_file()
    print("ok: inc tune examples/torch_digits/run.yaml met the goal")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--no-cli", action="store_true", help="only the Python run")
    args = parser.parse_args()
    check_python(args.strategy)
    if not args.no_cli:
        check_cli()
    return 0


if __name__ == "__main__":
    sys.exit(main())
