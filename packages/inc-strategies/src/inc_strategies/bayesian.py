"""bayesian: a Gaussian process on observed accuracies, maximised by UCB.

Plan: one continuous dimension per op with more than one option (up to
``max_params`` of them; beyond, same-type ops are grouped into contiguous chunks) and
per recipe with more than one value, each spanning [0, n_choices); a point decodes to the
option at ``min(int(x), n - 1)``. Random points are proposed until at least two
distinct scores are known; then a GP (Matérn, nu = 2.5, scikit-learn) is fitted on
(point, score) and the next point maximises the upper confidence bound
(kappa = 2.576) found by `acq_max`: random warm-up points, then L-BFGS-B starts from
the best of them, clipped to the bounds. A point that decodes to a config already
tried is registered with that config's score and another is drawn, so no config is
evaluated twice. Every random draw uses the run's seed.

For very wide spaces the warm-up is capped at about 200,000 coordinates and the
L-BFGS-B polish is skipped above 20 dimensions (its finite differences would cost
one GP prediction per dimension), which keeps the strategy's own time per trial small.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from inc_core import TuneConfig, TuneStrategy
from inc_strategies import stages

UCB_KAPPA = 2.576
WARMUP_COORDINATES = 200_000
POLISH_MAX_DIMS = 20
MAX_REPEATS = 20


class TargetSpace:
    """Observed (point, target) pairs inside box bounds; a point may be registered once.

    ``pbounds`` maps parameter name -> (low, high); points are arrays ordered like
    ``keys`` (sorted parameter names).
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

    def __contains__(self, x: Sequence[float]) -> bool:
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

    def _as_key(self, x: Sequence[float] | Mapping[str, float]) -> tuple[float, ...]:
        if isinstance(x, Mapping):
            x = [x[k] for k in self.keys]
        return tuple(float(v) for v in np.asarray(x, dtype=float).ravel())

    def params_to_array(self, params: Mapping[str, float]) -> np.ndarray:
        return np.array([params[k] for k in self.keys], dtype=float)

    def array_to_params(self, x: Sequence[float]) -> dict[str, float]:
        return dict(zip(self.keys, (float(v) for v in x), strict=True))

    def register(self, params: Sequence[float] | Mapping[str, float], target: float) -> None:
        """Record a point's target; registering the same point twice is a `KeyError`."""
        key = self._as_key(params)
        if key in self._seen:
            raise KeyError(f"point {key} is already registered")
        self._seen[key] = float(target)
        self._params = np.vstack([self._params, np.array(key)])
        self._target = np.append(self._target, float(target))

    def get_target(self, params: Sequence[float] | Mapping[str, float]) -> float:
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


def upper_confidence_bound(kappa: float = UCB_KAPPA) -> Callable[[np.ndarray, Any, float], np.ndarray]:
    """UCB acquisition ``mean + kappa * std`` for `acq_max`."""

    def ucb(x: np.ndarray, gp: Any, y_max: float) -> np.ndarray:
        mean, std = gp.predict(np.atleast_2d(x), return_std=True)
        return mean + kappa * std

    return ucb


def acq_max(
    ac: Callable[[np.ndarray, Any, float], np.ndarray],
    gp: Any,
    y_max: float,
    bounds: np.ndarray,
    random_seed: int | np.random.RandomState,
    n_warmup: int = 10000,
    n_iter: int = 10,
) -> np.ndarray:
    """The point in ``bounds`` maximising acquisition ``ac``.

    Evaluates ``n_warmup`` uniform random points, then runs L-BFGS-B from the best
    warm-up point and ``n_iter - 1`` more random starts; keeps the best, clipped to bounds.
    """
    from scipy.optimize import minimize

    rng = random_seed if isinstance(random_seed, np.random.RandomState) else np.random.RandomState(random_seed)
    bounds = np.asarray(bounds, dtype=float)
    dims = bounds.shape[0]
    warm = rng.uniform(bounds[:, 0], bounds[:, 1], size=(max(1, n_warmup), dims))
    values = ac(warm, gp, y_max)
    best_x, best_value = warm[int(np.argmax(values))], float(np.max(values))
    starts = [best_x, *rng.uniform(bounds[:, 0], bounds[:, 1], size=(max(0, n_iter - 1), dims))] if n_iter > 0 else []
    for start in starts:
        result = minimize(lambda x: -float(ac(x.reshape(1, -1), gp, y_max)[0]), start, bounds=bounds, method="L-BFGS-B")
        if result.success and -float(result.fun) >= best_value:
            best_x, best_value = result.x, -float(result.fun)
    return np.clip(best_x, bounds[:, 0], bounds[:, 1])


