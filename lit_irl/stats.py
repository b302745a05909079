"""Statistics over several seeds, as the field reports them: interquartile mean (IQM), stratified bootstrap
confidence intervals, probability of improvement and performance profiles. They follow the estimators of
rliable (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice",
NeurIPS), so our numbers compare with published ones; they are implemented here in numpy because rliable's
dependency chain (``arch``) fails to import with our pandas. Scores are arrays of shape (runs, tasks): one row
per seed, one column per task (env), e.g. normalized scores (return / expert return); a 1-D array is one task.
Confidence intervals are percentile intervals over bootstrap samples drawn from a seeded
:class:`numpy.random.Generator`, so the same ``seed`` gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from lit_irl.errors import LitIRLError

Aggregate = Callable[[np.ndarray], float]

# Bound on the elements of one intermediate bootstrap array (pairs x reps, thresholds x reps): ~128 MiB of float64.
_MAX_CHUNK_ELEMENTS = 1 << 24


def _as_scores(scores: ArrayLike, name: str = "scores") -> np.ndarray:
    """``scores`` as a finite float array of shape (runs, tasks); a 1-D array of runs becomes one task."""
    try:
        array = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as error:
        raise LitIRLError(f"{name} must be numbers, got {type(scores).__name__} ({error}); pass an array of shape (runs, tasks)") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise LitIRLError(
            f"{name} must have shape (runs, tasks) or (runs,), got shape {array.shape}; put seeds in rows and tasks in columns"
        )
    if array.size == 0:
        raise LitIRLError(f"{name} is empty (shape {array.shape}); pass at least one run of one task")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise LitIRLError(
            f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf), first at (run, task) {first}; "
            "drop or re-run those seeds before computing statistics"
        )
    return array


def _check_bootstrap(reps: int, confidence: float) -> None:
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise LitIRLError(f"reps must be an integer >= 1, got {reps!r}; use e.g. 2000 bootstrap samples")
    if not 0.0 < confidence < 1.0:
        raise LitIRLError(f"confidence must lie in (0, 1), got {confidence!r}; use e.g. 0.95 for a 95% interval")


def _as_thresholds(thresholds: ArrayLike) -> np.ndarray:
    try:
        array = np.atleast_1d(np.asarray(thresholds, dtype=float))
    except (TypeError, ValueError) as error:
        raise LitIRLError(f"thresholds must be numbers, got {type(thresholds).__name__} ({error})") from None
    if array.ndim != 1 or array.size == 0:
        raise LitIRLError(f"thresholds must be a non-empty 1-D sequence, got shape {array.shape}; pass e.g. np.linspace(0, 1, 21)")
    if np.isnan(array).any():
        raise LitIRLError("thresholds hold NaN; pass finite values")
    return array


# --- aggregates over all runs x tasks -------------------------------------------------------------------------------


def iqm(scores: ArrayLike) -> float:
    """Interquartile mean over all runs x tasks pooled (rliable's ``aggregate_iqm``, ``scipy.stats.trim_mean(x, 0.25, axis=None)``).

    With n values sorted, ``int(0.25 * n)`` are cut from each end and the rest averaged: robust to outlier seeds
    and less noisy than the median. For n < 4 nothing is cut, so the IQM of 3 values is their plain mean.
    """
    return float(_iqm_batched(_as_scores(scores)[None])[0])


def mean(scores: ArrayLike) -> float:
    """Mean over all runs x tasks pooled."""
    return float(_as_scores(scores).mean())


def median(scores: ArrayLike) -> float:
    """Median over all runs x tasks pooled."""
    return float(np.median(_as_scores(scores)))


AGGREGATES: dict[str, Aggregate] = {"iqm": iqm, "mean": mean, "median": median}


def _iqm_batched(samples: np.ndarray) -> np.ndarray:
    """IQM of each (runs, tasks) sample in ``samples`` of shape (reps, runs, tasks)."""
    flat = np.sort(samples.reshape(samples.shape[0], -1), axis=1)
    cut = int(0.25 * flat.shape[1])
    return flat[:, cut : flat.shape[1] - cut].mean(axis=1)


_BATCHED: dict[Callable, Callable[[np.ndarray], np.ndarray]] = {
    iqm: _iqm_batched,
    mean: lambda samples: samples.mean(axis=(1, 2)),
    median: lambda samples: np.median(samples.reshape(samples.shape[0], -1), axis=1),
}


# --- stratified bootstrap ------------------------------------------------------------------------------------------


def _stratified_samples(scores: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` resamples of shape (runs, tasks): runs drawn with replacement independently within each task."""
    runs, tasks = scores.shape
    run_index = rng.integers(0, runs, size=(reps, runs, tasks))
    return scores[run_index, np.arange(tasks)]


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 (linear interpolation, as ``np.percentile``; rliable's default method)."""
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail], axis=0)
    return low, high


