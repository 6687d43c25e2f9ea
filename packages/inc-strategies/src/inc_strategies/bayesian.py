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

The GP is scipy-only (`MaternPosterior`, `fit_length_scale`): the same model as
scikit-learn's ``GaussianProcessRegressor(Matern(nu=2.5))`` (a test checks the
predictions agree), without its 2-3 s import or the dependency, and with an exact
gradient for L-BFGS-B.

A point that decodes to a config already tried (or already in the batch) is registered
with that config's score and replaced by a random point, so no config is evaluated
twice. Every random draw comes from the run's seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from inc_core import Batch, Trial, TuneConfig, TuneStrategy
from inc_core.strategy import PositiveInt, option_model
from inc_strategies import stages

UCB_KAPPA = 2.576
WARMUP_COORDINATES = 200_000
"""Cap on warm-up points x dimensions per `acq_max` call in the strategy (keeps wide spaces fast)."""
WIDE_DIMS, WIDE_STARTS = 20, 2
"""Above ``WIDE_DIMS`` dimensions the strategy runs at most ``WIDE_STARTS`` L-BFGS-B starts per proposal."""
RANDOM_ATTEMPTS = 1000
_SQRT5 = math.sqrt(5.0)
Point = Sequence[float] | np.ndarray | Mapping[str, float]
"""A point of a `TargetSpace`: coordinates in ``keys`` order, or a name -> value mapping."""


class TargetSpace:
    """Observed (point, target) pairs inside box bounds; a point may be registered once.

    ``pbounds`` maps parameter name -> (low, high); points are arrays ordered like
    ``keys`` (sorted parameter names). ``random_seed`` seeds `random_sample`.
    """

    def __init__(self, pbounds: Mapping[str, tuple[float, float]], random_seed: int = 9527) -> None:
        self.keys = sorted(pbounds)
        self.bounds = np.array([pbounds[k] for k in self.keys], dtype=float).reshape(len(self.keys), 2)
        self.random_state = np.random.RandomState(random_seed)
        self._params = np.empty((0, len(self.keys)))
        self._target = np.empty(0)
        self._seen: dict[tuple[float, ...], float] = {}

    def __len__(self) -> int:
        return len(self._target)

    def __contains__(self, x: Point) -> bool:
        return self._as_key(x) in self._seen

    @property
    def params(self) -> np.ndarray:
        return self._params

    @property
    def target(self) -> np.ndarray:
        return self._target

    @property
    def dim(self) -> int:
        return len(self.keys)

    def _as_key(self, x: Point) -> tuple[float, ...]:
        if isinstance(x, Mapping):
            x = [x[k] for k in self.keys]
        return tuple(float(v) for v in np.asarray(x, dtype=float).ravel())

    def params_to_array(self, params: Mapping[str, float]) -> np.ndarray:
        return np.array([params[k] for k in self.keys], dtype=float)

    def array_to_params(self, x: Sequence[float] | np.ndarray) -> dict[str, float]:
        return dict(zip(self.keys, (float(v) for v in x), strict=True))

    def register(self, params: Point, target: float) -> None:
        """Record a point's target; registering the same point twice is a `KeyError`."""
        key = self._as_key(params)
        if key in self._seen:
            raise KeyError(f"point {key} is already registered")
        self._seen[key] = float(target)
        self._params = np.vstack([self._params, np.array(key)])
        self._target = np.append(self._target, float(target))

    def get_target(self, params: Point) -> float:
        """The target registered for ``params`` (`KeyError` if it was never registered)."""
        return self._seen[self._as_key(params)]

    def random_sample(self) -> np.ndarray:
        """A uniform random point inside the bounds (from this space's seeded generator)."""
        return self.random_state.uniform(self.bounds[:, 0], self.bounds[:, 1])

    def max(self) -> dict[str, Any]:
        """The best observation: ``{"target": ..., "params": {...}}`` (empty dict if none)."""
        if not len(self._target):
            return {}
        best = int(np.argmax(self._target))
        return {"target": float(self._target[best]), "params": self.array_to_params(self._params[best])}

    def res(self) -> list[dict[str, Any]]:
        """Every observation in registration order."""
        return [
            {"target": float(t), "params": self.array_to_params(p)}
            for p, t in zip(self._params, self._target, strict=True)
        ]