class BayesianTuneStrategy(TuneStrategy):
    """INC's bayesian strategy: GP + UCB over per-op choices, seeded, no duplicate configs."""

    name = "bayesian"
    default_options: ClassVar[dict[str, Any]] = {"n_warmup": 10000, "n_iter": 10, "max_params": 64}
    """``max_params``: at most this many dimensions; more ops are grouped (see `stages.parameter_groups`)."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        dims = self._dimensions()
        if not dims:
            self.stage = "default config (nothing to choose)"
            yield self.initial_tuning_cfg()
            return
        pbounds = {f"{i:06d}": (0.0, float(len(choices))) for i, (_, choices) in enumerate(dims)}
        space = TargetSpace(pbounds, random_seed=self.context.seed)
        gp = self._gp()
        tried: dict[TuneConfig, float] = {}
        dim_count = len(dims)
        n_warmup = max(50, min(self.options["n_warmup"], WARMUP_COORDINATES // dim_count))
        n_iter = self.options["n_iter"] if dim_count <= POLISH_MAX_DIMS else 0
        repeats = 0  # consecutive points that decoded to an already tried config
        while len(tried) < self.space.size():
            if len(set(space.target)) < 2 or repeats >= MAX_REPEATS:
                self.stage = "random exploration"
                x = space.random_sample()
            else:
                self.stage = "gaussian process + UCB"
                gp.fit(space.params, space.target)
                x = acq_max(
                    upper_confidence_bound(),
                    gp,
                    float(space.target.max()),
                    space.bounds,
                    space.random_state,
                    n_warmup=n_warmup,
                    n_iter=n_iter,
                )
                if x in space:  # the optimum is a known point: explore instead
                    x = space.random_sample()
            config = self._decode(x, dims)
            if config in tried:
                if x not in space:
                    space.register(x, tried[config])
                repeats += 1
                continue
            repeats = 0
            trial = yield config
            target = self._target(trial.score)
            tried[config] = target
            space.register(x, target)

    def _dimensions(self) -> list[tuple[list[str], Sequence[Any]]]:
        dims: list[tuple[list[str], Sequence[Any]]] = list(
            stages.parameter_groups(self.space, self.options["max_params"])
        )
        dims += [([f"recipe:{name}"], values) for name, values in self.space.recipes.items() if len(values) > 1]
        return dims

    def _decode(self, x: np.ndarray, dims: list[tuple[list[str], Sequence[Any]]]) -> TuneConfig:
        return stages.decode_choices(
            [min(int(v), len(choices) - 1) for v, (_, choices) in zip(x, dims, strict=True)],
            dims,
            self.initial_tuning_cfg(),
        )

    def _target(self, score: float | None) -> float:
        """Score as a quantity to maximise (failed trials get a value below any real score)."""
        if score is None:
            return -1e6
        return score if self.context.higher_is_better else -score

    def _gp(self) -> Any:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern

        return GaussianProcessRegressor(
            kernel=Matern(nu=2.5),
            alpha=1e-6,
            normalize_y=True,
            n_restarts_optimizer=5,
            random_state=self.context.seed,
        )
