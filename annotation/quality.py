"""Campaign quality from the database: agreement, position bias, annotator accuracy and speed, judge-expert match.

One query loads a campaign's live judgments as numpy arrays; everything else is numpy and agreement.py. The
result is stored as a QualitySnapshot under a version derived from the judgments themselves, so a new or undone
judgment makes it stale and an unchanged campaign is served from the snapshot.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from alfa_platform.backends import backend

from . import agreement
from .attributes import attribute_names
from .models import (
    Adjudication,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMember,
    Choice,
    ComparisonItem,
    Judgment,
    JudgmentQuerySet,
    QualitySnapshot,
    Side,
)

CATEGORIES = [Choice.A, Choice.B, Choice.TIE, Choice.BOTH_BAD]
CATEGORY_INDEX = {value: index for index, value in enumerate(CATEGORIES)}
ALL = "all"
STATISTICS = ("krippendorff_alpha", "cohen_kappa", "fleiss_kappa", "percent_agreement")


QUALITY_JOB = "annotation_quality"


def bootstrap_samples() -> int:
    return int(getattr(settings, "ANNOTATION_BOOTSTRAP_SAMPLES", agreement.DEFAULT_BOOTSTRAP))


def async_threshold() -> int:
    """Campaigns with at least this many judgments refresh their dashboard in the background."""
    return int(getattr(settings, "ANNOTATION_ASYNC_QUALITY_JUDGMENTS", 20_000))


@dataclass
class JudgmentTable:
    """A campaign's live judgments as parallel arrays."""

    item: np.ndarray
    annotator: np.ndarray
    attribute: np.ndarray  # index into `keys`
    choice: np.ndarray  # index into CATEGORIES
    side: np.ndarray  # 0 left, 1 right, 2 none
    time_ms: np.ndarray  # -1 when not reported
    is_gold: np.ndarray
    gold_choice: np.ndarray  # index into CATEGORIES, -1 when none
    judge_choice: np.ndarray
    excluded: np.ndarray  # the annotator's judgments are left out of agreement (CampaignMember.excluded)
    keys: list

    def __len__(self) -> int:
        return len(self.item)

    def subset(self, mask: np.ndarray) -> "JudgmentTable":
        fields = {name: getattr(self, name)[mask] for name in self.__dataclass_fields__ if name != "keys"}
        return JudgmentTable(**fields, keys=self.keys)


def live_judgments(campaign: Campaign, attribute: str | None = None) -> JudgmentQuerySet:
    judgments = Judgment.objects.filter(campaign=campaign, retracted_at__isnull=True)
    return judgments.filter(attribute=attribute) if attribute else judgments


def excluded_annotators(campaign: Campaign) -> list[int]:
    """The ids of the annotators whose judgments a lead has excluded from the campaign's results."""
    return sorted(CampaignMember.objects.filter(campaign=campaign, excluded=True).values_list("user_id", flat=True))


def data_version(campaign: Campaign, attribute: str | None = None) -> str:
    """Return a cheap fingerprint of the judgments the dashboard depends on (an indexed aggregate, the exclusions)."""
    judgments = Judgment.objects.filter(campaign=campaign)
    if attribute:
        judgments = judgments.filter(attribute=attribute)
    stats = judgments.aggregate(n=Count("id", filter=Q(retracted_at__isnull=True)), last=Max("id"),
                                retracted=Max("retracted_at"))
    excluded = ",".join(map(str, excluded_annotators(campaign)))
    return f"{stats['n']}:{stats['last']}:{stats['retracted'].timestamp() if stats['retracted'] else 0}:{excluded}"


def _case(column: str, mapping: Mapping[str, int], default: int) -> tuple[str, list[str | int]]:
    """Return an SQL CASE mapping a text column to small integers, with its parameters."""
    if not mapping:
        return str(int(default)), []
    whens = " ".join("WHEN %s THEN %s" for _ in mapping)
    params = [value for pair in mapping.items() for value in pair]
    return f"CASE {column} {whens} ELSE {default} END", params


