"""The framework side: what an adaptor implements (`base`), its options (`options`), which adaptor a model gets."""

from inc_core.adaptor.base import SENSITIVITY_METHODS, Adaptor, Calibration

__all__ = ["SENSITIVITY_METHODS", "Adaptor", "Calibration"]
