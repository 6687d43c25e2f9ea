from __future__ import annotations

import pytest

from inc_core.testing import SyntheticAdaptor, SyntheticModel


@pytest.fixture
def conv_model() -> SyntheticModel:
    """Four conv ops with extra weight-only bit widths, for the 3.x config-set cases."""
    return SyntheticModel(4, "flat", seed=0, op_types=("Conv",), extra_int_bits=(4, 6, 5))


@pytest.fixture
def adaptor() -> SyntheticAdaptor:
    return SyntheticAdaptor(noise=0.0)
