"""Minimal-install check: ``pip install inc-core inc-onnx`` (no torch) tunes the digits example.

A plain script (not collected by pytest), run by the nox ``onnx_minimal`` session in a
fresh venv holding only those two distributions and their dependencies:

    python packages/inc-onnx/tests/no_torch_check.py [--strategy NAME]

It blocks ``import torch`` outright, tunes examples/onnx_digits to a 1% relative goal
with the default strategy from Python, then runs ``inc tune examples/onnx_digits/run.yaml``
(the installed console script), and asserts both meet the goal without torch.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "onnx_digits"


class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"no_torch_check: something imported {name!r}")
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="auto")
    args = parser.parse_args()
    sys.meta_path.insert(0, _NoTorch())

    from inc_core import TuningConfig, autotune, get_plugin_manager

    names = get_plugin_manager().strategies.names()
    assert args.strategy in names, f"strategy {args.strategy!r} not installed (have {names})"
    assert "onnx" in get_plugin_manager().adaptors.names()
    spec = importlib.util.spec_from_file_location("digits_evaluate", EXAMPLE / "evaluate.py")
    assert spec is not None and spec.loader is not None
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    with tempfile.TemporaryDirectory() as run_dir:
        # int8 makes this CNN ~3x smaller but hardly faster on a CPU (measured): tune for size, as run.yaml does
        config = TuningConfig(
            tolerable_loss=0.01,
            strategy=args.strategy,
            objectives={"model_size": 1.0},
            max_trials=50,
            run_dir=Path(run_dir) / "run",
        )
        result = autotune(
            str(EXAMPLE / "digits_cnn.onnx"), config, evaluate.accuracy, calib_data=str(EXAMPLE / "calib.npz")
        )
    assert result.met_goal, result.summary()
    assert "torch" not in sys.modules, "torch was imported"
    print(f"ok: {args.strategy} met the goal in {len(result.trials)} trial(s) without torch")
    check_cli()
    return 0


def check_cli() -> None:
    """``inc tune`` on the shipped run file, through the installed ``inc`` script."""
    inc = Path(sys.executable).with_name("inc")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        done = subprocess.run(
            [str(inc), "tune", str(EXAMPLE / "run.yaml"), "--run-dir", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"inc tune exited {done.returncode}:\n{done.stderr}"
        assert (run_dir / "best_config.yaml").is_file() and (run_dir / "best_model.onnx").is_file()
    print("ok: inc tune examples/onnx_digits/run.yaml met the goal")


if __name__ == "__main__":
    raise SystemExit(main())
