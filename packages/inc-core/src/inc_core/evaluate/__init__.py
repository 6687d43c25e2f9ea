"""Scoring a model: the user's eval functions (`evaluator`) and whether a trial meets the goal (`goal`)."""