class MaternPosterior:
    """GP posterior with a unit-variance Matérn-5/2 kernel, fast and with input gradients.

    Built from training points, standardised targets and a length scale (e.g. from
    `fit_length_scale`). ``predict`` matches scikit-learn's
    ``GaussianProcessRegressor(Matern(nu=2.5), normalize_y=False).predict`` without its
    per-call validation overhead, and
    `predict_with_gradient` lets `acq_max` run L-BFGS-B on an exact gradient.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, length_scale: float | np.ndarray, noise: float = 1e-6) -> None:
        from scipy.linalg import cho_solve, cholesky

        self.length_scale = np.asarray(length_scale, dtype=float)
        self.z = np.asarray(x, dtype=float) / self.length_scale
        kernel = _matern(self._distances(self.z))
        kernel[np.diag_indices_from(kernel)] += noise
        chol = (cholesky(kernel, lower=True, check_finite=False), True)
        self.alpha = cho_solve(chol, np.asarray(y, dtype=float), check_finite=False)
        # Observations are few (one per trial): an explicit inverse makes each
        # prediction two small products, without solver call overhead.
        self.inverse = cho_solve(chol, np.eye(len(kernel)), check_finite=False)

    def _distances(self, z: np.ndarray) -> np.ndarray:
        from scipy.spatial.distance import cdist

        return cdist(z, self.z)

    def predict(self, x: np.ndarray, return_std: bool = False) -> Any:
        k = _matern(self._distances(np.atleast_2d(x) / self.length_scale))
        mean = k @ self.alpha
        if not return_std:
            return mean
        explained = np.einsum("ij,ij->i", k @ self.inverse, k)
        return mean, np.sqrt(np.clip(1.0 - explained, 1e-12, None))

    def predict_with_gradient(self, x: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Mean, std and their gradients with respect to ``x`` (one point)."""
        diff = np.asarray(x, dtype=float).ravel() / self.length_scale - self.z  # (n, d)
        s = _SQRT5 * np.sqrt(np.einsum("ij,ij->i", diff, diff))
        decay = np.exp(-s)
        k = (1.0 + s + s * s / 3.0) * decay
        dk = ((-(5.0 / 3.0) * (1.0 + s) * decay)[:, None] * diff) / self.length_scale  # d k_i / d x
        dmean = self.alpha @ dk
        w = self.inverse @ k
        var = 1.0 - float(k @ w)
        if var <= 1e-12:
            return float(k @ self.alpha), 1e-6, dmean, np.zeros_like(dmean)
        std = math.sqrt(var)
        return float(k @ self.alpha), std, dmean, -(w @ dk) / std


