"""Inter-annotator agreement on nominal labels, with bootstrap confidence intervals: pure functions on plain data.

Input is a list of (unit, rater, label) ratings. Point estimates come from the well-kept libraries
(`krippendorff`, statsmodels' `fleiss_kappa`, scikit-learn's `cohen_kappa_score`); the bootstrap recomputes
the same formulas on resampled units with numpy, because calling a library 1,000 times per statistic would not
fit a dashboard's time budget. Tests check the numpy formulas against the libraries and hand-computed values.

Bootstrap: units are resampled with replacement (the unit, not the single rating, is the independent draw).
For alpha, Fleiss' kappa and percent agreement a unit is fully described by its label counts, so a resample is a
multinomial draw over the distinct count patterns, which is exact and cheap at any size. Cohen's kappa between
rater pairs uses Poisson(1) unit weights (the Poisson bootstrap), its large-sample equivalent.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from scipy.sparse import csc_matrix

# krippendorff, scipy, scikit-learn and statsmodels are imported inside the functions that use them: importing them
# here would cost every Django process (web workers included, which never compute agreement) ~200 MB and ~2 s.

DEFAULT_BOOTSTRAP = 1000
MIN_COMMON_UNITS = 5  # a Cohen's kappa over fewer shared units says little; such annotator pairs are left out

Rating = tuple[Hashable, Hashable, Hashable]  # (unit, rater, label)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap 95% interval; `value` is None when undefined (e.g. one category only)."""

    value: float | None
    low: float | None
    high: float | None
    n_units: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ratings:
    """Ratings encoded as integer indices: one entry per rating."""

    units: np.ndarray
    raters: np.ndarray
    labels: np.ndarray
    unit_keys: list
    rater_keys: list
    categories: list

    @property
    def n_categories(self) -> int:
        return len(self.categories)


def encode(ratings: Iterable[Rating], categories: Iterable[Hashable] | None = None) -> Ratings:
    """Encode (unit, rater, label) tuples; duplicate (unit, rater) ratings are an error."""
    ratings = list(ratings)
    unit_keys = sorted({r[0] for r in ratings}, key=repr)
    rater_keys = sorted({r[1] for r in ratings}, key=repr)
    categories = list(categories) if categories is not None else sorted({r[2] for r in ratings}, key=repr)
    unit_of = {key: i for i, key in enumerate(unit_keys)}
    rater_of = {key: i for i, key in enumerate(rater_keys)}
    label_of = {key: i for i, key in enumerate(categories)}
    units = np.fromiter((unit_of[r[0]] for r in ratings), dtype=np.int64, count=len(ratings))
    raters = np.fromiter((rater_of[r[1]] for r in ratings), dtype=np.int64, count=len(ratings))
    labels = np.fromiter((label_of[r[2]] for r in ratings), dtype=np.int64, count=len(ratings))
    if len(set(zip(units.tolist(), raters.tolist(), strict=True))) != len(ratings):
        raise ValueError("A rater rated the same unit twice.")
    return Ratings(units, raters, labels, unit_keys, rater_keys, categories)


def encode_arrays(units: ArrayLike, raters: ArrayLike, labels: ArrayLike, categories: Iterable[Hashable]) -> Ratings:
    """Encode parallel arrays (any hashable ids; labels already integer indices into `categories`)."""
    unit_keys, unit_index = np.unique(np.asarray(units), return_inverse=True)
    rater_keys, rater_index = np.unique(np.asarray(raters), return_inverse=True)
    return Ratings(
        unit_index.astype(np.int64), rater_index.astype(np.int64), np.asarray(labels, dtype=np.int64),
        unit_keys.tolist(), rater_keys.tolist(), list(categories),
    )


def count_matrix(encoded: Ratings) -> np.ndarray:
    """Return the units x categories matrix of label counts."""
    counts = np.zeros((len(encoded.unit_keys), encoded.n_categories), dtype=np.int64)
    np.add.at(counts, (encoded.units, encoded.labels), 1)
    return counts


def pairable(counts: np.ndarray) -> np.ndarray:
    """Keep units rated at least twice: a single rating carries no agreement information."""
    return counts[counts.sum(axis=1) >= 2]


# --- Point estimates (libraries) ------------------------------------------------------------------------------------


