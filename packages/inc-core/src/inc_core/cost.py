"""Temporary: removed once inc-strategies imports inc_core.measure.cost."""

from inc_core.measure.cost import *  # noqa: F403
from inc_core.measure.cost import CostModel, kinds, option_kind, preset  # noqa: F401
