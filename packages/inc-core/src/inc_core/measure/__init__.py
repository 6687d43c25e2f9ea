"""Measurements before and beside evaluations: timing, the cost model, calibrated ranges, op sensitivity."""
