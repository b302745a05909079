"""Multi-seed statistics (lit_irl.stats) against hand-computed cases."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lit_irl.errors import LitIRLError
from lit_irl.stats import (
    AGGREGATES,
    iqm,
    mean,
    median,
    performance_profile,
    performance_profile_ci,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)

# --- aggregates ----------------------------------------------------------------------------------------------------


def test_iqm_of_one_to_eight_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(1, 9)) == pytest.approx((3 + 4 + 5 + 6) / 4)
    assert iqm(np.arange(8, 0, -1).reshape(8, 1)) == pytest.approx(4.5)


def test_iqm_cuts_int_of_a_quarter_from_each_end():
    assert iqm([1.0, 2.0, 10.0]) == pytest.approx(13 / 3), "n=3 cuts nothing: the plain mean"
    assert iqm([100.0, 1.0, 2.0, 3.0, 4.0]) == pytest.approx(3.0), "n=5 cuts one from each end"


def test_iqm_pools_runs_and_tasks_instead_of_averaging_per_task():
    scores = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    # pooled sorted: 1 2 3 4 10 20 30 40 -> middle half 3 4 10 20; per task it would be (2.5 + 25) / 2 = 13.75
    assert iqm(scores) == pytest.approx((3 + 4 + 10 + 20) / 4)


def test_mean_median_and_the_aggregate_table():
    scores = np.array([[1.0, 2.0], [3.0, 10.0]])
    assert mean(scores) == pytest.approx(4.0)
    assert median(scores) == pytest.approx(2.5)
    assert AGGREGATES == {"iqm": iqm, "mean": mean, "median": median}


# --- stratified bootstrap ------------------------------------------------------------------------------------------


def test_bootstrap_of_constant_scores_is_that_constant():
    assert stratified_bootstrap_ci(np.full((5, 3), 0.7), reps=200) == pytest.approx((0.7, 0.7, 0.7))


def test_bootstrap_resamples_within_each_task():
    # every resample keeps 3 zeros for task 0 and 3 ones for task 1, so the mean never moves; pooled resampling would
    scores = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    assert stratified_bootstrap_ci(scores, aggregate=mean, reps=500) == pytest.approx((0.5, 0.5, 0.5))


def test_bootstrap_interval_contains_the_point_and_narrows_with_more_runs():
    rng = np.random.default_rng(1)
    few, many = rng.normal(1.0, 0.3, size=(5, 4)), rng.normal(1.0, 0.3, size=(80, 4))
    point, low, high = stratified_bootstrap_ci(few)
    assert low < point < high
    assert point == pytest.approx(iqm(few))
    _, many_low, many_high = stratified_bootstrap_ci(many)
    assert many_high - many_low < (high - low) / 2


def test_bootstrap_is_deterministic_per_seed_and_wider_for_higher_confidence():
    scores = np.random.default_rng(2).uniform(size=(10, 5))
    assert stratified_bootstrap_ci(scores, seed=3) == stratified_bootstrap_ci(scores, seed=3)
    assert stratified_bootstrap_ci(scores, seed=3) != stratified_bootstrap_ci(scores, seed=4)
    _, low_90, high_90 = stratified_bootstrap_ci(scores, confidence=0.9)
    _, low_99, high_99 = stratified_bootstrap_ci(scores, confidence=0.99)
    assert low_99 <= low_90 and high_90 <= high_99


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_vectorized_aggregates_match_a_plain_callable(name: str):
    scores = np.random.default_rng(5).normal(size=(7, 3))
    aggregate = AGGREGATES[name]
    vectorized = stratified_bootstrap_ci(scores, aggregate=aggregate, reps=300, seed=9)
    one_at_a_time = stratified_bootstrap_ci(scores, aggregate=lambda sample: aggregate(sample), reps=300, seed=9)
    assert vectorized == pytest.approx(one_at_a_time)


def test_bootstrap_is_fast():
    scores = np.random.default_rng(6).uniform(size=(10, 5))
    stratified_bootstrap_ci(scores)
    start = time.perf_counter()
    stratified_bootstrap_ci(scores, reps=2000)
    assert time.perf_counter() - start < 0.5, "2000 reps of 10x5 take a few ms when vectorized (loose bound: CPUs may be busy)"


# --- probability of improvement ------------------------------------------------------------------------------------


def test_probability_of_improvement_extremes():
    low, high = np.array([[0.0, 1.0], [0.5, 2.0]]), np.array([[3.0, 5.0], [4.0, 6.0], [5.0, 7.0]])
    assert probability_of_improvement(high, low) == 1.0
    assert probability_of_improvement(low, high) == 0.0
    assert probability_of_improvement(low, low) == 0.5, "every pair with itself ties or wins/loses symmetrically"


def test_probability_of_improvement_hand_cases():
    # pairs (1,2) (1,2) (3,2) (3,2): 0 0 1 1
    assert probability_of_improvement([1.0, 3.0], [2.0, 2.0]) == pytest.approx(0.5)
    # pairs (2,1) (2,3) (4,1) (4,3): 1 0 1 1
    assert probability_of_improvement([2.0, 4.0], [1.0, 3.0]) == pytest.approx(0.75)
    # one run against two: (2,1) wins, (2,2) ties for a half
    assert probability_of_improvement([2.0], [1.0, 2.0]) == pytest.approx(0.75)


def test_probability_of_improvement_averages_over_tasks():
    x = np.array([[2.0, 1.0], [4.0, 1.0]])
    y = np.array([[1.0, 5.0], [3.0, 5.0]])
    assert probability_of_improvement(x, y) == pytest.approx((0.75 + 0.0) / 2)
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0)


def test_probability_of_improvement_ci():
    above, below = np.full((4, 2), 2.0), np.full((6, 2), 1.0)
    assert probability_of_improvement_ci(above, below, reps=200) == pytest.approx((1.0, 1.0, 1.0))
    assert probability_of_improvement_ci(below, below, reps=200) == pytest.approx((0.5, 0.5, 0.5))
    rng = np.random.default_rng(7)
    x, y = rng.normal(0.3, 1.0, size=(10, 3)), rng.normal(0.0, 1.0, size=(8, 3))
    point, low, high = probability_of_improvement_ci(x, y, seed=1)
    assert point == pytest.approx(probability_of_improvement(x, y))
    assert 0.0 <= low < point < high <= 1.0
    assert probability_of_improvement_ci(x, y, seed=1) == (point, low, high)


# --- performance profiles ------------------------------------------------------------------------------------------


def test_performance_profile_counts_scores_strictly_above_each_threshold():
    scores = np.array([[0.1, 0.5], [0.6, 1.0]])
    profile = performance_profile(scores, [0.0, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(profile, [1.0, 0.5, 0.25, 0.0])
    assert performance_profile(scores, 0.55).shape == (1,)


def test_performance_profile_ci():
    columns_constant = np.array([[0.2, 0.8], [0.2, 0.8], [0.2, 0.8]])
    profile, low, high = performance_profile_ci(columns_constant, [0.0, 0.5, 1.0], reps=100)
    np.testing.assert_allclose(profile, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(low, profile)
    np.testing.assert_allclose(high, profile)

    scores = np.random.default_rng(8).uniform(size=(10, 4))
    thresholds = np.linspace(0.0, 1.0, 11)
    profile, low, high = performance_profile_ci(scores, thresholds, seed=2)
    np.testing.assert_allclose(profile, performance_profile(scores, thresholds))
    assert np.all(low <= profile) and np.all(profile <= high)
    assert np.all(np.diff(profile) <= 0) and low.shape == high.shape == thresholds.shape
    np.testing.assert_array_equal(performance_profile_ci(scores, thresholds, seed=2)[1], low)


# --- input checks --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (np.zeros((2, 2, 2)), r"shape \(runs, tasks\) or \(runs,\), got shape \(2, 2, 2\)"),
        (5.0, r"got shape \(\)"),
        (np.zeros((0, 3)), "is empty"),
        ([], "is empty"),
        ([[1.0, np.nan], [2.0, 3.0]], r"1 non-finite value.*\(0, 1\).*drop or re-run those seeds"),
        ([1.0, np.inf], "non-finite"),
        (["a", "b"], "must be numbers"),
    ],
)
def test_bad_scores_raise_one_clear_error(scores, message: str):
    for compute in (iqm, mean, median, stratified_bootstrap_ci, lambda s: performance_profile(s, [0.5])):
        with pytest.raises(LitIRLError, match=message):
            compute(scores)
    with pytest.raises(LitIRLError, match=message):
        probability_of_improvement(scores, [1.0])


def test_bad_bootstrap_settings_raise():
    scores = np.ones((3, 2))
    for confidence in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(LitIRLError, match=r"confidence must lie in \(0, 1\)"):
            stratified_bootstrap_ci(scores, confidence=confidence)
    for reps in (0, -5, 2.5, True):
        with pytest.raises(LitIRLError, match="reps must be an integer >= 1"):
            stratified_bootstrap_ci(scores, reps=reps)
    with pytest.raises(LitIRLError, match="reps must be"):
        probability_of_improvement_ci(scores, scores, reps=0)
    with pytest.raises(LitIRLError, match="confidence must"):
        performance_profile_ci(scores, [0.5], confidence=2.0)


def test_mismatched_tasks_and_bad_thresholds_raise():
    with pytest.raises(LitIRLError, match="same tasks, got 2 and 3 columns"):
        probability_of_improvement(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(LitIRLError, match="same tasks"):
        probability_of_improvement_ci(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(LitIRLError, match="thresholds must be a non-empty 1-D sequence"):
        performance_profile(np.ones((3, 2)), [])
    with pytest.raises(LitIRLError, match="thresholds hold NaN"):
        performance_profile(np.ones((3, 2)), [0.5, np.nan])
