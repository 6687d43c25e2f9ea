"""Faults at random points: SIGKILL of ``inc tune`` then ``--resume``, and Dask workers lost.

Every run is compared with an uninterrupted run of the same tuning (seeded random
strategy, 16 trials, 2 workers, an unreachable goal so every trial runs):

* ``kill/resume``: ``inc tune`` (process executor) is SIGKILLed once a random number
  of trials has finished (plus a random fraction of a trial), then ``inc tune --resume``.
* ``one Dask worker killed``: a LocalCluster worker is SIGKILLed at a random trial.
* ``all Dask workers lost``: the cluster is scaled to 0 at a random trial; the run
  stops after ``worker_wait``, the cluster comes back, the run is resumed.

Counted per run: *lost* (trials finished before the fault, missing from the final
history), *duplicated* (a config finished twice), *re-evaluated* (a config finished
before the fault evaluated again), and whether the final best config equals the
uninterrupted run's. Writes docs/benchmarks/faults.md.

    python benchmarks/faults.py [--runs 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from inc_core import TrialHistory, TuningConfig, autotune, hookimpl, make_plugin_manager
from inc_core.testing import SyntheticAdaptor, SyntheticModel

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "scripts"
OUT = ROOT / "docs" / "benchmarks" / "faults.md"
sys.path.insert(0, str(SCRIPTS))
import fault_eval  # noqa: E402 - the fault suite's eval function (slow synthetic accuracy, logged)

TRIALS = 16
DELAY = 0.25
RUN_FILE = f"""\
model:
  factory: inc_core.testing:SyntheticModel
  args: {{n_ops: 24, profile: many_mild, seed: 2}}
evaluation:
  function: {SCRIPTS / "fault_eval.py"}:slow_accuracy
tuning:
  strategy: random
  random_seed: 5
  criterion: absolute
  tolerable_loss: 0
  max_trials: {TRIALS}
  executor: process
  workers: 2
