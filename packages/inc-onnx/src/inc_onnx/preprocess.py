"""ORT's quantization pre-processing, run so that it writes only under our workdir and imports no torch.

The steps of ``onnxruntime.quantization.quant_pre_process``: symbolic shape inference,
ORT's basic graph optimization (constant folding, Conv+BatchNorm and MatMul+Add fusion),
ONNX shape inference. Called as ORT ships it, it imports ``onnxruntime.tools``, whose
``__init__`` imports torch when torch is installed (1.4 s per process), and its symbolic
shape inference writes ``sym_shape_infer_temp.onnx`` and a ``<uuid>.data`` copy of the
weights into the *current directory* whenever inference is incomplete. Here the symbolic
shape inference module is loaded from its file (the package ``__init__`` never runs) and
driven without that dump; every file goes under ``workdir``.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from inc_core import AdaptorError

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger("inc.onnx")

PRE_PROCESS_KEY = "onnx.quant.pre_process"
"""Metadata ORT's quantizers look for (they advise pre-processing when it is missing)."""


@functools.cache
def _symbolic_module() -> ModuleType:
    """``onnxruntime/tools/symbolic_shape_infer.py`` loaded by path, without ``onnxruntime.tools.__init__``."""
    import onnxruntime

    path = Path(onnxruntime.__file__).parent / "tools" / "symbolic_shape_infer.py"
    spec = importlib.util.spec_from_file_location("inc_onnx._ort_symbolic_shape_infer", path)
    if spec is None or spec.loader is None:
        raise AdaptorError(f"ONNX Runtime's symbolic shape inference is missing ({path})")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def symbolic_shapes(model: onnx.ModelProto, int_max: int = 2**31 - 1) -> onnx.ModelProto:
    """``model`` with ORT's symbolic shape inference applied; raises where inference is incomplete.

    Drives ORT's ``SymbolicShapeInference`` as its ``infer_shapes`` does, minus the dump
    of the partial result into the current directory.
    """
    inference = _symbolic_module().SymbolicShapeInference(int_max, False, False, 0)
    inference._preprocess(model)
    complete = False
    while inference.run_:
        complete = inference._infer_impl()
    inference._update_output_from_vi()
    if not complete:
        raise AdaptorError("symbolic shape inference is incomplete")
    return inference.out_mp_


def optimize(source: Path, target: Path, large: bool) -> None:
    """ORT's basic graph optimization of ``source`` written to ``target`` (weights beside it if ``large``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(target)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    if large:
        options.add_session_config_entry(
            "session.optimized_model_external_initializers_file_name", target.name + ".data"
        )
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def preprocess(model: onnx.ModelProto, workdir: Path, threshold: int) -> onnx.ModelProto:
    """Symbolic shapes (where inference completes), basic optimization and ONNX shape inference.

    Files go under ``workdir``; opset <= 10 models (Upsample must become Resize first) go
    through ORT's ``quant_pre_process`` without its symbolic step, which writes only to a
    temporary directory of its own.
    """
    import onnx

    from inc_onnx.model_io import is_large, opset, save_model

    workdir.mkdir(parents=True, exist_ok=True)
    large = is_large(model, threshold)
    if opset(model) <= 10:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        source = save_model(model, workdir / "named.onnx", threshold)
        quant_pre_process(
            str(source),
            str(workdir / "pre.onnx"),
            skip_symbolic_shape=True,
            save_as_external_data=large,
            all_tensors_to_one_file=True,
        )
        return onnx.load(str(workdir / "pre.onnx"), load_external_data=True)
    try:
        model = symbolic_shapes(model)
    except Exception as exc:  # inference fails on some graphs: ONNX shape inference still runs below
        logger.info("symbolic shape inference skipped: %s", exc)
    source = save_model(model, workdir / "shaped.onnx", threshold)
    optimized = workdir / "optimized.onnx"
    optimize(source, optimized, large)
    inferred = workdir / "inferred.onnx"
    onnx.shape_inference.infer_shapes_path(str(optimized), str(inferred))
    result = onnx.load(str(inferred), load_external_data=True)
    entry = result.metadata_props.add()
    entry.key, entry.value = PRE_PROCESS_KEY, "onnxruntime.quant"
    return result
