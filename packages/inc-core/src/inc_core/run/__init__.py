"""The run: the ask/tell loop, its setup, the run directory and its lock, the monitor."""
