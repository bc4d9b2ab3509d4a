"""Agreement statistics against hand-computed and published values; the bootstrap formulas against the libraries."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotation import agreement

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 4 observers, 12 units.
KRIPPENDORFF_EXAMPLE = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}
# Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories; kappa = 0.210.
FLEISS_EXAMPLE = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])
# Two raters, three units: (a, a), (a, b), (b, b).
TINY = [(1, "r1", "a"), (1, "r2", "a"), (2, "r1", "a"), (2, "r2", "b"), (3, "r1", "b"), (3, "r2", "b")]


def krippendorff_ratings():
    return [(unit, rater, value) for rater, values in KRIPPENDORFF_EXAMPLE.items()
            for unit, value in enumerate(values) if value is not None]


def test_it_matches_krippendorffs_published_nominal_alpha():
    counts = agreement.count_matrix(agreement.encode(krippendorff_ratings()))
    assert agreement.krippendorff_alpha(counts) == pytest.approx(0.743, abs=5e-4)
    assert agreement.pairable(counts).shape[0] == 11  # the unit rated once carries no information


def test_it_matches_fleiss_published_kappa_and_mean_agreement():
    assert agreement.fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.210, abs=5e-4)
    assert agreement.percent_agreement(FLEISS_EXAMPLE) == pytest.approx(0.378, abs=5e-4)


def test_it_matches_the_textbook_cohen_kappa():
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    ratings = [(i, "A", label) for i, label in enumerate(a)] + [(i, "B", label) for i, label in enumerate(b)]
    mean, per_pair = agreement.pairwise_cohen_kappa(agreement.encode(ratings))
    assert mean == pytest.approx(0.4) and per_pair == {("A", "B"): pytest.approx(0.4)}
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)


def test_it_computes_every_statistic_of_a_hand_worked_example():
    # alpha = 1 - (n-1)(n - sum o_cc) / (n^2 - sum n_c^2) = 1 - 5 * 2 / (36 - 18) = 4/9
    # Fleiss: P-bar = 2/3, P_e = 1/2 -> 1/3; Cohen: p_o = 2/3, p_e = 4/9 -> 2/5; percent agreement 2/3
    result = agreement.summarize(TINY, n_boot=200, min_common=1)
    assert result["krippendorff_alpha"].value == pytest.approx(4 / 9)
    assert result["fleiss_kappa"].value == pytest.approx(1 / 3)
    assert result["cohen_kappa"].value == pytest.approx(2 / 5)
    assert result["percent_agreement"].value == pytest.approx(2 / 3)
    assert result["krippendorff_alpha"].n_units == 3


def test_it_gives_reproducible_intervals_that_hold_the_estimate():
    rng = np.random.default_rng(3)
    ratings = []
    for unit in range(300):
        truth = rng.integers(0, 3)
        for rater in rng.choice(6, size=3, replace=False):
            ratings.append((unit, int(rater), int(truth if rng.random() < 0.7 else rng.integers(0, 3))))
    first = agreement.summarize(ratings, n_boot=400, seed=11)
    assert first == agreement.summarize(ratings, n_boot=400, seed=11)
    for estimate in first.values():
        assert estimate.low < estimate.value < estimate.high
        assert estimate.high - estimate.low < 0.2
    small = agreement.summarize([r for r in ratings if r[0] < 30], n_boot=400, seed=11)
    assert (small["krippendorff_alpha"].high - small["krippendorff_alpha"].low) > (
        first["krippendorff_alpha"].high - first["krippendorff_alpha"].low)


def test_its_bootstrap_formulas_equal_the_libraries_on_the_full_sample():
    rng = np.random.default_rng(5)
    ratings = [(u, r, int(rng.integers(0, 4))) for u in range(120) for r in range(4) if rng.random() < 0.8]
    encoded = agreement.encode(ratings)
    counts = agreement.pairable(agreement.count_matrix(encoded))
    ones = np.ones((1, len(counts)))
    assert agreement.weighted_alpha(counts, ones)[0] == pytest.approx(agreement.krippendorff_alpha(counts))
    assert agreement.weighted_percent(counts, ones)[0] == pytest.approx(agreement.percent_agreement(counts))
    table = agreement.fleiss_units(counts)
    assert agreement.weighted_fleiss(table, np.ones((1, len(table))))[0] == pytest.approx(statsmodels_fleiss(table))
    co = agreement.co_ratings(encoded, min_common=1)
    kappas = agreement.kappas_from_confusions(agreement.pair_confusion_matrices(co, 4), 4)
    for index, pair_kappa in enumerate(kappas):
        chosen = co.pair == index
        assert pair_kappa == pytest.approx(cohen_kappa_score(co.label_1[chosen], co.label_2[chosen]))


def test_it_leaves_undefined_statistics_empty():
    same = [(u, r, "a") for u in range(5) for r in ("x", "y")]
    result = agreement.summarize(same, n_boot=50)
    assert result["krippendorff_alpha"].value is None and result["krippendorff_alpha"].low is None
    assert result["percent_agreement"].value == 1.0
    assert agreement.summarize([(1, "x", "a")], n_boot=50)["fleiss_kappa"].n_units == 0


def test_it_refuses_two_ratings_of_one_unit_by_one_rater():
    with pytest.raises(ValueError):
        agreement.encode([(1, "x", "a"), (1, "x", "b")])


def test_it_flags_position_bias_with_an_exact_binomial_test():
    fair = agreement.position_bias(8, 2)
    assert fair.p_value == pytest.approx(2 * (45 + 10 + 1) / 1024)  # two-sided, n = 10: not significant
    assert not fair.flagged and fair.share_left == 0.8
    assert agreement.position_bias(30, 10).flagged
    assert agreement.position_bias(0, 0).share_left is None


def test_its_vectorised_position_bias_equals_scipys_binomial_test():
    left, right = [0, 8, 30, 5, 51, 0], [0, 2, 10, 5, 49, 7]
    share, p_value, flagged = agreement.position_bias_many(left, right)
    for i in range(1, len(left)):
        exact = agreement.position_bias(left[i], right[i])
        assert p_value[i] == pytest.approx(exact.p_value) and flagged[i] == exact.flagged
        assert share[i] == pytest.approx(exact.share_left)
    assert np.isnan(share[0]) and not flagged[0]


def test_it_measures_agreement_with_the_majority_of_the_others():
    ratings = [(1, "x", "a"), (1, "y", "a"), (1, "z", "b"), (2, "x", "a"), (2, "y", "b"), (2, "z", "b")]
    result = agreement.majority_agreement(agreement.encode(ratings))
    # unit 1: the others of z are {a, a}: z (b) disagrees; x and y face a tie {a, b}, which has no majority.
    # unit 2: the others of x are {b, b}: x (a) disagrees; y and z face a tie.
    assert result == {"x": (0, 1), "y": (0, 0), "z": (0, 1)}
    four = [*ratings, (1, "w", "a"), (2, "w", "b")]
    result = agreement.majority_agreement(agreement.encode(four))
    assert result["z"] == (1, 2) and result["w"] == (2, 2)


def test_it_compares_a_judge_with_the_expert_majority():
    experts = {1: "a", 2: "b", 3: "a", 4: "b"}
    judge = {1: "a", 2: "b", 3: "b", 4: "b", 5: "a"}
    result = agreement.judge_agreement(judge, experts)
    assert result["n"] == 4 and result["agreement"] == 0.75
    assert result["kappa"] == pytest.approx(cohen_kappa_score(["a", "b", "b", "b"], ["a", "b", "a", "b"]))
