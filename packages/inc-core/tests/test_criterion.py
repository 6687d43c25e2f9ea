from __future__ import annotations

import math

import pytest

from inc_core import BaselineError, ConfigError, Criterion


@pytest.mark.parametrize(
    ("loss", "kind", "higher", "baseline", "value", "passes"),
    [
        (0.01, "relative", True, 1.0, 0.99, True),  # inclusive boundary
        (0.01, "relative", True, 1.0, 0.9899, False),
        (0.01, "relative", False, 2.0, 2.02, True),
        (0.01, "relative", False, 2.0, 2.03, False),
        (0.05, "absolute", True, 0.8, 0.75, True),
        (0.05, "absolute", True, 0.8, 0.7499, False),
        (0.05, "absolute", False, 0.3, 0.35, True),
        (0.0, "absolute", True, 0.8, 0.8, True),  # no loss at all: a tie passes
        (0.0, "absolute", True, 0.8, 0.7999, False),
        (0.1, "absolute", True, 0.0, -0.1, True),  # absolute works with a zero baseline
    ],
)
def test_pass_rule(loss, kind, higher, baseline, value, passes) -> None:
    assert Criterion(loss, kind, higher).passes(value, baseline) is passes


def test_nan_never_passes() -> None:
    assert not Criterion(0.5).passes(math.nan, 1.0)


def test_zero_baseline_relative_is_a_clear_error() -> None:
    with pytest.raises(BaselineError, match="relative loss is undefined"):
        Criterion(0.01, "relative").check_baseline(0.0)
    Criterion(0.01, "absolute").check_baseline(0.0)


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"criterion": "percent"}, "criterion"), ({"tolerable_loss": "1%"}, "tolerable_loss")]
)
def test_bad_criterion_names_the_field(kwargs, field) -> None:
    with pytest.raises(ConfigError, match=field):
        Criterion(**kwargs)
