"""Reading, writing, measuring and running ONNX models (large ones through external data).

Models travel as ``onnx.ModelProto``. A protobuf cannot be serialized past 2 GB, so
anything bigger is written with its tensors in a side file (``<name>.onnx.data``) and
sessions are built from that path instead of from bytes.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inc_core import AdaptorError, ConfigError

if TYPE_CHECKING:
    import onnx
    import onnxruntime

PROTOBUF_LIMIT = 2**31 - 1
"""Bytes a single protobuf message can hold; models above (a margin below) it use external data."""
EXTERNAL_DATA_THRESHOLD = int(PROTOBUF_LIMIT * 0.9)


def load_model(path: str | Path) -> onnx.ModelProto:
    """Load ``path`` (with its external data); errors name the file and the cause."""
    import onnx

    path = Path(path)
    if not path.exists():
        raise AdaptorError(f"ONNX model file {path} does not exist")
    if not path.is_file():
        raise AdaptorError(f"ONNX model path {path} is not a file")
    try:
        model = onnx.load(str(path), load_external_data=True)
    except Exception as exc:  # protobuf DecodeError, missing external data, ...
        raise AdaptorError(f"{path} is not a readable ONNX model: {type(exc).__name__}: {exc}") from exc
    if not model.graph.node and not model.graph.output:
        raise AdaptorError(f"{path} is not an ONNX model: it holds no graph (is it another file type?)")
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise AdaptorError(f"ONNX Runtime cannot load {path}: {type(exc).__name__}: {exc}") from exc
    return model


def is_large(model: onnx.ModelProto, threshold: int = EXTERNAL_DATA_THRESHOLD) -> bool:
    """Whether ``model`` is too big to serialize as one protobuf (``threshold`` bytes).

    Asked before every session and save, so it adds up the tensors' bytes instead of
    calling ``ByteSize``, which costs more than serializing (15 ms on a 20 MB encoder,
    30 times a run). The rest of a graph (nodes, names) is exact only when it could decide:
    within `NON_TENSOR_ALLOWANCE` of ``threshold``.
    """
    payload = _tensor_bytes(model.graph)
    if payload > threshold:
        return True
    if threshold - payload > NON_TENSOR_ALLOWANCE:
        return False
    return model.ByteSize() > threshold


NON_TENSOR_ALLOWANCE = 64 * 2**20
"""Bytes a graph's non-tensor fields are assumed to stay under (half a million nodes)."""


def _tensor_bytes(graph: onnx.GraphProto) -> int:
    """Serialized bytes of the tensors ``graph`` holds inline: initializers, node attributes, subgraphs."""
    from onnx import AttributeProto as A

    total = sum(_tensor_size(t) for t in graph.initializer)
    total += sum(_tensor_size(s.values) + _tensor_size(s.indices) for s in graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            kind = attribute.type
            if kind == A.TENSOR:
                total += _tensor_size(attribute.t)
            elif kind == A.TENSORS:
                total += sum(_tensor_size(t) for t in attribute.tensors)
            elif kind == A.SPARSE_TENSOR:
                total += _tensor_size(attribute.sparse_tensor.values) + _tensor_size(attribute.sparse_tensor.indices)
            elif kind == A.GRAPH:
                total += _tensor_bytes(attribute.g)
            elif kind == A.GRAPHS:
                total += sum(_tensor_bytes(g) for g in attribute.graphs)
    return total


def _tensor_size(tensor: onnx.TensorProto) -> int:
    """Bytes of ``tensor``'s inline data (external data is not in the protobuf)."""
    return (
        len(tensor.raw_data)
        + 4 * (len(tensor.float_data) + len(tensor.int32_data))
        + 8 * (len(tensor.int64_data) + len(tensor.double_data) + len(tensor.uint64_data))
        + sum(len(s) for s in tensor.string_data)
    )


def save_model(model: onnx.ModelProto, path: str | Path, threshold: int = EXTERNAL_DATA_THRESHOLD) -> Path:
    """Write ``model`` to ``path``; models over ``threshold`` bytes keep tensors in ``<path>.data``."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_large(model, threshold):
        data_name = path.name + ".data"
        if (path.parent / data_name).exists():
            (path.parent / data_name).unlink()
        onnx.save_model(
            copy.deepcopy(model),  # save_model moves tensors out of the proto it is given
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=1024,
        )
    else:
        path.write_bytes(model.SerializeToString())
    return path


def model_size(model: onnx.ModelProto) -> int:
    """Bytes of the serialized model (graph and all weights, external data included)."""
    total = model.ByteSize()
    return int(total)


def check_session_settings(providers: Sequence[str], settings: Mapping[str, Any]) -> None:
    """Raise `ConfigError` for an execution provider this onnxruntime lacks or an unknown SessionOptions attribute."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    for provider in providers:
        if provider not in available:
            raise ConfigError(
                f"providers: unknown execution provider {provider!r}; this onnxruntime has {', '.join(available)}"
            )
    options = ort.SessionOptions()
    for name, value in settings.items():
        if name.startswith("_") or not hasattr(options, name) or callable(getattr(options, name)):
            valid = sorted(n for n in dir(options) if not n.startswith("_") and not callable(getattr(options, n)))
            raise ConfigError(
                f"session_options: {name!r} is not an onnxruntime.SessionOptions setting; valid: {', '.join(valid)}"
            )
        try:
            setattr(options, name, value)
        except (TypeError, RuntimeError) as exc:
            raise ConfigError(f"session_options: {name}={value!r} is not accepted: {exc}") from None


def session(
    model: Any,
    threads: int = 1,
    providers: tuple[str, ...] = ("CPUExecutionProvider",),
    optimization: str = "all",
    workdir: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    spinning: bool = True,
) -> onnxruntime.InferenceSession:
    """An InferenceSession for a ModelProto, serialized bytes or a file path.

    ``threads``: intra-op threads (0 = ORT's default). ``settings``: further
    ``SessionOptions`` attributes. ``spinning=False``: idle intra-op workers block instead
    of spinning, for sessions timed side by side (see `OnnxAdaptor.benchmark_many`).
    Large ModelProtos are written to ``workdir`` (a temporary directory by default) with
    external data first.
    """
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    for name, value in (settings or {}).items():
        setattr(options, name, value)
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    options.graph_optimization_level = levels[optimization]
    if isinstance(model, onnx.ModelProto):
        if is_large(model):
            directory = Path(workdir or tempfile.mkdtemp(prefix="inc-onnx-"))
            path = save_model(model, directory / f"session-{os.getpid()}-{id(model)}.onnx")
            return ort.InferenceSession(str(path), options, providers=list(providers))
        return ort.InferenceSession(model.SerializeToString(), options, providers=list(providers))
    if isinstance(model, (str, Path)):
        return ort.InferenceSession(str(model), options, providers=list(providers))
    if isinstance(model, bytes):
        return ort.InferenceSession(model, options, providers=list(providers))
    raise AdaptorError(f"cannot build an ONNX Runtime session from a {type(model).__name__}")


def opset(model: onnx.ModelProto) -> int:
    """The model's default-domain opset version (0 when it declares none)."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
