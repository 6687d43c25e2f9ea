"""Torch adaptor benchmark: per-trial cost with/without calibration reuse, tuned vs fp32 latency and size.

    python benchmarks/torch.py [--quick] [--out docs/benchmarks/torch.md]

Models: the digits CNN of examples/torch_digits (trained here, seeded, a few seconds) and a
small transformer-like encoder built here (random weights; 2 layers, d=128, 4 heads, FF 512,
sequence 32, batch 8: Linear q/k/v/out/FF modules plus functional matmuls).

For each model:

* per-trial ``quantize`` time over the same configs (default, then each op alone in fp32)
  with calibration statistics reused (normal mode) and recomputed (``reuse_calibration=False``),
  and what a trial spends on prepare / calibration / convert / torchao weights;
* a tuning run (strategy ``auto`` if inc-strategies is installed, else ``toy``; 1% goal on
  top-1 agreement with fp32 for the encoder, on accuracy for digits): trials and wall time;
* median latency of fp32 and of the tuned model, eager and through ``torch.compile``
  (inductor, freezing on), and the stored size.

Writes a markdown report (default docs/benchmarks/torch.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # this script is named torch.py: it must not shadow the torch package

import torch  # noqa: E402
from torch import nn  # noqa: E402

from inc_core import Calibration, OpOption, TuningConfig, autotune, get_plugin_manager  # noqa: E402
from inc_torch.adaptor import TorchAdaptor  # noqa: E402
from inc_torch.testing import Agreement  # noqa: E402


class Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        h = self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, s, h, d // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / (d // h) ** 0.5, dim=-1)
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, d)
        x = self.ln1(x + self.o(y))
        return self.ln2(x + self.ff2(torch.relu(self.ff1(x))))


class Encoder(nn.Module):
    def __init__(self, layers: int = 2, d: int = 128, heads: int = 4, ff: int = 512, classes: int = 8) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(Block(d, heads, ff) for _ in range(layers)))
        self.head = nn.Linear(d, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x).mean(1))


def digits_problem() -> tuple[nn.Module, list[torch.Tensor], Any]:
    spec = importlib.util.spec_from_file_location("torch_digits", ROOT / "examples" / "torch_digits" / "digits.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example.trained_model(), example.calibration()[:8], example.accuracy


def encoder_problem() -> tuple[nn.Module, list[torch.Tensor], Any]:
    torch.manual_seed(0)
    model = Encoder().eval()
    gen = torch.Generator().manual_seed(1)
    calib = [torch.randn(8, 32, 128, generator=gen) for _ in range(4)]
    return model, calib, Agreement(model, torch.randn(256, 32, 128, generator=gen))


def trial_configs(adaptor: TorchAdaptor, model: nn.Module, limit: int) -> list[Any]:
    from inc_core import TuningSpace

    space = TuningSpace(adaptor.capability(model))
    default = space.default_config()
    configs = [default]
    for op in space.ops[: limit - 1]:
        configs.append(default.replace({op.name: OpOption.float("fp32")}))
    return configs


def per_trial(model: nn.Module, calib: list[torch.Tensor], reuse: bool, limit: int) -> dict[str, float]:
    adaptor = TorchAdaptor(example_inputs=calib[0], reuse_calibration=reuse)
    calibration = Calibration(data=calib)
    configs = trial_configs(adaptor, model, limit)
    adaptor.quantize(model, configs[0], calibration)  # warm-up (imports, first calibration)
    adaptor.costs.clear()
    for config in configs:
        adaptor.quantize(model, config, calibration)
    costs = adaptor.costs

    def mean(attr: str) -> float:
        return statistics.median(getattr(c, attr) for c in costs)

    return {
        "trials": len(configs),
        "trial_s": mean("total_s"),
        "prepare_s": mean("prepare_s"),
        "calibration_s": mean("calibration_s"),
        "convert_s": mean("convert_s"),
        "weights_s": mean("weights_s"),
    }


def latency(adaptor: TorchAdaptor, model: Any, calib: list[torch.Tensor], compiled: bool) -> float:
    bench = TorchAdaptor(example_inputs=calib[0], threads=adaptor.threads, compile=compiled, repetitions=30, warmup=5)
    return bench.benchmark(model, Calibration(data=calib))


def run(name: str, problem: Any, args: argparse.Namespace) -> dict[str, Any]:
    model, calib, eval_fn = problem
    row: dict[str, Any] = {"model": name}
    print(f"[{name}] per-trial cost ...", flush=True)
    row["reuse"] = per_trial(model, calib, True, args.trials)
    row["recompute"] = per_trial(model, calib, False, args.trials)
    strategy = "auto" if "auto" in get_plugin_manager().strategies.names() else "toy"
    print(f"[{name}] tuning with {strategy} ...", flush=True)
    adaptor = TorchAdaptor(example_inputs=calib[0], threads=args.threads, repetitions=20, warmup=3)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = autotune(
            model,
            TuningConfig(tolerable_loss=0.01, strategy=strategy, max_trials=40, run_dir=Path(tmp) / "run"),
            eval_fn,
            calib_data=calib,
            adaptor=adaptor,
        )
        row["tune_s"] = time.perf_counter() - start
    row.update(
        strategy=strategy,
        met_goal=result.met_goal,
        trials=len(result.trials),
        fp32_score=result.baseline_score,
        tuned_score=result.best_trial.score if result.best_trial else None,
        config=result.best_config.summary(6).split(" | ")[0] if result.best_config else "-",
        fp32_size=adaptor.model_size(model),
        tuned_size=adaptor.model_size(result.best_model),
    )
    print(f"[{name}] latency ...", flush=True)
    row["fp32_eager"] = latency(adaptor, model, calib, False)
    row["tuned_eager"] = latency(adaptor, result.best_model, calib, False)
    if not args.quick:
        row["fp32_compiled"] = latency(adaptor, model, calib, True)
        row["tuned_compiled"] = latency(adaptor, result.best_model, calib, True)
    row["variants"] = variants(model, calib, args)
    return row


def variants(model: nn.Module, calib: list[torch.Tensor], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Whole-model variants: every op in one mode where it has it (others fp32)."""
    from inc_core import TuningSpace

    adaptor = TorchAdaptor(example_inputs=calib[0], threads=args.threads)
    space = TuningSpace(adaptor.capability(model))
    calibration = Calibration(data=calib)
    wanted = {
        "static int8": lambda o: o.mode == "static" and o.get("weight_granularity", "per_channel") == "per_channel",
        "dynamic int8": lambda o: o.mode == "dynamic",
        "weight-only int8": lambda o: o.mode == "weight_only" and o.dtype == "int8",
        "weight-only int4": lambda o: o.mode == "weight_only" and o.dtype == "int4",
        "bf16": lambda o: o.dtype == "bf16",
    }
    out = []
    for label, match in wanted.items():
        changes = {}
        for op in space.ops:
            option = next((o for o in op.options if match(o)), OpOption.float("fp32"))
            changes[op.name] = option
        config = space.default_config().replace(changes)
        covered = sum(1 for o in config.ops.values() if match(o))
        if not covered:
            continue
        quantized = adaptor.quantize(model, config, calibration)
        compiled = None
        if not args.quick and label == "dynamic int8":
            compiled = latency(adaptor, quantized, calib, True)
        out.append(
            {
                "variant": label,
                "ops": f"{covered}/{len(space.ops)}",
                "eager": latency(adaptor, quantized, calib, False),
                "compiled": compiled,
                "size": adaptor.model_size(quantized),
            }
        )
    return out


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Torch adaptor benchmark",
        "",
        f"`python benchmarks/torch.py{' --quick' if args.quick else ''}` on "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, threads={args.threads}. Latency: median of one forward "
        "pass on a calibration batch (digits: 32 images; encoder: 8 x 32 x 128).",
        "",
        "## Per-trial cost (median seconds per `quantize`)",
        "",
        "Configs: the default (all static int8) and each op alone in fp32. *reuse*: observer statistics from one "
        "calibration run are loaded into every trial's prepared graph; *recompute*: every trial calibrates.",
        "",
        "| model | mode | trials | per trial | prepare | calibration | convert | torchao weights |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for mode in ("reuse", "recompute"):
            c = row[mode]
            lines.append(
                f"| {row['model']} | {mode} | {c['trials']} | {c['trial_s']:.3f} | {c['prepare_s']:.3f} | "
                f"{c['calibration_s']:.3f} | {c['convert_s']:.3f} | {c['weights_s']:.3f} |"
            )
    lines += [
        "",
        "## Tuning (1% relative goal) and the tuned model",
        "",
        "| model | strategy | met goal | trials | tune time (s) | score fp32 -> tuned | fp32 eager (ms) "
        "| tuned eager (ms) | fp32 compiled (ms) | tuned compiled (ms) | size fp32 -> tuned (KiB) | best config |",
        "|---|---|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        tuned = f"{row['tuned_score']:.4f}" if row["tuned_score"] is not None else "-"
        lines.append(
            f"| {row['model']} | {row['strategy']} | {row['met_goal']} | {row['trials']} | {row['tune_s']:.1f} | "
            f"{row['fp32_score']:.4f} -> {tuned} | {ms(row['fp32_eager'])} | {ms(row['tuned_eager'])} | "
            f"{ms(row.get('fp32_compiled'))} | {ms(row.get('tuned_compiled'))} | "
            f"{row['fp32_size'] / 1024:.1f} -> {row['tuned_size'] / 1024:.1f} | {row['config']} |"
        )
    lines += [
        "",
        "## Whole-model variants (ops without the mode stay fp32)",
        "",
        "| model | variant | ops | eager (ms) | compiled (ms) | size (KiB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | fp32 | - | {ms(row['fp32_eager'])} | {ms(row.get('fp32_compiled'))} | "
            f"{row['fp32_size'] / 1024:.1f} |"
        )
        for v in row["variants"]:
            lines.append(
                f"| {row['model']} | {v['variant']} | {v['ops']} | {ms(v['eager'])} | {ms(v['compiled'])} | "
                f"{v['size'] / 1024:.1f} |"
            )
    lines += [
        "",
        "Eager static int8 runs PT2E's reference graph (quantize/dequantize around fp32 ops), so it is slower "
        "than fp32 in eager mode; `torch.compile` lowers those patterns to int8 kernels. The tuner ranks passing "
        "configs by the latency the adaptor measures (eager unless `TorchAdaptor(compile=True)`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip torch.compile latencies")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trials", type=int, default=6, help="configs timed per mode")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "torch.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [run("digits CNN", digits_problem(), args), run("encoder", encoder_problem(), args)]
    text = report(rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
