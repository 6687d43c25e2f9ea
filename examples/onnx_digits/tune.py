"""Tune an ONNX model to an accuracy goal and print the result (no torch needed).

    python examples/onnx_digits/tune.py [--config CONFIG.yaml] [--strategy NAME] [--max-trials N] [--run-dir DIR]

The config (default: config.yaml next to this script) names the model, the
calibration .npz, the eval function (module:function), the tolerable relative
accuracy loss, the strategy and max_trials. Its schema is provisional until the
``inc tune`` command defines the final one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from inc_core import TuningConfig, autotune, get_plugin_manager

HERE = Path(__file__).resolve().parent


def load_config(path: Path) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    base = path.parent
    for key in ("model", "calibration"):
        config[key] = str((base / config[key]).resolve())
    module_name, _, function = config["eval_fn"].partition(":")
    sys.path.insert(0, str(base))
    try:
        config["eval_fn"] = getattr(importlib.import_module(module_name), function)
    finally:
        sys.path.remove(str(base))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "config.yaml")
    parser.add_argument("--strategy", help="override the config's strategy")
    parser.add_argument("--max-trials", type=int, help="override the config's max_trials")
    parser.add_argument("--run-dir", type=Path, help="where the history and best model go (default: a temp dir)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    strategy = args.strategy or config.get("strategy", "auto")
    installed = get_plugin_manager().strategies.names()
    if strategy not in installed:
        print(
            f"strategy {strategy!r} is not installed (pip install inc-strategies, or pass --strategy); "
            f"installed: {', '.join(installed)}",
            file=sys.stderr,
        )
        return 2
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="inc-onnx-example-"))
    tuning = TuningConfig(
        tolerable_loss=float(config["tolerable_loss"]),
        max_trials=args.max_trials or int(config.get("max_trials", 50)),
        strategy=strategy,
        run_dir=run_dir,
        objectives=config.get("objectives", {"latency": 1.0}),
    )
    result = autotune(config["model"], tuning, config["eval_fn"], calib_data=config["calibration"])
    best = result.best_trial
    print(f"model:        {Path(config['model']).name}")
    print(f"strategy:     {tuning.strategy_name}")
    print(f"met_goal:     {result.met_goal} ({result.reason or result.stop_reason})")
    print(f"trials:       {len(result.trials)}")
    score = f"{best.score:.4f}" if best and best.score is not None else "n/a"
    print(f"accuracy:     fp32 {result.baseline_score:.4f} -> tuned {score} (target >= {result.target_score:.4f})")
    if best and best.latency is not None and result.speedup:
        # paired: the tuned model and fp32 timed interleaved in one benchmark
        print(f"latency:      {best.latency * 1e3:.3f} ms, {result.speedup:.2f}x fp32's speed")
    if best and best.model_size and result.baseline_size:
        size = f"fp32 {result.baseline_size / 1024:.1f} KiB -> tuned {best.model_size / 1024:.1f} KiB"
        print(f"size:         {size} ({result.baseline_size / best.model_size:.2f}x smaller)")
    if result.best_config is not None:
        print(f"best config:  {result.best_config.summary(8)}")
    print(f"saved:        {result.model_path or 'n/a'}")
    return 0 if result.met_goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
