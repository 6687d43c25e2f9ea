"""Running trials: the job a worker runs, the workers, and the executor backends."""
