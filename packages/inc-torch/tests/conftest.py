"""Fixtures of the inc-torch tests: small seeded models (see `inc_torch.testing`), 1-2 threads."""

from __future__ import annotations

import pytest
import torch

from inc_core import Calibration
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import TinyNet, batches, seeded

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    return seeded(TinyNet())


@pytest.fixture(scope="module")
def tiny_data():
    return batches((1, 8, 8), n=3)


@pytest.fixture(scope="module")
def tiny_adaptor(tiny, tiny_data):
    adaptor = TorchAdaptor(example_inputs=tiny_data[0], repetitions=3, warmup=1)
    adaptor.capability(tiny)
    yield adaptor
    adaptor.close()


@pytest.fixture(scope="module")
def tiny_calibration(tiny_data):
    return Calibration(data=tiny_data)
