"""The synthetic model and adaptor for tests and demos (they live in `inc_core.adaptor.synthetic`)."""

from inc_core.adaptor.synthetic import PROFILES, SyntheticAdaptor, SyntheticModel, default_options, synthetic_accuracy

__all__ = ["PROFILES", "SyntheticAdaptor", "SyntheticModel", "default_options", "synthetic_accuracy"]
