"""Helpers for testing and benchmarking strategies and adaptors (ours and third parties')."""

from inc_core.adaptor.synthetic import PROFILES, SyntheticAdaptor, SyntheticModel, synthetic_accuracy
from inc_core.testing.scripted import ScriptedEvaluator

__all__ = ["PROFILES", "ScriptedEvaluator", "SyntheticAdaptor", "SyntheticModel", "synthetic_accuracy"]