def load_table(campaign: Campaign, attribute: str | None = None) -> JudgmentTable:
    """Load the live judgments as integer arrays: two raw queries coded in SQL, no joins, no model instances.

    Judgments of qualification items are left out: they never count, not even in gold accuracy.
    """
    keys = sorted(set(live_judgments(campaign, attribute).values_list("attribute", flat=True).distinct()),
                  key=_key_order)
    columns, params = ["item_id", "annotator_id"], []
    for column, mapping, default in (
        ("attribute", {key: index for index, key in enumerate(keys)}, -1),
        ("choice", CATEGORY_INDEX, -1),
        ("side", {Side.LEFT.value: 0, Side.RIGHT.value: 1}, 2),
    ):
        sql, values = _case(column, {str(k): v for k, v in mapping.items()}, default)
        columns.append(sql)
        params += values
    columns.append("COALESCE(time_ms, -1)")
    qualification = f"SELECT id FROM {ComparisonItem._meta.db_table} WHERE campaign_id = %s AND is_qualification"  # noqa: S608
    where = ("campaign_id = %s AND retracted_at IS NULL" + (" AND attribute = %s" if attribute else "")
             + f" AND item_id NOT IN ({qualification})")
    judgments = backend("annotation.sql").int_rows(
        columns, f"FROM {Judgment._meta.db_table} WHERE {where}",
        [*params, campaign.pk, *([attribute] if attribute else []), campaign.pk], 6)
    items = _item_columns(campaign)
    position = np.searchsorted(items[:, 0], judgments[:, 0])
    return JudgmentTable(
        item=judgments[:, 0], annotator=judgments[:, 1], attribute=judgments[:, 2], choice=judgments[:, 3],
        side=judgments[:, 4], time_ms=judgments[:, 5], is_gold=items[position, 1].astype(bool),
        gold_choice=items[position, 2], judge_choice=items[position, 3],
        excluded=np.isin(judgments[:, 1], excluded_annotators(campaign)), keys=keys,
    )


def _item_columns(campaign: Campaign) -> np.ndarray:
    """Return (id, is_gold, gold choice, judge choice) per item of the campaign, sorted by id."""
    columns, params = ["id", "CASE WHEN is_gold THEN 1 ELSE 0 END"], []
    for column in ("gold_choice", "judge_choice"):
        sql, values = _case(column, {str(k): v for k, v in CATEGORY_INDEX.items()}, -1)
        columns.append(sql)
        params += values
    items = backend("annotation.sql").int_rows(
        columns, f"FROM {ComparisonItem._meta.db_table} WHERE campaign_id = %s", [*params, campaign.pk], 4)
    return items[np.argsort(items[:, 0], kind="stable")]


def _key_order(key: str) -> tuple[int, str]:
    names = list(attribute_names())
    return (names.index(key) if key in names else len(names), key)


# --- Agreement ----------------------------------------------------------------------------------------------------


def agreement_rows(table: JudgmentTable, n_boot: int, seed: int = 0) -> list[dict[str, Any]]:
    """Return one agreement row per attribute, plus a pooled row when there are several.

    A unit is an (item, attribute) pair, so the pooled row counts each attribute's judgment of an item apart.
    """
    regular = table.subset(~table.is_gold)
    names = attribute_names()
    units = regular.item * max(len(regular.keys), 1) + regular.attribute
    encoded = agreement.encode_arrays(units, regular.annotator, regular.choice, CATEGORIES)
    masks = {key: regular.attribute == index for index, key in enumerate(regular.keys)}
    if len(regular.keys) > 1:
        masks[ALL] = np.ones(len(regular), dtype=bool)
    summaries = agreement.summarize_groups(encoded, masks, n_boot=n_boot, seed=seed)
    rows = []
    for key, mask in masks.items():
        stats = summaries[key]
        rows.append({
            "attribute": key, "name": "All attributes pooled" if key == ALL else names.get(key, key),
            "judgments": int(mask.sum()), "items": len(np.unique(regular.item[mask])),
            **{name: stats[name].as_dict() for name in STATISTICS},
        })
    return rows


# --- Annotators ----------------------------------------------------------------------------------------------------


