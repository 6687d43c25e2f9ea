"""Every strategy passes core's conformance suite (real runs on the synthetic adaptor)."""

from __future__ import annotations

import pytest

from inc_core.testing.conformance import StrategyConformance


@pytest.mark.filterwarnings("ignore:exhaustive. the tuning space")
class TestAuto(StrategyConformance):
    strategy = "auto"


class TestBasic(StrategyConformance):
    strategy = "basic"


class TestConservative(StrategyConformance):
    strategy = "conservative"


class TestMSE(StrategyConformance):
    strategy = "mse"


class TestMSEv2(StrategyConformance):
    strategy = "mse_v2"


class TestHAWQv2(StrategyConformance):
    strategy = "hawq_v2"


@pytest.mark.filterwarnings("ignore:exhaustive. the tuning space")
class TestExhaustive(StrategyConformance):
    strategy = "exhaustive"


class TestRandom(StrategyConformance):
    strategy = "random"


class TestBayesian(StrategyConformance):
    strategy = "bayesian"


class TestTpe(StrategyConformance):
    strategy = "tpe"
