"""Suite-wide settings. The tests check behaviour, not speed (speed lives in benchmarks/):
one benchmark takes at most 0.3 s, here and in the `inc` subprocesses the tests start."""

import os

os.environ.setdefault("INC_BENCHMARK_MAX_SECONDS", "0.3")