def position_bias_rows(table: JudgmentTable, usernames: Mapping[int, str]) -> list[dict[str, Any]]:
    """Share of 'left' picks per annotator and attribute (and pooled), flagged when a binomial test rejects 50%."""
    names, slots = attribute_names(), len(table.keys) + 1  # the last slot pools every attribute
    annotators, annotator_index = np.unique(table.annotator, return_inverse=True)
    size = len(annotators) * slots
    left, right = (
        np.bincount(annotator_index * slots + table.attribute, weights=table.side == side, minlength=size)
        + np.bincount(annotator_index * slots + slots - 1, weights=table.side == side, minlength=size)
        for side in (0, 1)
    )
    judged = np.bincount(annotator_index * slots + table.attribute, minlength=size)
    share, p_value, flagged = agreement.position_bias_many(left, right)
    rows = []
    for a, annotator in enumerate(annotators.tolist()):
        for slot in range(slots):
            pooled, at = slot == slots - 1, a * slots + slot
            if not pooled and not judged[at]:
                continue
            key = ALL if pooled else table.keys[slot]
            rows.append({"annotator": usernames.get(annotator, str(annotator)), "attribute": key,
                         "name": "All" if pooled else names.get(key, key), "left": int(left[at]),
                         "right": int(right[at]), "share_left": _number(share[at]), "p_value": _number(p_value[at]),
                         "flagged": bool(flagged[at])})
    return rows


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def annotator_rows(campaign: Campaign, table: JudgmentTable, usernames: Mapping[int, str],
                   n_boot: int | None = None) -> list[dict[str, Any]]:
    """Per annotator: judgments, gold accuracy (overall and per attribute, Wilson 95% intervals), median time per
    judgment (order-statistic 95% interval), agreement with the majority (bootstrap 95% interval), skips.

    Agreement with the majority is among the annotators who count: an excluded annotator is compared with the
    majority of the counted others, and never sways anyone else's.
    """
    n_boot = n_boot or bootstrap_samples()
    counted = table.subset(~table.excluded)
    majority = _majority_agreement(counted)
    for annotator in np.unique(table.annotator[table.excluded]).tolist():
        majority[int(annotator)] = _majority_agreement(table.subset(~table.excluded | (table.annotator == annotator))
                                                       ).get(int(annotator), [0, 0])
    skips = dict(
        Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SKIPPED)
        .values_list("annotator_id").annotate(n=Count("id"))
    )
    rows = []
    for annotator in np.unique(table.annotator):
        rows.append(_annotator_row(table, int(annotator), usernames, majority, skips, n_boot))
    return rows


def _majority_agreement(table: JudgmentTable) -> dict[int, list[int]]:
    """{annotator: (agreeing, compared)} over the regular items, attribute by attribute."""
    regular = table.subset(~table.is_gold)
    majority: dict[int, list[int]] = {}
    for index in range(len(regular.keys)):
        part = regular.subset(regular.attribute == index)
        if len(part):
            encoded = agreement.encode_arrays(part.item, part.annotator, part.choice, CATEGORIES)
            for rater, (agree, compared) in agreement.majority_agreement(encoded).items():
                total = majority.setdefault(int(rater), [0, 0])
                total[0] += agree
                total[1] += compared
    return majority


def wilson_interval(successes: int, trials: int) -> tuple[float, float] | tuple[None, None]:
    """The Wilson score 95% interval of a proportion (statsmodels), or (None, None) without trials."""
    if not trials:
        return None, None
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return float(low), float(high)


def median_interval(values: Sequence[float] | np.ndarray) -> tuple[float | None, float | None, float | None]:
    """The median and its distribution-free 95% interval from order statistics: (median, low, high).

    The interval is [x_(l), x_(n-l+1)] with l the largest rank whose binomial tail P(B <= l-1), B ~ Bin(n, 1/2),
    is at most 2.5%, so it covers the median with probability at least 95%. Under six values no such rank
    exists and the bounds are None.
    """
    if not len(values):
        return None, None, None
    from scipy.stats import binom

    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    tails = binom.cdf(np.arange(n), n, 0.5)  # tails[j] = P(B <= j)
    ranks = np.flatnonzero(tails <= 0.025)  # j = l - 1
    if not len(ranks):
        return float(np.median(ordered)), None, None
    low_rank = int(ranks[-1]) + 1
    return float(np.median(ordered)), float(ordered[low_rank - 1]), float(ordered[n - low_rank])


def share_bootstrap_interval(successes: int, trials: int, n_boot: int, seed: int = 0
                             ) -> tuple[float, float] | tuple[None, None]:
    """The percentile bootstrap 95% interval of a share of 0/1 outcomes, or (None, None) without trials.

    Resampling n outcomes with replacement gives a mean distributed as Binomial(n, k/n) / n, so each resample is
    drawn from that exactly (as agreement.py does for count patterns).
    """
    if not trials:
        return None, None
    rng = np.random.default_rng(seed)
    shares = rng.binomial(trials, successes / trials, size=n_boot) / trials
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(low), float(high)