run_dir: out
"""


@dataclass
class Tally:
    """Counts over the runs of one scenario."""

    runs: int = 0
    lost: int = 0
    duplicated: int = 0
    reevaluated: int = 0
    same_best: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, pre: set[str], run_dir: Path, log: Path, log_mark: int, best: str, reference: str) -> None:
        with TrialHistory(run_dir / "history.sqlite", create=False) as history:
            final = [t.config.to_json() for t in history.finished_trials()]
        again = log.read_text().splitlines()[log_mark:]
        self.runs += 1
        self.lost += len(pre - set(final))
        self.duplicated += len(final) - len(set(final))
        self.reevaluated += sum(1 for line in again if line in pre)
        self.same_best += best == reference


def finished_configs(run_dir: Path) -> set[str]:
    path = run_dir / "history.sqlite"
    if not path.exists():
        return set()
    try:
        with TrialHistory(path, create=False) as history:
            return {t.config.to_json() for t in history.finished_trials()}
    except Exception:  # the file is being created by the run
        return set()


def lines(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def inc(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[str]:
    environ = {**os.environ, "INC_FAULT_DELAY": str(DELAY), "INC_FAULT_LOG": str(log)}
    return subprocess.Popen(
        [sys.executable, "-m", "inc_core.cli", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def best_of(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"inc tune failed ({process.returncode}): {err}")
    return str(json.loads(out)["best_config_summary"])


def kill_resume(runs: int, rng: random.Random, tmp: Path) -> Tally:
    (tmp / "run.yaml").write_text(RUN_FILE)
    reference = best_of(inc(["tune", "run.yaml", "--json", "--run-dir", "reference"], tmp, tmp / "reference.log"))
    tally = Tally()
    for index in range(runs):
        run_dir, log = tmp / f"kill{index}", tmp / f"kill{index}.log"
        start = time.perf_counter()
        process = inc(["tune", "run.yaml", "--run-dir", run_dir.name], tmp, log)
        target = rng.randint(1, TRIALS - 2)
        while len(finished_configs(run_dir)) < target and process.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, DELAY))
        process.send_signal(signal.SIGKILL)
        process.wait()
        pre, mark = finished_configs(run_dir), lines(log)
        best = best_of(inc(["tune", "run.yaml", "--resume", "--json", "--run-dir", run_dir.name], tmp, log))
        tally.add(pre, run_dir, log, mark, best, reference)
        tally.seconds.append(time.perf_counter() - start)
    return tally


class AtTrial:
    """Plugin: run ``action`` when the ``n``-th trial ends."""

    def __init__(self, n: int, action: Callable[[], None]) -> None:
        self.n, self.action, self.seen = n, action, 0

    @hookimpl
    def inc_trial_end(self, run: Any, trial: Any) -> None:
        self.seen += 1
        if self.seen == self.n:
            self.action()


def tune_on(address: str, run_dir: Path, log: Path, plugin: Any = None, resume: bool = False) -> Any:
    config = TuningConfig(
        strategy="random",
        run_dir=run_dir,
        random_seed=5,
        criterion="absolute",
        tolerable_loss=0,
        max_trials=TRIALS,
        executor=address,
        workers=2,
        worker_wait=2,
    )
    pm = make_plugin_manager()
    if plugin is not None:
        pm.register(plugin)
    model = SyntheticModel(24, "many_mild", seed=2)
    evaluate = fault_eval.SlowAccuracy(DELAY, str(log))
    return autotune(model, config, evaluate, adaptor=SyntheticAdaptor(), resume=resume, plugin_manager=pm)


def worker_loss(runs: int, rng: random.Random, tmp: Path) -> tuple[Tally, Tally]:
    from dask.distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(fault_eval)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
    )
    client = Client(cluster)
    address = cluster.scheduler_address.replace("tcp://", "dask://")
    try:
        reference = tune_on(address, tmp / "dask-reference", tmp / "dask-reference.log").best_config.to_json()
        one, every = Tally(), Tally()
        for index in range(runs):
            run_dir, log = tmp / f"dask{index}", tmp / f"dask{index}.log"
            at = rng.randint(1, TRIALS - 2)
            start = time.perf_counter()
            if index % 2 == 0:
                pid = next(iter(client.run(os.getpid).values()))
                result = tune_on(address, run_dir, log, AtTrial(at, lambda pid=pid: os.kill(pid, signal.SIGKILL)))
                one.add(set(), run_dir, log, 0, result.best_config.to_json(), reference)
                one.seconds.append(time.perf_counter() - start)
            else:
                stopped = tune_on(address, run_dir, log, AtTrial(at, lambda: cluster.scale(0)))
                assert stopped.stop_reason == "all workers lost", stopped.stop_reason
                pre, mark = finished_configs(run_dir), lines(log)
                cluster.scale(2)
                client.wait_for_workers(2, timeout=60)
                result = tune_on(address, run_dir, log, resume=True)
                every.add(pre, run_dir, log, mark, result.best_config.to_json(), reference)
                every.seconds.append(time.perf_counter() - start)
            client.wait_for_workers(2, timeout=60)
        return one, every
    finally:
        client.close()
        cluster.close()


def table(rows: list[tuple[str, Tally]]) -> str:
    out = [
        "| scenario | runs | trials lost | duplicated | re-evaluated | final best = uninterrupted | s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in rows:
        per_run = sum(t.seconds) / len(t.seconds) if t.seconds else 0.0
        out.append(
            f"| {name} | {t.runs} | {t.lost} | {t.duplicated} | {t.reevaluated} | {t.same_best}/{t.runs} "
            f"| {per_run:.1f} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per scenario (worker loss: split in two)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault points")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        killed = kill_resume(args.runs, rng, tmp)
        one, every = worker_loss(args.runs, rng, tmp)
    rows = [
        ("kill/resume (SIGKILL `inc tune`)", killed),
        ("one Dask worker killed", one),
        ("all Dask workers lost", every),
    ]
    load = os.getloadavg()[0]
    page = f"""# Faults

`python benchmarks/faults.py --runs {args.runs} --seed {args.seed}` (nox -s faults): {TRIALS} trials of the
seeded random strategy on 2 workers, evaluations of {DELAY} s, faults at random points
(see the script's docstring); {time.perf_counter() - started:.0f} s in all, load average {load:.1f} on a
{os.cpu_count()}-CPU machine.

{table(rows)}

*trials lost*: finished before the fault, missing from the final history. *duplicated*: a
config finished twice. *re-evaluated*: a config finished before the fault evaluated again
after it. Trials running at the fault are not counted: they never finished, and run again.
Target: 0 / 0 / 0 in every run, and always the uninterrupted run's best config.
"""
    OUT.write_text(page, encoding="utf-8")
    print(page)


if __name__ == "__main__":
    main()
