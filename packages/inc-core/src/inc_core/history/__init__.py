"""What a run records: `Trial` (one config's outcome), `TuningResult`, and the SQLite `TrialHistory`."""

from inc_core.history.result import TuningResult
from inc_core.history.store import CANCELLED, HISTORY_FILE, INTERRUPTED, TrialHistory
from inc_core.history.trial import Trial, TrialState

__all__ = ["CANCELLED", "HISTORY_FILE", "INTERRUPTED", "Trial", "TrialHistory", "TrialState", "TuningResult"]