def _gold_accuracy(correct: int, judged: int) -> dict[str, Any]:
    low, high = wilson_interval(correct, judged)
    return {"gold_judged": judged, "gold_correct": correct, "gold_accuracy": correct / judged if judged else None,
            "gold_accuracy_low": low, "gold_accuracy_high": high}


def _annotator_row(table: JudgmentTable, annotator: int, usernames: Mapping[int, str],
                   majority: Mapping[int, Sequence[int]], skips: Mapping[int, int], n_boot: int) -> dict[str, Any]:
    mine = table.annotator == annotator
    gold = mine & table.is_gold & (table.gold_choice >= 0)
    right = gold & (table.choice == table.gold_choice)
    median, median_low, median_high = median_interval(table.time_ms[mine & (table.time_ms >= 0)] / 1000)
    agree, compared = majority.get(annotator, (0, 0))
    agree_low, agree_high = share_bootstrap_interval(agree, compared, n_boot, seed=annotator)
    names = attribute_names()
    by_attribute = []
    for index, key in enumerate(table.keys):
        on_key = table.attribute == index
        if (gold & on_key).any():
            by_attribute.append({"attribute": key, "name": names.get(key, key),
                                 **_gold_accuracy(int((right & on_key).sum()), int((gold & on_key).sum()))})
    return {
        "annotator": usernames.get(annotator, str(annotator)), "user_id": annotator, "judgments": int(mine.sum()),
        **_gold_accuracy(int(right.sum()), int(gold.sum())), "gold_by_attribute": by_attribute,
        "median_seconds": median, "median_seconds_low": median_low, "median_seconds_high": median_high,
        "majority_agreement": agree / compared if compared else None, "majority_compared": compared,
        "majority_agreement_low": agree_low, "majority_agreement_high": agree_high,
        "skipped": skips.get(annotator, 0), "excluded": bool(table.excluded[mine].any()),
    }


def judge_rows(table: JudgmentTable) -> list[dict[str, Any]]:
    """Per attribute: how often the LLM judge's answer matches the experts' majority."""
    regular = table.subset(~table.is_gold & (table.judge_choice >= 0))
    names, rows = attribute_names(), []
    for index, key in enumerate(regular.keys):
        part = regular.subset(regular.attribute == index)
        if not len(part):
            continue
        encoded = agreement.encode_arrays(part.item, part.annotator, part.choice, CATEGORIES)
        experts = agreement.majority_labels(encoded)
        judge = {item: CATEGORIES[code] for item, code in zip(part.item.tolist(), part.judge_choice.tolist(),
                                                                strict=True)}
        result = agreement.judge_agreement(judge, experts, categories=CATEGORIES)
        rows.append({"attribute": key, "name": names.get(key, key), **result})
    return rows


# --- Campaign summary -----------------------------------------------------------------------------------------------


def progress(campaign: Campaign) -> dict[str, int]:
    items = ComparisonItem.objects.filter(campaign=campaign, is_gold=False).aggregate(
        total=Count("id"), complete=Count("id", filter=Q(submitted_count__gte=campaign.overlap)),
    )
    judged = Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SUBMITTED).count()
    return {**items, "submitted": judged, "target": items["total"] * campaign.overlap}


def compute_quality(campaign: Campaign, attribute: str | None = None, n_boot: int | None = None) -> dict[str, Any]:
    """Compute the dashboard's numbers from the live judgments (no cache)."""
    n_boot = n_boot or bootstrap_samples()
    table = load_table(campaign, attribute)
    usernames = dict(get_user_model().objects.filter(pk__in=np.unique(table.annotator).tolist())
                     .values_list("pk", "username"))
    counted = table.subset(~table.excluded)
    return {
        "judgments": len(counted),
        "excluded_judgments": len(table) - len(counted),
        "agreement": agreement_rows(counted, n_boot),
        "position_bias": position_bias_rows(table, usernames),
        "annotators": annotator_rows(campaign, table, usernames, n_boot),
        "judge": judge_rows(counted),
        "n_boot": n_boot,
    }


