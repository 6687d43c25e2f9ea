"""Only buildable configs: every option the capability offers gives a model that runs.

On each small model: every op at each of its options with the other ops at their default
(static int8) and, for every option kind, every op that offers it at once, each recipe
value included; each built model runs once on a batch size it was not calibrated with.
"""

from __future__ import annotations

import pytest
import torch

from inc_core import Calibration, TuneConfig, TuningSpace
from inc_core.measure.cost import kinds, preset
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import OutlierMLP, SubclassNet, TinyEmbedding, TinyNet, batches, seeded


def _problem(name: str):
    if name == "embedding":
        gen = torch.Generator().manual_seed(0)
        data = [torch.randint(0, 50, (6, 5), generator=gen) for _ in range(2)]
        return seeded(TinyEmbedding()), data, torch.randint(0, 50, (3, 5), generator=gen)
    shapes = {"tiny": (TinyNet, (1, 8, 8)), "subclass": (SubclassNet, (1, 8, 8)), "mlp": (OutlierMLP, (32,))}
    model, shape = shapes[name]
    return seeded(model()), batches(shape, n=2), batches(shape, n=1, batch=3, seed=5)[0]


def _configs(space: TuningSpace):
    default = space.default_config()
    for op in space.ops:
        for option in op.options:
            yield f"{op.name}={option}", default.replace({op.name: option})
    for kind in kinds(space):
        yield f"all {kind}", preset(space, kind)
    for recipe, values in space.recipes.items():
        for value in values[1:]:
            dynamic = preset(space, "dynamic") if "dynamic" in kinds(space) else default
            yield f"{recipe}={value}", TuneConfig(dynamic.ops, {**default.recipes, recipe: value})


@pytest.mark.parametrize("name", ["tiny", "subclass", "mlp", "embedding"])
def test_every_option_builds_and_runs(name: str) -> None:
    model, data, x = _problem(name)
    adaptor = TorchAdaptor(example_inputs=data[0])
    space = TuningSpace(adaptor.capability(model))
    calibration = Calibration(data=data)
    with torch.no_grad():
        want = model(x)
    built = 0
    for label, config in _configs(space):
        with torch.no_grad():
            got = adaptor.quantize(model, config, calibration)(x)
        assert got.shape == want.shape and bool(torch.isfinite(got).all()), label
        built += 1
    assert built >= sum(len(op.options) for op in space.ops)
