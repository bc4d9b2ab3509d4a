"""Campaign items from the synthesis app's preference pairs, selected by attribute, type, verdict, split or id."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet

from alfa_platform.params import parse_id

from .models import Campaign, Choice, ComparisonItem

if TYPE_CHECKING:
    from synthesis.models import PreferencePair

BATCH = 2000


@dataclass
class PairSelection:
    """Which synthesis pairs to judge; empty lists mean "any"."""

    attributes: list = field(default_factory=list)
    pair_types: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)
    splits: list = field(default_factory=list)
    ids: list = field(default_factory=list, metadata={"help": "PreferencePair primary keys or pair_id strings."})
    limit: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_pairs(selection: PairSelection) -> "QuerySet[PreferencePair]":
    """Return the PreferencePair queryset a selection names."""
    from synthesis.models import PreferencePair

    pairs = PreferencePair.objects.select_related("attribute", "question__thread__post").order_by("pk")
    if selection.attributes:
        pairs = pairs.filter(attribute__key__in=selection.attributes)
    if selection.pair_types:
        pairs = pairs.filter(pair_type__in=selection.pair_types)
    if selection.verdicts:
        pairs = pairs.filter(verdict__in=selection.verdicts)
    if selection.splits:
        pairs = pairs.filter(question__thread__post__split__in=selection.splits)
    if selection.ids:
        numeric = [number for value in selection.ids if (number := parse_id(value)) is not None]
        named = [str(value) for value in selection.ids if parse_id(value) is None]
        pairs = pairs.filter(Q(pk__in=numeric) | Q(pair_id__in=named))
    return pairs


def judge_choice_of(pair: "PreferencePair") -> str:
    """The LLM judge's answer in item terms (A is the pair's chosen text): agreed, disagreed, or none."""
    from synthesis.models import Verdict

    choices: dict[str, str] = {Verdict.ACCEPTED: Choice.A, Verdict.REJECTED: Choice.B}
    return choices.get(pair.judge_verdict, "")


def item_from_pair(campaign: Campaign, pair: "PreferencePair", position: int) -> ComparisonItem:
    """Snapshot a pair: the texts are copied, so later edits of the pair never change what was judged."""
    question, post = pair.question, pair.question.thread.post
    winner, _, loser = pair.pair_type.partition("_")
    return ComparisonItem(
        campaign=campaign, external_id=f"pair:{pair.pk}", position=position, post_title=post.title,
        post_body=post.body, turns=list(question.previous_turns or []), question_a=pair.chosen_text,
        question_b=pair.rejected_text, attribute=pair.attribute.key, source_a=winner, source_b=loser,
        split=post.split, question=question, pair=pair, expected_choice=Choice.A, judge_choice=judge_choice_of(pair),
        meta={"pair_id": pair.pair_id, "pair_type": pair.pair_type, "verdict": pair.verdict,
              "judge_model": pair.judge_model},
    )


def pairs_to_add(campaign: Campaign, selection: PairSelection) -> "QuerySet[PreferencePair]":
    """Return the selected pairs that the campaign does not hold yet (at most `limit`)."""
    pairs = select_pairs(selection).exclude(comparison_items__campaign=campaign)
    return pairs[: selection.limit] if selection.limit else pairs


def do_add_synthesis_pairs(campaign: Campaign, selection: PairSelection,
                           progress: Callable[[int], object] | None = None) -> int:
    """Add the selected pairs to the campaign (pairs already in it are skipped); return how many were added."""
    pairs = pairs_to_add(campaign, selection)
    start = campaign.items.count()
    added, batch = 0, list[ComparisonItem]()
    with transaction.atomic():
        for pair in pairs.iterator(chunk_size=BATCH):
            batch.append(item_from_pair(campaign, pair, start + added + len(batch) + 1))
            if len(batch) >= BATCH:
                added += _flush(batch, progress)
        added += _flush(batch, progress)
        record = dict(campaign.selection)
        record["synthesis"] = [*record.get("synthesis", []), {**selection.as_dict(), "added": added}]
        campaign.selection = record
        campaign.item_count = campaign.items.count()
        campaign.save(update_fields=["selection", "item_count"])
    return added


def _flush(batch: list[ComparisonItem], progress: Callable[[int], object] | None) -> int:
    ComparisonItem.objects.bulk_create(batch)
    count = len(batch)
    batch.clear()
    if progress is not None:
        progress(count)
    return count