def refresh_quality(campaign: Campaign, attribute: str | None = None) -> QualitySnapshot:
    """Compute and store the snapshot for the judgments as they are now; return it."""
    n_boot = bootstrap_samples()
    version = data_version(campaign, attribute)
    started = time.perf_counter()
    data = compute_quality(campaign, attribute, n_boot)
    snapshot, _ = QualitySnapshot.objects.update_or_create(
        campaign=campaign, attribute=attribute or "", n_boot=n_boot,
        defaults={"version": version, "data": data, "judgments": data["judgments"],
                  "seconds": time.perf_counter() - started},
    )
    return snapshot


def _queue_refresh(campaign: Campaign, attribute: str | None) -> None:
    from jobs.actions import do_enqueue_job
    from jobs.models import Job, JobStatus

    pending = Job.objects.filter(kind=QUALITY_JOB, status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
                                 params__campaign=campaign.pk, params__attribute=attribute or "")
    if not pending.exists():  # one refresh at a time per dashboard; it reads the newest judgments when it runs
        do_enqueue_job(QUALITY_JOB, {"campaign": campaign.pk, "attribute": attribute or ""})


def campaign_quality(campaign: Campaign, attribute: str | None = None, allow_stale: bool = False) -> dict[str, Any]:
    """Return the dashboard's numbers plus `computed_at` and `stale`.

    Up to date snapshot: returned as is. Otherwise small campaigns are computed now; for large ones, with
    `allow_stale`, the previous snapshot is returned at once and a background job computes the new one.
    """
    version = data_version(campaign, attribute)
    snapshot = QualitySnapshot.objects.filter(
        campaign=campaign, attribute=attribute or "", n_boot=bootstrap_samples()
    ).first()
    stale = snapshot is not None and snapshot.version != version
    if stale and allow_stale and snapshot is not None and snapshot.judgments >= async_threshold():
        _queue_refresh(campaign, attribute)
    elif snapshot is None or stale:
        snapshot, stale = refresh_quality(campaign, attribute), False
    data = with_alerts(campaign, snapshot.data)
    return {**data, "computed_at": snapshot.computed_at.isoformat(), "seconds": snapshot.seconds, "stale": stale}


def gold_alerts(campaign: Campaign, row: Mapping[str, Any]) -> list[str]:
    """Why an annotator row falls below the campaign's gold accuracy alert, overall or on an attribute (or [])."""
    reasons = []
    parts = [(row, "all attributes"), *[(entry, entry["name"]) for entry in row.get("gold_by_attribute", [])]]
    for part, label in parts:
        judged = part["gold_judged"]
        if judged and judged >= campaign.gold_alert_min_judged and part["gold_accuracy"] < campaign.gold_alert_accuracy:
            reasons.append(f"{label}: {part['gold_accuracy']:.0%} of {part['gold_judged']} gold judgments")
    return reasons


def with_alerts(campaign: Campaign, data: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard's numbers with each annotator's current standing (paused, excluded) and gold alerts.

    Read at every view, not stored in the snapshot: a lead's new threshold or pause shows at once.
    """
    members = {m.user_id: m for m in CampaignMember.objects.filter(campaign=campaign)}
    rows = []
    for row in data.get("annotators", []):
        member = members.get(row.get("user_id"))
        reasons = gold_alerts(campaign, row) if "gold_judged" in row else []
        rows.append({**row, "paused": bool(member and member.paused), "excluded": bool(member and member.excluded),
                     "alert": bool(reasons), "alert_reasons": reasons})
    return {**data, "annotators": rows, "alerts": [row for row in rows if row["alert"]]}


# --- Disagreements for adjudication ---------------------------------------------------------------------------------


def disagreements(campaign: Campaign, attribute: str | None = None, include_resolved: bool = False
                  ) -> QuerySet[Judgment, Any]:
    """Return (item_id, attribute, judgments, distinct choices) for items whose annotators disagree."""
    judgments = live_judgments(campaign, attribute).filter(item__is_gold=False).counted()
    if not include_resolved:
        resolved = Adjudication.objects.filter(item_id=OuterRef("item_id"), attribute=OuterRef("attribute"))
        judgments = judgments.exclude(Exists(resolved))
    return (
        judgments.values("item_id", "attribute")
        .annotate(n=Count("id"), kinds=Count("choice", distinct=True))
        .filter(n__gte=2, kinds__gte=2)
        .order_by("item_id", "attribute")
    )
