"""Every option the capability offers builds with ORT, in combination with every other op's options.

The product of all options is too large to build, but ORT's build failures come from pairs
of ops (mixed weight granularity or activation type across QLinear ops, two passes naming a
tensor alike), so the test builds an all-pairs covering set: for any two ops and any option
of each, some config holds both. Each config is quantized, loaded in an InferenceSession and
run once, for both ``quant_format`` recipes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np
import pytest

from inc_core import Calibration, TuneConfig, TuningSpace
from inc_onnx.model_io import session
from inc_onnx.testing import attention_calib, attention_model, cnn_calib, cnn_model


def _pair(f1: int, v1: int, f2: int, v2: int) -> tuple[int, int, int, int]:
    return (f1, v1, f2, v2) if f1 < f2 else (f2, v2, f1, v1)


def all_pairs(levels: Sequence[int]) -> list[tuple[int, ...]]:
    """Rows of level indices such that every (factor i = a, factor j = b) pair occurs in some row (greedy)."""
    uncovered = {
        (i, a, j, b)
        for i, j in itertools.combinations(range(len(levels)), 2)
        for a in range(levels[i])
        for b in range(levels[j])
    }
    rows = []
    while uncovered:
        i, a, j, b = min(uncovered)
        row = {i: a, j: b}
        for k in range(len(levels)):
            if k in row:
                continue
            gains = [sum(_pair(k, v, f, x) in uncovered for f, x in row.items()) for v in range(levels[k])]
            row[k] = gains.index(max(gains))
        full = tuple(row[k] for k in range(len(levels)))
        rows.append(full)
        uncovered -= {(i, full[i], j, full[j]) for i, j in itertools.combinations(range(len(levels)), 2)}
    return rows


def test_all_pairs_covers_every_pair() -> None:
    levels = [3, 2, 4, 1, 3]
    rows = all_pairs(levels)
    for i, j in itertools.combinations(range(len(levels)), 2):
        assert {(r[i], r[j]) for r in rows} == set(itertools.product(range(levels[i]), range(levels[j])))
    assert len(rows) < 3 * 4 * 3  # far fewer than the product


@pytest.mark.parametrize(("build", "data"), [(cnn_model, cnn_calib(8)), (attention_model, attention_calib(8))])
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_every_option_pair_builds_and_runs(adaptor, build, data, fmt) -> None:
    model = build()
    calibration = Calibration(data)
    space = TuningSpace(adaptor.capability(model))
    feed = {k: v[:2] for k, v in data.items()}
    expected = session(model).run(None, feed)[0].shape
    rows = all_pairs([len(op.options) for op in space.ops])
    failures = []
    started = time.perf_counter()
    for row in rows:
        ops = {op.name: op.options[k] for op, k in zip(space.ops, row, strict=True)}
        config = TuneConfig(ops, {**space.default_recipes(), "quant_format": fmt})
        try:
            out = session(adaptor.quantize(model, config, calibration)).run(None, feed)[0]
            assert out.shape == expected and np.isfinite(out).all(), "wrong or non-finite output"
        except Exception as exc:  # collect every failure, not just the first
            failures.append(f"{config}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not failures, f"{len(failures)} of {len(rows)} configs failed:\n" + "\n".join(failures[:10])
    assert time.perf_counter() - started < 60
