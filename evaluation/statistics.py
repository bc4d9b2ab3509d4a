"""Pure statistics of evaluation results: intervals, win-rates, error reduction and Bradley-Terry ratings."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

N_BOOT = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point value with its 95% interval and the number of units behind it (intervals are None when undefined)."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict:
        return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in asdict(self).items()}


def percentile_interval(samples: ArrayLike, level: float = LEVEL) -> tuple[float | None, float | None]:
    """Return the central `level` percentile interval of bootstrap samples (NaNs ignored)."""
    values: np.ndarray = np.asarray(samples, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(values: ArrayLike, n_boot: int = N_BOOT, seed: int = 0) -> Estimate:
    """Return the mean of `values` with a percentile bootstrap interval over the units."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return Estimate(None, None, None, 0)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    return Estimate(float(values.mean()), *percentile_interval(means), int(values.size))


def mean_interval(values: ArrayLike) -> Estimate:
    """Return the mean of repeated measurements with a Student t 95% interval (None for fewer than two)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return Estimate(None, None, None, 0)
    mean = float(values.mean())
    if values.size < 2:
        return Estimate(mean, None, None, 1)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return Estimate(mean, mean - half, mean + half, int(values.size))


# Win-rate -------------------------------------------------------------------------------------------------------

OUTCOME_SCORE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def item_score(outcomes: Iterable[str | None]) -> float | None:
    """Return the candidate's score on one item: the mean over its valid verdicts (win 1, tie 1/2, loss 0).

    Unparseable verdicts (None) are left out, never counted as losses; an item with no valid verdict has no score.
    Zeros are kept (the authors dropped them, method.md §7.2 item 33).
    """
    scores = [OUTCOME_SCORE[outcome] for outcome in outcomes if outcome is not None]
    return sum(scores) / len(scores) if scores else None


def win_rate(item_scores: Iterable[float | None], n_boot: int = N_BOOT, seed: int = 0) -> Estimate:
    """Return the mean item score (ties as half) with a bootstrap 95% interval over items; unscored items left out."""
    return bootstrap_mean([score for score in item_scores if score is not None], n_boot=n_boot, seed=seed)


# Interactive accuracy --------------------------------------------------------------------------------------------

def error_reduction(base_accuracy: float, model_accuracy: float) -> float | None:
    """Return (err_base - err_model) / err_base, None when the baseline makes no error."""
    base_error = 1 - base_accuracy
    if base_error <= 0:
        return None
    return (base_error - (1 - model_accuracy)) / base_error


def paired_error_reduction(base: ArrayLike, model: ArrayLike, n_boot: int = N_BOOT, seed: int = 0) -> Estimate:
    """Return the error reduction of `model` against `base` with a paired bootstrap interval.

    base, model: per-case correctness (0/1, or the share over repeats), aligned case by case; each replicate resamples
    the same cases for both runs. Replicates in which the baseline makes no error are undefined and left out.
    """
    base, model = np.asarray(base, dtype=float), np.asarray(model, dtype=float)
    if base.shape != model.shape:
        raise ValueError("base and model must be aligned case by case")
    if base.size == 0:
        return Estimate(None, None, None, 0)
    value = error_reduction(base.mean(), model.mean())
    rng = np.random.default_rng(seed)
    index = rng.integers(0, base.size, size=(n_boot, base.size))
    base_error = 1 - base[index].mean(axis=1)
    model_error = 1 - model[index].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        samples = np.where(base_error > 0, (base_error - model_error) / base_error, np.nan)
    return Estimate(value, *percentile_interval(samples), int(base.size))


def accuracy_by_questions(episodes: Iterable[Mapping[str, Any]]) -> dict[int, dict]:
    """Return {questions asked: {cases, correct, accuracy}} from dicts with `num_questions` and `correct`."""
    groups: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for episode in episodes:
        group = groups[episode["num_questions"]]
        group[0] += 1
        group[1] += int(bool(episode["correct"]))
    return {k: {"cases": n, "correct": c, "accuracy": c / n} for k, (n, c) in sorted(groups.items())}


def accuracy_curve(episodes: Sequence[Mapping[str, Any]], max_questions: int) -> list[dict]:
    """Return the accuracy of the expert's letter after k answers, k = 0..max_questions.

    Each episode carries `choices` (the letter chosen after 0, 1, ... answers; the last one is its final answer) and
    `answer_idx`; an episode that stopped earlier keeps its final answer for the larger k.
    """
    curve = []
    for k in range(max_questions + 1):
        correct = 0
        for episode in episodes:
            choices = episode["choices"]
            letter = choices[min(k, len(choices) - 1)] if choices else None
            correct += int(letter is not None and letter == episode["answer_idx"])
        curve.append({"questions": k, "accuracy": correct / len(episodes) if episodes else None})
    return curve


# Bradley-Terry ---------------------------------------------------------------------------------------------------

def bradley_terry(comparisons: Iterable[tuple[str, str, float]], models: Sequence[str], prior: float = 0.0,
                  iterations: int = 10000, tolerance: float = 1e-10) -> dict[str, float]:
    """Return {model: log-strength} (mean zero) fitted by Hunter's MM algorithm.

    comparisons: (model_i, model_j, score_i) with score_i in [0, 1] (1 a win for i, 1/2 a tie); `prior` adds that
    many wins and losses of each pair that met, which keeps the ratings finite when a model won or lost everything.
    """
    index = {model: k for k, model in enumerate(models)}
    size = len(models)
    wins = np.zeros((size, size))
    for first, second, score in comparisons:
        i, j = index[first], index[second]
        wins[i, j] += score
        wins[j, i] += 1 - score
    games = wins + wins.T
    if prior:
        met = games > 0
        wins = wins + prior * met
        games = wins + wins.T
    strength = np.ones(size)
    total_wins = wins.sum(axis=1)
    for _ in range(iterations):
        with np.errstate(divide="ignore", invalid="ignore"):
            denominator = np.where(games > 0, games / (strength[:, None] + strength[None, :]), 0).sum(axis=1)
            updated = np.where(denominator > 0, total_wins / denominator, strength)
        updated = updated / np.exp(np.mean(np.log(np.clip(updated, 1e-300, None))))
        if np.max(np.abs(updated - strength)) < tolerance:
            strength = updated
            break
        strength = updated
    theta = np.log(np.clip(strength, 1e-300, None))
    return {model: float(theta[index[model]] - theta.mean()) for model in models}


def bradley_terry_intervals(comparisons_by_item: Mapping[str, Sequence[tuple[str, str, float]]], models: Sequence[str],
                            n_boot: int = 500, seed: int = 0, prior: float = 0.5) -> dict[str, Estimate]:
    """Return {model: Estimate} of Bradley-Terry log-strengths with a bootstrap over items.

    comparisons_by_item: {item: [(model_i, model_j, score_i), ...]}; each replicate resamples items with replacement.
    """
    items = list(comparisons_by_item)
    flat = [c for item in items for c in comparisons_by_item[item]]
    point = bradley_terry(flat, models, prior=prior)
    rng = np.random.default_rng(seed)
    samples: defaultdict[str, list[float]] = defaultdict(list)
    for _ in range(n_boot if items else 0):
        drawn = rng.integers(0, len(items), size=len(items))
        fitted = bradley_terry([c for k in drawn for c in comparisons_by_item[items[k]]], models, prior=prior)
        for model, value in fitted.items():
            samples[model].append(value)
    return {model: Estimate(point[model], *percentile_interval(samples[model]), len(items)) for model in models}
