"""Gaussian-process maths for the bayesian strategy: observations, the Matérn GP, UCB, `acq_max`.

INC's names and signatures (`TargetSpace`, `acq_max`, ``ac(x, gp, y_max)``), with a
scipy-only GP (`MaternPosterior`, `fit_length_scale`): the same model as scikit-learn's
``GaussianProcessRegressor(Matern(nu=2.5))`` without its import cost, and with an exact
gradient for L-BFGS-B. scipy is imported on first use; nothing here knows about configs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

UCB_KAPPA = 2.576
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


def standardise(y: np.ndarray) -> np.ndarray:
    """``y`` at mean 0 and std 1, as the unit-variance kernel expects (a constant ``y`` is only centred)."""
    spread = float(np.std(y))
    return (y - float(np.mean(y))) / (spread if spread > 0 else 1.0)