def percent_agreement(counts: np.ndarray) -> float | None:
    """Mean over units of the share of agreeing rater pairs (Fleiss' P-bar)."""
    counts = pairable(counts)
    if not len(counts):
        return None
    n = counts.sum(axis=1)
    return float(np.mean((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))))


def krippendorff_alpha(counts: np.ndarray) -> float | None:
    """Krippendorff's alpha for nominal data, from the `krippendorff` package (None when undefined)."""
    counts = pairable(counts)
    if not len(counts) or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    import krippendorff

    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def fleiss_units(counts: np.ndarray) -> np.ndarray:
    """Return the units rated by the most common number of raters (Fleiss' kappa assumes a constant number)."""
    counts = pairable(counts)
    if not len(counts):
        return counts
    n = counts.sum(axis=1)
    values, freq = np.unique(n, return_counts=True)
    return counts[n == values[np.argmax(freq)]]


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from statsmodels over the units with the modal number of ratings (None when undefined)."""
    table = fleiss_units(counts)
    if not len(table) or np.count_nonzero(table.sum(axis=0)) < 2:
        return None
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

    return float(statsmodels_fleiss_kappa(table, method="fleiss"))


def cohen_kappa(labels_1: Sequence[Hashable], labels_2: Sequence[Hashable],
                categories: Sequence[Hashable] | None = None) -> float | None:
    """Cohen's kappa between two raters' labels on the same units, from scikit-learn (None when undefined)."""
    if len(labels_1) == 0 or len(set(labels_1) | set(labels_2)) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    value = cohen_kappa_score(labels_1, labels_2, labels=categories)
    return None if np.isnan(value) else float(value)


@dataclass(frozen=True)
class CoRatings:
    """Every pair of ratings two raters gave the same unit, restricted to rater pairs sharing enough units."""

    pair_keys: list  # (rater index, rater index) per pair, the first the smaller
    pair: np.ndarray  # pair index per co-rating
    unit: np.ndarray
    label_1: np.ndarray
    label_2: np.ndarray


def co_ratings(encoded: Ratings, min_common: int = MIN_COMMON_UNITS) -> CoRatings:
    """Return the CoRatings of an encoded set; rater pairs sharing fewer than `min_common` units are dropped."""
    order = np.lexsort((encoded.raters, encoded.units))
    units, raters, labels = encoded.units[order], encoded.raters[order], encoded.labels[order]
    max_per_unit = int(np.bincount(units).max()) if len(units) else 0
    first: Any = []  # each offset's positions, then all of them in one array
    second: Any = []
    for offset in range(1, max_per_unit):  # rating i and rating i+offset of the same unit form a pair
        same = np.flatnonzero(units[:-offset] == units[offset:])
        first.append(same)
        second.append(same + offset)
    first = np.concatenate(first) if first else np.array([], dtype=np.int64)
    second = np.concatenate(second) if second else np.array([], dtype=np.int64)
    n_raters = len(encoded.rater_keys)
    pair_code = raters[first] * n_raters + raters[second]
    codes, pair, common = np.unique(pair_code, return_inverse=True, return_counts=True)
    kept = common >= min_common
    new_index = np.cumsum(kept) - 1
    mask = kept[pair]
    return CoRatings(
        pair_keys=[(int(code // n_raters), int(code % n_raters)) for code in codes[kept]],
        pair=new_index[pair[mask]], unit=units[first][mask], label_1=labels[first][mask],
        label_2=labels[second][mask],
    )


def pair_confusion_matrices(co: CoRatings, n_categories: int) -> np.ndarray:
    """Return the (pairs, C, C) confusion matrices of every rater pair."""
    cells = co.pair * n_categories**2 + co.label_1 * n_categories + co.label_2
    flat = np.bincount(cells, minlength=len(co.pair_keys) * n_categories**2)
    return flat.reshape(len(co.pair_keys), n_categories, n_categories).astype(float)


def pairwise_cohen_kappa(encoded: Ratings, min_common: int = MIN_COMMON_UNITS
                         ) -> tuple[float | None, dict[tuple[Any, Any], float]]:
    """Return (mean Cohen's kappa over rater pairs, {(rater, rater): kappa}); pairs with undefined kappa are left out.

    The per-pair kappas use the same formula as scikit-learn's cohen_kappa_score (a test checks they agree);
    computing all pairs from one confusion tensor avoids a 1 ms library call per pair.
    """
    co = co_ratings(encoded, min_common)
    kappas = kappas_from_confusions(pair_confusion_matrices(co, encoded.n_categories), encoded.n_categories)
    per_pair = {
        (encoded.rater_keys[r1], encoded.rater_keys[r2]): float(value)
        for (r1, r2), value in zip(co.pair_keys, kappas, strict=True) if np.isfinite(value)
    }
    mean = float(np.mean(list(per_pair.values()))) if per_pair else None
    return mean, per_pair


# --- Vectorised formulas for the bootstrap (weights: resamples x units) ---------------------------------------------


def _unit_terms(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = counts.sum(axis=1).astype(float)
    agree = (counts * (counts - 1)).sum(axis=1).astype(float)
    return n, agree


def weighted_alpha(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Nominal alpha for each row of unit weights: 1 - (n-1)(n - sum o_cc) / (n^2 - sum n_c^2)."""
    n_i, agree = _unit_terms(counts)
    n = weights @ n_i
    o_diag = weights @ (agree / (n_i - 1))
    n_c = weights @ counts
    denominator = n**2 - (n_c**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 1 - (n - 1) * (n - o_diag) / denominator, np.nan)


def weighted_percent(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    n_i, agree = _unit_terms(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weights @ (agree / (n_i * (n_i - 1)))) / weights.sum(axis=1)


def weighted_fleiss(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fleiss' kappa for each row of weights over units that all have the same number of ratings."""
    n_i, agree = _unit_terms(counts)
    total = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = (weights @ (agree / (n_i * (n_i - 1)))) / total
        p_cat = (weights @ counts) / (total * n_i[0])[:, None]
        p_e = (p_cat**2).sum(axis=1)
        return np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)


def _pattern_weights(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return (distinct count patterns, resamples x patterns weights): an exact unit bootstrap."""
    base = int(counts.max()) + 1 if counts.size else 1
    codes = counts @ (base ** np.arange(counts.shape[1], dtype=np.int64))  # one integer per count pattern
    _codes, first, frequency = np.unique(codes, return_index=True, return_counts=True)
    draws = rng.multinomial(len(counts), frequency / frequency.sum(), size=n_boot).astype(float)
    return counts[first], draws


def _interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    samples = samples[np.isfinite(samples)]
    if len(samples) < 2:
        return None, None
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def _estimate(value: float | None, samples: np.ndarray, n_units: int) -> Estimate:
    low, high = _interval(samples) if value is not None else (None, None)
    return Estimate(value, low, high, n_units)


def kappas_from_confusions(confusions: np.ndarray, n_categories: int) -> np.ndarray:
    """Cohen's kappa for each confusion matrix in an array (..., C, C); NaN where undefined."""
    total = confusions.sum(axis=(-1, -2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = np.trace(confusions, axis1=-2, axis2=-1) / total
        p_e = (confusions.sum(axis=-1) * confusions.sum(axis=-2)).sum(axis=-1) / total**2
        return np.where((total > 0) & (p_e < 1), (p_o - p_e) / (1 - p_e), np.nan)


def _poisson_table() -> np.ndarray:
    # Inverse CDF of Poisson(1) on 16-bit uniforms: P(weight = k) is exact to 1/65,536.
    cdf, k, total, term = [], 0, 0.0, np.exp(-1.0)
    while total < 1 - 1e-12 and k < 20:
        total += term
        cdf.append(total)
        k += 1
        term /= k
    return np.searchsorted(np.array(cdf) * 65536, np.arange(65536) + 0.5).astype(np.float32)


POISSON_TABLE = _poisson_table()


def resample_weights(n_units: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Return (units x rows) Poisson(1) weights: how often each unit is drawn in each of `rows` resamples.

    This is the Poisson bootstrap, the large-sample form of resampling units with replacement (Hanley &
    MacGibbon 2006); drawing 16-bit uniforms and looking them up is about ten times faster than counting
    multinomial draws, which matters for Cohen's kappa, whose units cannot be folded into count patterns.
    """
    return POISSON_TABLE[rng.integers(0, 65536, size=(n_units, rows), dtype=np.uint16)]


def _design(co: CoRatings, n_units: int, n_categories: int) -> "csc_matrix":
    # (pair cells) x units, one entry per co-rating: a resample's confusion matrices are one sparse product
    from scipy import sparse

    cells = co.pair * n_categories**2 + co.label_1 * n_categories + co.label_2
    return sparse.csc_matrix(
        (np.ones(len(cells), dtype=np.float32), (cells, co.unit)), shape=(len(co.pair_keys) * n_categories**2, n_units)
    )


def _mean_kappas(confusions: np.ndarray, n_pairs: int, n_categories: int) -> np.ndarray:
    rows = confusions.shape[0]
    kappas = kappas_from_confusions(confusions.reshape(rows, n_pairs, n_categories, n_categories).astype(float),
                                    n_categories)
    defined = np.isfinite(kappas)
    with np.errstate(all="ignore"):
        return np.where(defined, kappas, 0).sum(axis=1) / defined.sum(axis=1)


def bootstrap_pairwise_kappa_groups(groups: Mapping[K, CoRatings], n_units: int, n_categories: int, n_boot: int,
                                    rng: np.random.Generator, chunk: int = 100) -> dict[K, np.ndarray]:
    """Resample units once for several groups of co-ratings over the same units; return {group: samples}.

    Sharing the weights lets a dashboard bootstrap every attribute and the pooled row for the price of one.
    """
    designs = {name: _design(co, n_units, n_categories) for name, co in groups.items() if co.pair_keys}
    samples: dict[K, list[np.ndarray]] = {name: [] for name in designs}
    for start in range(0, n_boot, chunk):
        weights = resample_weights(n_units, min(chunk, n_boot - start), rng)
        for name, design in designs.items():
            samples[name].append(_mean_kappas((design @ weights).T, len(groups[name].pair_keys), n_categories))
    return {name: np.concatenate(samples[name]) if name in samples else np.array([]) for name in groups}


def bootstrap_pairwise_kappa(co: CoRatings, n_units: int, n_categories: int, n_boot: int, rng: np.random.Generator,
                             chunk: int = 100) -> np.ndarray:
    """Resample units with replacement; return the mean pairwise Cohen's kappa of each resample."""
    return bootstrap_pairwise_kappa_groups({0: co}, n_units, n_categories, n_boot, rng, chunk)[0]


def subset(encoded: Ratings, mask: np.ndarray) -> Ratings:
    """Return the ratings selected by a boolean mask, keeping the unit and rater numbering."""
    return Ratings(encoded.units[mask], encoded.raters[mask], encoded.labels[mask], encoded.unit_keys,
                   encoded.rater_keys, encoded.categories)


# --- Summary ----------------------------------------------------------------------------------------------------


def summarize(ratings: Ratings | Iterable[Rating], categories: Iterable[Hashable] | None = None,
              n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, min_common: int = MIN_COMMON_UNITS,
              kappa_samples: np.ndarray | None = None) -> dict[str, Estimate]:
    """Return {statistic: Estimate} for alpha, Fleiss' kappa, mean pairwise Cohen's kappa and percent agreement.

    `kappa_samples`: bootstrap samples of the mean pairwise kappa computed elsewhere (summarize_groups shares one
    resampling among groups); by default they are drawn here.
    """
    encoded = ratings if isinstance(ratings, Ratings) else encode(ratings, categories)
    rng = np.random.default_rng(seed)
    result = _pattern_statistics(pairable(count_matrix(encoded)), n_boot, rng)
    co = co_ratings(encoded, min_common)
    mean_kappa, _per_pair = pairwise_cohen_kappa(encoded, min_common)
    if mean_kappa is None:
        kappa_samples = np.array([])
    elif kappa_samples is None:
        kappa_samples = bootstrap_pairwise_kappa(co, len(encoded.unit_keys), encoded.n_categories, n_boot, rng)
    result["cohen_kappa"] = _estimate(mean_kappa, kappa_samples, len(np.unique(co.unit)))
    return result


def _pattern_statistics(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> dict[str, Estimate]:
    if not len(counts):
        empty = Estimate(None, None, None, 0)
        return {"krippendorff_alpha": empty, "percent_agreement": empty, "fleiss_kappa": empty}
    patterns, weights = _pattern_weights(counts, n_boot, rng)
    fleiss_table = fleiss_units(counts)
    f_patterns, f_weights = _pattern_weights(fleiss_table, n_boot, rng)
    return {
        "krippendorff_alpha": _estimate(krippendorff_alpha(counts), weighted_alpha(patterns, weights), len(counts)),
        "percent_agreement": _estimate(percent_agreement(counts), weighted_percent(patterns, weights), len(counts)),
        "fleiss_kappa": _estimate(fleiss_kappa(counts), weighted_fleiss(f_patterns, f_weights), len(fleiss_table)),
    }


def summarize_groups(encoded: Ratings, masks: Mapping[K, np.ndarray], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                     min_common: int = MIN_COMMON_UNITS) -> dict[K, dict[str, Estimate]]:
    """Summarize several subsets of one set of ratings ({name: boolean mask}), sharing the kappa resampling."""
    rng = np.random.default_rng(seed)
    parts = {name: subset(encoded, mask) for name, mask in masks.items()}
    groups = {name: co_ratings(part, min_common) for name, part in parts.items()}
    samples = bootstrap_pairwise_kappa_groups(groups, len(encoded.unit_keys), encoded.n_categories, n_boot, rng)
    return {
        name: summarize(part, n_boot=n_boot, seed=seed, min_common=min_common, kappa_samples=samples[name])
        for name, part in parts.items()
    }


# --- Position bias, majority agreement, gold accuracy ---------------------------------------------------------------


@dataclass(frozen=True)
class PositionBias:
    left: int
    right: int
    share_left: float | None
    p_value: float | None
    flagged: bool


def position_bias(left: int, right: int, alpha: float = 0.05) -> PositionBias:
    """Share of 'left' among left/right picks, with a two-sided binomial test against 50%."""
    total = left + right
    if total == 0:
        return PositionBias(left, right, None, None, False)
    from scipy.stats import binomtest

    p_value = float(binomtest(left, total, 0.5).pvalue)
    return PositionBias(left, right, left / total, p_value, p_value < alpha)


def position_bias_many(left: ArrayLike, right: ArrayLike, alpha: float = 0.05
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised position_bias for arrays of counts: (share left, two-sided p, flagged).

    Under the null p = 0.5 the binomial is symmetric, so the exact two-sided p-value (scipy's binomtest) is
    min(1, 2 * min(P(X <= k), P(X >= k))); a test checks both agree.
    """
    from scipy.stats import binom

    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    total = left + right
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, left / np.maximum(total, 1), np.nan)
    p_value = np.minimum(1.0, 2 * np.minimum(binom.cdf(left, total, 0.5), binom.sf(left - 1, total, 0.5)))
    p_value = np.where(total > 0, p_value, np.nan)
    return share, p_value, np.where(total > 0, p_value < alpha, False)


def majority_agreement(encoded: Ratings) -> dict[Any, tuple[int, int]]:
    """Return {rater: (agreeing, compared)}: how often a rater matches the strict majority of the other raters."""
    counts = count_matrix(encoded)
    others = counts[encoded.units].copy()
    others[np.arange(len(encoded.labels)), encoded.labels] -= 1
    top = others.max(axis=1)
    unique_top = (others == top[:, None]).sum(axis=1) == 1
    usable = unique_top & (others.sum(axis=1) >= 2)
    agrees = usable & (others.argmax(axis=1) == encoded.labels)
    result: dict[Any, tuple[int, int]] = {}
    for rater_index, rater in enumerate(encoded.rater_keys):
        mine = encoded.raters == rater_index
        result[rater] = (int(agrees[mine].sum()), int(usable[mine].sum()))
    return result


def majority_labels(encoded: Ratings) -> dict[Any, Any]:
    """Return {unit: label} for units with a strict plurality label (ties have no majority)."""
    counts = count_matrix(encoded)
    top = counts.max(axis=1)
    unique = (counts == top[:, None]).sum(axis=1) == 1
    winners = counts.argmax(axis=1)
    return {encoded.unit_keys[i]: encoded.categories[winners[i]] for i in np.flatnonzero(unique & (top > 0))}


def judge_agreement(judge: Mapping[Hashable, Hashable], experts: Mapping[Hashable, Hashable],
                    categories: Sequence[Hashable] | None = None) -> dict[str, Any]:
    """Compare an LLM judge's label per unit with the experts' majority: share agreeing and Cohen's kappa."""
    units = [unit for unit in judge if unit in experts]
    if not units:
        return {"n": 0, "agreement": None, "kappa": None}
    judge_labels = [judge[unit] for unit in units]
    expert_labels = [experts[unit] for unit in units]
    agreeing = sum(a == b for a, b in zip(judge_labels, expert_labels, strict=True))
    return {
        "n": len(units), "agreement": agreeing / len(units),
        "kappa": cohen_kappa(judge_labels, expert_labels, categories=categories),
    }
