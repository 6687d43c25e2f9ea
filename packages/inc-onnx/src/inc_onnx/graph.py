"""The prepared graph every trial starts from, and small graph queries.

Preparation runs once per model: every node gets a unique name (ORT's quantizers
select nodes by name), ORT's quantization pre-processing (`inc_onnx.preprocess`) runs
symbolic shape inference and basic graph optimization (Conv+BatchNorm folding, constant
folding), and tensor
element types are recorded so later passes know which tensors are float.
"""

from __future__ import annotations

import copy
import functools
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger("inc.onnx")


def name_nodes(model: onnx.ModelProto) -> None:
    """Give every unnamed (or duplicate-named) node a unique name ``<OpType>_<index>``, in place."""
    seen: set[str] = set()
    for index, node in enumerate(model.graph.node):
        name = node.name
        if not name or name in seen:
            base = f"{node.op_type}_{index}"
            name, k = base, 1
            while name in seen:
                name, k = f"{base}_{k}", k + 1
            node.name = name
        seen.add(name)


def restore_fused_names(model: onnx.ModelProto) -> None:
    """Rename ORT-fused nodes ``<name>/<Something>Fusion`` back to ``<name>`` where that name is free."""
    names = {node.name for node in model.graph.node}
    for node in model.graph.node:
        base, sep, suffix = node.name.rpartition("/")
        if sep and suffix.endswith("Fusion") and base and base not in names:
            names.discard(node.name)
            node.name = base
            names.add(base)


def tensor_types(model: onnx.ModelProto) -> dict[str, int]:
    """Tensor name -> ONNX element type, from inputs, outputs, value_info and initializers."""
    types: dict[str, int] = {}
    graph = model.graph
    for info in [*graph.input, *graph.output, *graph.value_info]:
        if info.type.HasField("tensor_type"):
            types[info.name] = info.type.tensor_type.elem_type
    for init in graph.initializer:
        types[init.name] = init.data_type
    return types


def tensor_shapes(model: onnx.ModelProto) -> dict[str, tuple[int | str | None, ...]]:
    shapes: dict[str, tuple[int | str | None, ...]] = {}
    graph = model.graph
    for info in [*graph.input, *graph.output, *graph.value_info]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
            dims = info.type.tensor_type.shape.dim
            shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    result: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            if name:
                result[name].append(node)
    return result


def producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in model.graph.node for out in node.output if out}


@dataclass
class PreparedModel:
    """The fp32 model trials quantize, with what passes need to know about it."""

    model: onnx.ModelProto
    path: Path  # the prepared model on disk (calibration and ORT quantizers read files)
    types: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, tuple[int | str | None, ...]] = field(default_factory=dict)
    preprocessed: bool = False

    @functools.cached_property
    def initializers(self) -> dict[str, onnx.TensorProto]:
        """Initializers by name (built once: the prepared model is never changed)."""
        return {init.name: init for init in self.model.graph.initializer}


def prepare(
    model: onnx.ModelProto, workdir: Path, preprocess: bool = True, threshold: int | None = None
) -> PreparedModel:
    """Name nodes, run ORT's quantization pre-processing, infer types; write the result under ``workdir``."""
    import onnx

    from inc_onnx.model_io import EXTERNAL_DATA_THRESHOLD, is_large, save_model

    threshold = EXTERNAL_DATA_THRESHOLD if threshold is None else threshold
    work = copy.deepcopy(model)
    name_nodes(work)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "prepared.onnx"
    large = is_large(work, threshold)
    done = False
    if preprocess:
        from inc_onnx.preprocess import preprocess as pre_process

        try:
            work = pre_process(work, workdir / "preprocess", threshold)
            done = True
        except Exception as exc:
            logger.warning("ONNX Runtime's quantization pre-processing failed (%s); quantizing the model as given", exc)
        finally:
            shutil.rmtree(workdir / "preprocess", ignore_errors=True)  # weights are loaded: copies can go
    if not done:
        try:
            work = onnx.shape_inference.infer_shapes(work) if not large else work
        except Exception as exc:
            logger.info("ONNX shape inference failed: %s", exc)
    restore_fused_names(work)
    name_nodes(work)  # fusions may add unnamed nodes
    save_model(work, path, threshold)
    return PreparedModel(work, path, tensor_types(work), tensor_shapes(work), preprocessed=done)