def stratified_bootstrap_ci(
    scores: ArrayLike, aggregate: Aggregate = iqm, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(point, low, high)``: ``aggregate`` of ``scores`` and its percentile confidence interval by stratified bootstrap.

    Each of ``reps`` bootstrap samples redraws the runs with replacement independently within each task, so every
    task keeps its number of runs (rliable's ``StratifiedBootstrap``). ``aggregate`` maps a (runs, tasks) array to
    a float; the ones in :data:`AGGREGATES` are computed for all samples at once, any other callable one sample at a time.
    """
    array = _as_scores(scores)
    _check_bootstrap(reps, confidence)
    samples = _stratified_samples(array, reps, np.random.default_rng(seed))
    batched = _BATCHED.get(aggregate)
    values = batched(samples) if batched is not None else np.array([aggregate(sample) for sample in samples], dtype=float)
    low, high = _percentile_interval(values, confidence)
    return float(aggregate(array)), float(low), float(high)


# --- probability of improvement ------------------------------------------------------------------------------------


def _paired_scores(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x_array, y_array = _as_scores(x, "x"), _as_scores(y, "y")
    if x_array.shape[1] != y_array.shape[1]:
        raise LitIRLError(
            f"x and y must cover the same tasks, got {x_array.shape[1]} and {y_array.shape[1]} columns; "
            "put the same tasks in the same order"
        )
    return x_array, y_array


def _probability_of_improvement_batched(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) of each pair of samples: x of shape (reps, runs_x, tasks), y of shape (reps, runs_y, tasks)."""
    reps, runs_x, tasks = x.shape
    chunk = max(1, _MAX_CHUNK_ELEMENTS // (runs_x * y.shape[1] * tasks))
    result = np.empty(reps)
    for start in range(0, reps, chunk):
        x_part, y_part = x[start : start + chunk, :, None, :], y[start : start + chunk, None, :, :]
        wins = (x_part > y_part) + 0.5 * (x_part == y_part)  # (chunk, runs_x, runs_y, tasks)
        result[start : start + chunk] = wins.mean(axis=(1, 2)).mean(axis=1)
    return result


def probability_of_improvement(x: ArrayLike, y: ArrayLike) -> float:
    """P(X > Y): the probability that a run of algorithm X beats a run of Y on a task, averaged over tasks.

    Per task this is the Mann-Whitney U statistic normalized by the number of run pairs: the mean over all pairs
    (x_i, y_j) of [x_i > y_j] + 0.5 [x_i == y_j] (rliable's ``probability_of_improvement``). ``x`` has shape
    (runs_x, tasks) and ``y`` (runs_y, tasks); the numbers of runs may differ, the tasks must match.
    """
    x_array, y_array = _paired_scores(x, y)
    return float(_probability_of_improvement_batched(x_array[None], y_array[None])[0])


def probability_of_improvement_ci(
    x: ArrayLike, y: ArrayLike, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(point, low, high)`` of :func:`probability_of_improvement` with a percentile interval.

    ``x`` and ``y`` are resampled independently, each by stratified bootstrap (runs redrawn within each task),
    as rliable's ``StratifiedIndependentBootstrap``.
    """
    x_array, y_array = _paired_scores(x, y)
    _check_bootstrap(reps, confidence)
    rng = np.random.default_rng(seed)
    x_samples = _stratified_samples(x_array, reps, rng)
    y_samples = _stratified_samples(y_array, reps, rng)
    low, high = _percentile_interval(_probability_of_improvement_batched(x_samples, y_samples), confidence)
    return probability_of_improvement(x_array, y_array), float(low), float(high)


# --- performance profiles ------------------------------------------------------------------------------------------


def _profile_batched(samples: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of scores > tau, of shape (reps, thresholds), for samples of shape (reps, runs, tasks)."""
    flat = samples.reshape(samples.shape[0], -1)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // (flat.shape[1] * thresholds.size))
    result = np.empty((flat.shape[0], thresholds.size))
    for start in range(0, flat.shape[0], chunk):
        result[start : start + chunk] = (flat[start : start + chunk, :, None] > thresholds).mean(axis=1)
    return result


def performance_profile(scores: ArrayLike, thresholds: ArrayLike) -> np.ndarray:
    """Run-score distribution: for each threshold tau, the fraction of all runs x tasks with score > tau.

    This is rliable's default performance profile (``create_performance_profile`` with score distributions);
    the result has one entry per threshold.
    """
    return _profile_batched(_as_scores(scores)[None], _as_thresholds(thresholds))[0]


def performance_profile_ci(
    scores: ArrayLike, thresholds: ArrayLike, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(profile, low, high)``: :func:`performance_profile` and its pointwise percentile interval per threshold,
    by stratified bootstrap (runs redrawn within each task)."""
    array, taus = _as_scores(scores), _as_thresholds(thresholds)
    _check_bootstrap(reps, confidence)
    samples = _stratified_samples(array, reps, np.random.default_rng(seed))
    low, high = _percentile_interval(_profile_batched(samples, taus), confidence)
    return _profile_batched(array[None], taus)[0], low, high
