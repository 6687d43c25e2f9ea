"""Helpers for testing and benchmarking strategies and adaptors (ours and third parties')."""

from inc_core.testing.scripted import ScriptedEvaluator
from inc_core.testing.synthetic import PROFILES, SyntheticAdaptor, SyntheticModel, synthetic_accuracy

__all__ = ["PROFILES", "ScriptedEvaluator", "SyntheticAdaptor", "SyntheticModel", "synthetic_accuracy"]