def fit_length_scale(
    x: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (1e-2, 1e2), noise: float = 1e-6
) -> float:
    """Isotropic Matérn-5/2 length scale maximising the GP's log marginal likelihood of ``y``.

    A coarse log-spaced grid, then a bounded scalar search around its best point
    (scipy); ``y`` should be standardised (the kernel has unit variance).
    """
    from scipy.linalg import cho_solve, cholesky
    from scipy.optimize import minimize_scalar
    from scipy.spatial.distance import pdist, squareform

    distances = squareform(pdist(np.asarray(x, dtype=float)))
    y = np.asarray(y, dtype=float)

    def negative_lml(log_scale: float) -> float:
        kernel = _matern(distances / math.exp(log_scale))
        kernel[np.diag_indices_from(kernel)] += noise
        try:
            chol = cholesky(kernel, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return math.inf
        alpha = cho_solve((chol, True), y, check_finite=False)
        return 0.5 * float(y @ alpha) + float(np.log(np.diag(chol)).sum())

    low, high = math.log(bounds[0]), math.log(bounds[1])
    grid = np.linspace(low, high, 13)
    values = [negative_lml(g) for g in grid]
    best = int(np.argmin(values))
    step = grid[1] - grid[0]
    result = minimize_scalar(
        negative_lml, bounds=(max(low, grid[best] - step), min(high, grid[best] + step)), method="bounded"
    )
    log_scale = float(result.x) if result.fun <= values[best] else float(grid[best])
    return math.exp(log_scale)


def _matern(distance: np.ndarray) -> np.ndarray:
    s = _SQRT5 * distance
    return (1.0 + s + s * s / 3.0) * np.exp(-s)


class UpperConfidenceBound:
    """UCB acquisition ``mean + kappa * std``, called as ``ac(x, gp, y_max)`` by `acq_max`."""

    def __init__(self, kappa: float = UCB_KAPPA) -> None:
        self.kappa = kappa

    def __call__(self, x: np.ndarray, gp: Any, y_max: float) -> np.ndarray:
        mean, std = gp.predict(np.atleast_2d(x), return_std=True)
        return np.asarray(mean) + self.kappa * np.asarray(std)

    def value_and_gradient(self, x: np.ndarray, gp: Any, y_max: float) -> tuple[float, np.ndarray] | None:
        """Value and gradient at one point, or None if ``gp`` offers no gradients."""
        if not hasattr(gp, "predict_with_gradient"):
            return None
        mean, std, dmean, dstd = gp.predict_with_gradient(x)
        return mean + self.kappa * std, dmean + self.kappa * dstd


def upper_confidence_bound(kappa: float = UCB_KAPPA) -> UpperConfidenceBound:
    """The UCB acquisition for `acq_max` (kappa 2.576 as in INC)."""
    return UpperConfidenceBound(kappa)


def acq_max(
    ac: Callable[[np.ndarray, Any, float], np.ndarray],
    gp: Any,
    y_max: float,
    bounds: np.ndarray,
    random_seed: int | np.random.RandomState,
    n_warmup: int = 10000,
    n_iter: int = 10,
) -> np.ndarray:
    """The point in ``bounds`` maximising acquisition ``ac(x, gp, y_max)``.

    Evaluates ``n_warmup`` seeded uniform points, then runs L-BFGS-B (scipy) from the
    best of them and ``n_iter - 1`` more seeded random starts; keeps the best point
    seen, clipped to the bounds. Uses ``ac.value_and_gradient`` when the acquisition
    and the model provide gradients, finite differences otherwise.
    """
    from scipy.optimize import minimize

    rng = random_seed if isinstance(random_seed, np.random.RandomState) else np.random.RandomState(random_seed)
    bounds = np.asarray(bounds, dtype=float)
    low, high = bounds[:, 0], bounds[:, 1]
    warm = rng.uniform(low, high, size=(max(1, n_warmup), len(bounds)))
    values = np.asarray(ac(warm, gp, y_max))
    best = int(np.argmax(values))
    best_x, best_value = warm[best], float(values[best])
    if n_iter <= 0:
        return np.clip(best_x, low, high)
    starts = [best_x, *rng.uniform(low, high, size=(n_iter - 1, len(bounds)))]
    with_gradient = getattr(ac, "value_and_gradient", None)
    use_gradient = with_gradient is not None and with_gradient(best_x, gp, y_max) is not None

    def objective(x: np.ndarray) -> Any:
        if use_gradient:
            assert with_gradient is not None
            value, grad = with_gradient(x, gp, y_max)
            return -value, -grad
        return -float(np.asarray(ac(x.reshape(1, -1), gp, y_max))[0])

    for start in starts:
        result = minimize(objective, start, jac=use_gradient, bounds=bounds, method="L-BFGS-B")
        value = -float(np.asarray(result.fun).ravel()[0])
        if np.all(np.isfinite(result.x)) and value >= best_value:
            best_x, best_value = result.x, value
    return np.clip(best_x, low, high)


class BayesianTuneStrategy(TuneStrategy):
    """INC's bayesian strategy: GP + UCB over per-op choices, seeded, no duplicate configs."""

    name = "bayesian"
    default_options: ClassVar[dict[str, Any]] = {"n_warmup": 10000, "n_iter": 10, "max_params": 64, "batch_size": 4}
    options_model = option_model(
        default_options, n_warmup=PositiveInt, n_iter=PositiveInt, max_params=PositiveInt, batch_size=PositiveInt
    )
    """``max_params``: at most this many dimensions (see `stages.parameter_groups`);
    ``batch_size``: proposals per round (independent of the number of workers)."""

    def plan(self) -> list[str]:
        return stages.plan_lines(__doc__)

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
        dims: list[tuple[list[str], Sequence[Any]]],
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
        return fit_length_scale(space.params, _standardise(space.target), bounds=(1e-2, 1e2 * max(span, 1.0)))

    def _acquire(self, space: TargetSpace, pending: list[np.ndarray], length_scale: float) -> np.ndarray:
        """The UCB maximiser given the observations plus ``pending`` points at the worst score (constant liar)."""
        y = _standardise(space.target)
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
        dims: list[tuple[list[str], Sequence[Any]]],
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

    def _dimensions(self) -> list[tuple[list[str], Sequence[Any]]]:
        dims: list[tuple[list[str], Sequence[Any]]] = list(
            stages.parameter_groups(self.space, self.options["max_params"])
        )
        dims += [([f"recipe:{name}"], values) for name, values in self.space.recipes.items() if len(values) > 1]
        return dims

    def _decode(self, x: np.ndarray, dims: list[tuple[list[str], Sequence[Any]]], base: TuneConfig) -> TuneConfig:
        indices = [min(max(math.floor(v), 0), len(choices) - 1) for v, (_, choices) in zip(x, dims, strict=True)]
        return stages.decode_choices(indices, dims, base)

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
        shortfall = (target - trial.score) if self.context.higher_is_better else (trial.score - target)
        return -max(0.0, shortfall) / scale


def _single_threaded_blas() -> Any:
    """BLAS limited to one thread: the matrices are tiny, and idle BLAS threads spinning
    on a busy machine made L-BFGS-B 15x slower (measured on 2 shared cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _standardise(y: np.ndarray) -> np.ndarray:
    spread = float(np.std(y))
    return (y - float(np.mean(y))) / (spread if spread > 0 else 1.0)
