"""What the user says: `TuningConfig`, the accuracy `Criterion`, the `Objectives` weights, `ConfigLoader`."""
