"""Win-rate, interval, error-reduction and Bradley-Terry arithmetic against hand-computed values."""

import math

import numpy as np
import pytest

from evaluation.statistics import (
    accuracy_by_questions,
    accuracy_curve,
    bootstrap_mean,
    bradley_terry,
    bradley_terry_intervals,
    error_reduction,
    item_score,
    mean_interval,
    paired_error_reduction,
    win_rate,
)


def test_it_scores_an_item_with_ties_as_half_and_keeps_zeros():
    assert item_score(["win", "loss"]) == 0.5  # the two orders disagree: a soft tie
    assert item_score(["win", "tie", "win", "tie"]) == 0.75
    assert item_score(["loss", "loss"]) == 0.0  # a zero is a score, not a missing value


def test_it_leaves_unparseable_verdicts_out_instead_of_counting_a_loss():
    assert item_score(["win", None]) == 1.0
    assert item_score([None, None]) is None


def test_it_averages_item_scores_including_zeros():
    estimate = win_rate([1.0, 0.0, 0.5, None, 0.0])
    # (1 + 0 + 0.5 + 0) / 4; the authors' average, which dropped zeros, would give 0.75
    assert estimate.value == pytest.approx(0.375) and estimate.n == 4
    assert estimate.low <= estimate.value <= estimate.high


def test_it_gives_a_degenerate_interval_when_every_unit_agrees():
    estimate = bootstrap_mean([1.0] * 10)
    assert (estimate.value, estimate.low, estimate.high) == (1.0, 1.0, 1.0)


def test_it_bootstraps_reproducibly_from_a_seed():
    values = [0, 1, 1, 0, 1, 1, 1, 0]
    assert bootstrap_mean(values, seed=3) == bootstrap_mean(values, seed=3)
    estimate = bootstrap_mean(values, seed=3)
    assert 0.2 <= estimate.low < estimate.value == 0.625 < estimate.high <= 1


def test_it_gives_a_t_interval_over_repeats():
    estimate = mean_interval([0.8, 0.9, 1.0])
    half = 4.302653 * 0.1 / math.sqrt(3)  # t(0.975, 2 df) x sd / sqrt(n)
    assert estimate.value == pytest.approx(0.9)
    assert (estimate.low, estimate.high) == (pytest.approx(0.9 - half, abs=1e-5), pytest.approx(0.9 + half, abs=1e-5))
    assert mean_interval([0.7]).low is None and mean_interval([0.7]).value == 0.7


def test_it_computes_the_error_reduction():
    assert error_reduction(0.7, 0.85) == pytest.approx(0.5)  # (0.30 - 0.15) / 0.30
    assert error_reduction(0.718, 0.8775) == pytest.approx(0.5656, abs=1e-4)  # the paper's 56.6% (method.md §6)
    assert error_reduction(1.0, 0.9) is None


def test_it_pairs_cases_in_the_error_reduction_bootstrap():
    base, model = [1, 0, 0, 1], [1, 1, 0, 1]
    estimate = paired_error_reduction(base, model, seed=0)
    assert estimate.value == pytest.approx(0.5) and estimate.n == 4  # errors 0.5 -> 0.25
    assert estimate.low <= 0.5 <= estimate.high
    # the model is never worse on any case, so no paired replicate can show a negative reduction
    assert estimate.low >= 0
    with pytest.raises(ValueError, match="aligned"):
        paired_error_reduction([1, 0], [1])


def test_it_counts_accuracy_by_questions_asked_and_along_the_turns():
    episodes = [
        {"num_questions": 0, "correct": True, "choices": ["B"], "answer_idx": "B"},
        {"num_questions": 2, "correct": True, "choices": ["A", "C", "B"], "answer_idx": "B"},
        {"num_questions": 2, "correct": False, "choices": ["B", "B", "D"], "answer_idx": "B"},
    ]
    assert accuracy_by_questions(episodes) == {0: {"cases": 1, "correct": 1, "accuracy": 1.0},
                                               2: {"cases": 2, "correct": 1, "accuracy": 0.5}}
    curve = accuracy_curve(episodes, max_questions=3)
    assert [point["accuracy"] for point in curve] == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert [p["questions"] for p in curve] == [0, 1, 2, 3]


def test_it_fits_bradley_terry_to_hand_computed_strengths():
    ratings = bradley_terry([("a", "b", 1.0)] * 3 + [("a", "b", 0.0)], ["a", "b"])
    assert ratings["a"] - ratings["b"] == pytest.approx(math.log(3), abs=1e-6)  # P(a beats b) = 3/4
    assert ratings["a"] + ratings["b"] == pytest.approx(0, abs=1e-9)
    tie = bradley_terry([("a", "b", 0.5)], ["a", "b"])
    assert tie["a"] == pytest.approx(tie["b"])


def test_it_satisfies_the_bradley_terry_likelihood_equations_for_three_models():
    comparisons = [("a", "b", 1.0), ("a", "b", 1.0), ("a", "b", 0.0), ("b", "c", 1.0), ("b", "c", 0.5),
                   ("c", "a", 1.0), ("a", "c", 1.0), ("a", "c", 1.0)]
    models = ["a", "b", "c"]
    theta = bradley_terry(comparisons, models)
    strength = {m: math.exp(theta[m]) for m in models}
    for model in models:
        wins = sum(s if i == model else 1 - s for i, j, s in comparisons if model in (i, j))
        expected = sum(strength[model] / (strength[model] + strength[j if i == model else i])
                       for i, j, _s in comparisons if model in (i, j))
        assert wins == pytest.approx(expected, abs=1e-6)
    assert theta["a"] > theta["b"] > theta["c"]


def test_it_brackets_bradley_terry_ratings_with_bootstrap_intervals():
    by_item = {f"q{k}": [("m1", "human", 1.0 if k % 4 else 0.0), ("m2", "human", 0.5), ("m1", "m2", 0.75)]
               for k in range(40)}
    ratings = bradley_terry_intervals(by_item, ["human", "m1", "m2"], n_boot=100, seed=1)
    for estimate in ratings.values():
        assert estimate.low <= estimate.value <= estimate.high and estimate.n == 40
    assert ratings["m1"].value > ratings["m2"].value
    assert ratings["m2"].value == pytest.approx(ratings["human"].value)  # m2 only tied with the human questions
    assert np.isfinite([r.value for r in ratings.values()]).all()
