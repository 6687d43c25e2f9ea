"""What can be tuned: each op's options (`tune_config`), the adaptor's `Capability`, the constrained `TuningSpace`."""
