"""Minimal-install check: inc-core + inc-strategies + inc-onnx, no torch, tunes the digits example.

A plain script (not collected by pytest), run by the nox minimal-install session in a
venv without torch:

    python packages/inc-onnx/tests/no_torch_check.py [--strategy NAME]

It blocks ``import torch`` outright, tunes examples/onnx_digits to a 1% relative goal
and asserts the goal is met and that torch was never imported.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
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
        # The digits CNN runs in ~0.3 ms, where int8 is barely faster than fp32 on a CPU; it is 3x
        # smaller, so the gain asked for here is size (deterministic), as in test_end_to_end.py.
        config = TuningConfig(
            tolerable_loss=0.01,
            strategy=args.strategy,
            max_trials=50,
            run_dir=Path(run_dir) / "run",
            objectives={"model_size": 1.0},
        )
        result = autotune(
            str(EXAMPLE / "digits_cnn.onnx"), config, evaluate.accuracy, calib_data=str(EXAMPLE / "calib.npz")
        )
    assert result.met_goal, result.summary()
    assert "torch" not in sys.modules, "torch was imported"
    print(f"ok: {args.strategy} met the goal in {len(result.trials)} trial(s) without torch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
