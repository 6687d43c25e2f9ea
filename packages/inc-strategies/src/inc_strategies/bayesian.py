"""bayesian: a Gaussian process on observed accuracies, maximised by UCB.

Plan:
1. search space: one continuous dimension per op with more than one option (at most
   ``max_params``; wider models group same-type ops into contiguous chunks) and per
   recipe with more than one value; dimension i spans [0, n_i) and a point decodes to
   option ``min(floor(x), n_i - 1)`` (no index past the last choice).
2. the default config first (every index 0), then random exploration: seeded uniform
   points until two distinct targets are known.
3. model: a Gaussian process (Matérn, nu = 2.5, length scale by maximum marginal
   likelihood) on (point, target), targets standardised; the target is the relative
   accuracy shortfall below the goal, or 1 + the gain over fp32 for passing configs.
4. acquisition: the upper confidence bound (kappa = 2.576) maximised by `acq_max`:
   random warm-up points, then L-BFGS-B starts (analytic gradient), clipped to bounds
   (on wide spaces the warm-up is capped at 200,000 coordinates and, above 20
   dimensions, at most 2 starts run, which bounds the strategy's time per trial).
5. batches of ``batch_size`` proposals (constant liar: each proposed point is
   conditioned on with the worst score seen before the next one is chosen), so
   parallel workers stay busy and the run is the same whatever order results arrive in.

The GP is scipy-only (`inc_strategies.gaussian_process`: `MaternPosterior`,
`fit_length_scale`): the same model as scikit-learn's
``GaussianProcessRegressor(Matern(nu=2.5))`` (a test checks the predictions agree),
without its 2-3 s import or the dependency, and with an exact gradient for L-BFGS-B.

A point that decodes to a config already tried (or already in the batch) is registered
with that config's score and replaced by a random point, so no config is evaluated
twice. Every random draw comes from the run's seed.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from typing import Any, ClassVar

import numpy as np

from inc_core import Batch, Trial, TuneConfig, TuneStrategy
from inc_core.strategy import PositiveInt, option_model
from inc_strategies import search_space
from inc_strategies.gaussian_process import (
    MaternPosterior,
    TargetSpace,
    acq_max,
    fit_length_scale,
    standardise,
    upper_confidence_bound,
)

__all__ = [
    "BayesianTuneStrategy",
    # The GP maths live in `inc_strategies.gaussian_process`; importable from here as in INC.
    "MaternPosterior",
    "TargetSpace",
    "acq_max",
    "fit_length_scale",
    "upper_confidence_bound",
]

WARMUP_COORDINATES = 200_000
"""Cap on warm-up points x dimensions per `acq_max` call in the strategy (keeps wide spaces fast)."""
WIDE_DIMS, WIDE_STARTS = 20, 2
"""Above ``WIDE_DIMS`` dimensions the strategy runs at most ``WIDE_STARTS`` L-BFGS-B starts per proposal."""
RANDOM_ATTEMPTS = 1000


class BayesianTuneStrategy(TuneStrategy):
    """INC's bayesian strategy: GP + UCB over per-op choices, seeded, no duplicate configs."""

    name = "bayesian"
    default_options: ClassVar[dict[str, Any]] = {"n_warmup": 10000, "n_iter": 10, "max_params": 64, "batch_size": 4}
    options_model = option_model(
        default_options, n_warmup=PositiveInt, n_iter=PositiveInt, max_params=PositiveInt, batch_size=PositiveInt
    )
    """``max_params``: at most this many dimensions (see `search_space.dimensions`);
    ``batch_size``: proposals per round (independent of the number of workers)."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        # 1. search space
        dims = self._dimensions()
        if not dims:
            self.stage = "default config (nothing to choose)"
            yield self.initial_tuning_cfg()
            return
        pbounds = {f"{i:06d}": (0.0, float(len(choices))) for i, (_, choices) in enumerate(dims)}
        space = TargetSpace(pbounds, random_seed=self.context.seed)
        tried: dict[TuneConfig, float] = {}
        size = self.space.size()
        base = self.initial_tuning_cfg()
        while len(tried) < size:
            # 2.-5. one round of proposals (lazy: a round that ends at a pass proposes no further)
            points: list[np.ndarray] = []
            count = min(self.options["batch_size"], size - len(tried))
            trials: list[Trial] = yield Batch(self._round(space, dims, base, tried, count, points))
            if not trials:
                return  # no unseen config could be found
            for x, trial in zip(points, trials, strict=False):
                tried[trial.config] = self._target(trial)
                space.register(x, tried[trial.config])

    def _round(
        self,
        space: TargetSpace,
        dims: list[search_space.Dimension],
        base: TuneConfig,
        tried: dict[TuneConfig, float],
        count: int,
        points: list[np.ndarray],
    ) -> Iterator[TuneConfig]:
        """Up to ``count`` unseen configs; ``points`` receives each one's point, in order."""
        modelled = len(set(space.target)) >= 2
        self.stage = "gaussian process + UCB" if modelled else "random exploration"
        length_scale: float | None = None
        configs: list[TuneConfig] = []
        for _ in range(max(1, count)):
            with _single_threaded_blas():
                x = None
                if not tried and not configs:
                    x = np.full(space.dim, 0.5)  # the default config first, as every strategy
                elif modelled:
                    if length_scale is None:
                        length_scale = self._fit_length_scale(space)
                    x = self._acquire(space, points, length_scale)
                found = self._fresh_point(space, dims, base, tried, configs, x)
            if found is None:
                return
            points.append(found[0])
            configs.append(found[1])
            yield found[1]

    def _fit_length_scale(self, space: TargetSpace) -> float:
        """The Matérn length scale maximising the marginal likelihood of the standardised scores."""
        span = float(np.max(space.bounds[:, 1] - space.bounds[:, 0]))
        return fit_length_scale(space.params, standardise(space.target), bounds=(1e-2, 1e2 * max(span, 1.0)))

    def _acquire(self, space: TargetSpace, pending: list[np.ndarray], length_scale: float) -> np.ndarray:
        """The UCB maximiser given the observations plus ``pending`` points at the worst score (constant liar)."""
        y = standardise(space.target)
        x = space.params
        if pending:
            x = np.vstack([x, *pending])
            y = np.concatenate([y, np.full(len(pending), y.min())])
        posterior = MaternPosterior(x, y, length_scale)
        n_warmup = max(50, min(self.options["n_warmup"], WARMUP_COORDINATES // space.dim))
        n_iter = self.options["n_iter"] if space.dim <= WIDE_DIMS else min(self.options["n_iter"], WIDE_STARTS)
        return acq_max(
            upper_confidence_bound(), posterior, float(y.max()), space.bounds, space.random_state, n_warmup, n_iter
        )

    def _fresh_point(
        self,
        space: TargetSpace,
        dims: list[search_space.Dimension],
        base: TuneConfig,
        tried: dict[TuneConfig, float],
        batch: list[TuneConfig],
        x: np.ndarray | None,
    ) -> tuple[np.ndarray, TuneConfig] | None:
        """``x`` if it decodes to a new config, else a seeded random point that does (None if none found)."""
        for _ in range(RANDOM_ATTEMPTS):
            if x is None or x in space:
                x = space.random_sample()
            config = self._decode(x, dims, base)
            if config not in tried and config not in batch:
                return x, config
            if config in tried and x not in space:
                space.register(x, tried[config])  # what this point scores is known: tell the model
            x = None
        return None

    def _dimensions(self) -> list[search_space.Dimension]:
        """One dimension per op group (at most ``max_params``) and per recipe with several values."""
        return search_space.dimensions(self.space, self.options["max_params"])

    def _decode(self, x: np.ndarray, dims: list[search_space.Dimension], base: TuneConfig) -> TuneConfig:
        indices = [min(max(math.floor(v), 0), len(choices) - 1) for v, (_, choices) in zip(x, dims, strict=True)]
        return search_space.decode_choices(indices, dims, base)

    def _target(self, trial: Trial) -> float:
        """What the GP maximises: below the accuracy target, the (negative) relative shortfall;
        passing, 1 plus the trial's gain over fp32, so that among passing configs the faster
        one scores higher (an errored trial counts as a 100% shortfall)."""
        baseline, target = self.context.baseline_score, self.context.target_score
        scale = max(abs(baseline), 1e-12)
        if trial.score is None:
            return -1.0
        if trial.passed:
            return 1.0 + (trial.gain if trial.gain is not None else 0.0)
        return -max(0.0, self.shortfall(trial.score, target)) / scale


def _single_threaded_blas() -> Any:
    """BLAS limited to one thread: the matrices are tiny, and idle BLAS threads spinning
    on a busy machine made L-BFGS-B 15x slower (measured on 2 shared cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
