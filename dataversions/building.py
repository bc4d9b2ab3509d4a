"""Select and freeze a version's rows: one builder per dataset kind, rows in a seeded post-level split order."""

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, Model, QuerySet

from annotation.models import Adjudication, BenchmarkRelease, ComparisonItem, Judgment, ReleaseItem
from corpus.models import MultipleChoiceCase, Question
from corpus.rendering import render_messages
from synthesis.models import PairType, PreferencePair, Verdict

from .models import DatasetKind, DatasetRow, DatasetVersion, VersionStatus
from .selection import SPLITS, Selection, SelectionError, known_attributes

CHUNK = 2000
NO_ROWS = ("The filter selects no rows: nothing was written. Widen the filter (attributes, pair types, verdict, "
           "agreement, splits) or build the data first.")


class FreezeError(Exception):
    """A version cannot be frozen (its filter selects no rows, or a source is unusable)."""


@dataclass
class Lineage:
    jobs: set = field(default_factory=set)
    templates: set = field(default_factory=set)
    campaigns: set = field(default_factory=set)
    created_utc: list = field(default_factory=list)


def canonical_bytes(row: dict) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


def order_key(seed: int, split: str, row_id: str) -> tuple:
    """Return where a row goes: splits in train/validation/test order, then a seeded shuffle within each."""
    return SPLITS.index(split), hashlib.sha256(f"{seed}:{row_id}".encode()).digest()


def annotator_pseudonym(user_id: int) -> str:
    """Return a keyed, stable pseudonym for a platform user (exports never carry usernames)."""
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), f"annotator:{user_id}".encode(), hashlib.sha256)
    return "annotator-" + digest.hexdigest()[:12]


# Preference pairs -----------------------------------------------------------------------------------------------

def pair_majorities(campaign_ids: Iterable[int]) -> dict[int, str]:
    """Return each expert-judged pair's campaign verdict (an adjudication wins over the majority of judgments)."""
    # counted(): no qualification items, no annotator a lead excluded (annotation.models.JudgmentQuerySet)
    judgments = Judgment.objects.counted().filter(retracted_at__isnull=True, item__pair__isnull=False)
    adjudications = Adjudication.objects.filter(item__pair__isnull=False)
    if campaign_ids:
        judgments = judgments.filter(campaign_id__in=list(campaign_ids))
        adjudications = adjudications.filter(campaign_id__in=list(campaign_ids))
    tallies: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for pair_id, choice, n in judgments.values_list("item__pair_id", "choice").annotate(n=Count("pk")):
        tallies[pair_id][choice] += n
    majorities: dict[int, str] = {}
    for pair_id, tally in tallies.items():
        (top, n), *rest = [*tally.most_common(2), ("", 0)]
        majorities[pair_id] = top if n > rest[0][1] else "tie"
    for pair_id, choice in adjudications.order_by("created_at").values_list("item__pair_id", "choice"):
        # django-stubs reads item__pair_id as PreferencePair.pair_id (a str); it is the item's foreign key (an int)
        majorities[pair_id] = choice  # type: ignore[index]
    return majorities


def preference_queryset(selection: Selection, attributes: list[str]) -> QuerySet[PreferencePair]:
    pairs = PreferencePair.objects.filter(attribute__key__in=attributes,
                                          question__thread__post__split__in=list(selection.splits))
    if selection.pair_types:
        pairs = pairs.filter(pair_type__in=list(selection.pair_types))
    if selection.verdict == "filtered":
        pairs = pairs.filter(verdict=Verdict.ACCEPTED)
    return pairs


def preference_order(selection: Selection, attributes: list[str]) -> list[int]:
    rows: Iterable[tuple[int, str, str]] = preference_queryset(selection, attributes).values_list(
        "pk", "pair_id", "question__thread__post__split")
    if selection.agreement != "any":
        majorities = pair_majorities(selection.campaigns)
        wanted = {"judged": lambda pk: pk in majorities, "agrees": lambda pk: majorities.get(pk) == "a"}
        rows = [row for row in rows if wanted[selection.agreement](row[0])]
    return [pk for pk, *_ in sorted(rows, key=lambda r: order_key(selection.seed, r[2], r[1]))]


PAIR_COLUMNS = ("pk", "pair_id", "question_id", "question__qid", "question__thread__post__split",
                "question__thread__post__created_utc", "attribute__key", "pair_type", "context", "chosen_text",
                "rejected_text", "verdict", "job_id", "chosen__job_id", "rejected__job_id", "chosen__template_id",
                "rejected__template_id")


def values_by_pk(queryset: QuerySet[Model], pks: list, columns: tuple) -> dict:
    """Return {pk: {column: value}} for the pks, in batches the database accepts as query parameters."""
    size = connections[queryset.db].features.max_query_params or len(pks) or 1
    return {row["pk"]: row for start in range(0, len(pks), size)
            for row in queryset.filter(pk__in=pks[start:start + size]).values(*columns)}


def preference_rows(pks: list[int], selection: Selection, lineage: Lineage) -> Iterator[dict]:
    # Plain values, not model instances: a pair with its question, thread, post, attribute and both rewrites is
    # seven objects and fourteen JSON columns (the rewrites' requests hold whole prompts), of which a row needs one.
    found = values_by_pk(PreferencePair.objects.all(), pks, PAIR_COLUMNS)
    without_context = list({pair["question_id"] for pair in found.values() if not pair["context"]})
    questions = Question.objects.select_related("thread__post").in_bulk(without_context)
    conversations = {pk: question.conversation() for pk, question in questions.items()}
    for pk in pks:
        pair = found[pk]
        lineage.jobs.update(j for j in (pair["job_id"], pair["chosen__job_id"], pair["rejected__job_id"]) if j)
        lineage.templates.update((pair["chosen__template_id"], pair["rejected__template_id"]))
        lineage.created_utc.append(pair["question__thread__post__created_utc"])
        yield {
            "id": pair["pair_id"], "qid": pair["question__qid"], "split": pair["question__thread__post__split"],
            "attribute": pair["attribute__key"], "pair_type": pair["pair_type"],
            "prompt": render_messages(pair["context"] or conversations[pair["question_id"]], selection.rendering),
            "chosen": pair["chosen_text"], "rejected": pair["rejected_text"], "verdict": pair["verdict"],
            "source_job": pair["job_id"],
        }


# SFT ------------------------------------------------------------------------------------------------------------

def sft_order(selection: Selection, attributes: list[str]) -> list:
    if selection.sft_source == "real":
        rows = Question.objects.filter(thread__post__split__in=list(selection.splits)).values_list(
            "pk", "qid", "thread__post__split")
        keys = [(("question", pk), qid, split) for pk, qid, split in rows]
    else:
        enhanced = preference_queryset(selection, attributes).filter(pair_type=PairType.ENHANCED_ORIGINAL)
        pairs = list(enhanced.values_list("pk", "question__qid", "attribute__key", "question__thread__post__split"))
        keys = [(("pair", pk), f"{qid}_{attribute}", split) for pk, qid, attribute, split in pairs]
        keys += [(("original", pk), f"{qid}_original", split)
                 for pk, qid, split in {(pk, qid, split) for pk, qid, _, split in
                                        enhanced.values_list("question_id", "question__qid", "attribute__key",
                                                             "question__thread__post__split")}]
    return [key for key, *_ in sorted(keys, key=lambda k: order_key(selection.seed, k[2], k[1]))]


def sft_rows(keys: list, selection: Selection, lineage: Lineage) -> Iterator[dict]:
    questions = Question.objects.select_related("thread__post").in_bulk(
        [pk for kind, pk in keys if kind in ("question", "original")])
    pairs = PreferencePair.objects.select_related("question__thread__post", "attribute", "chosen", "rejected").in_bulk(
        [pk for kind, pk in keys if kind == "pair"])
    originals = {}
    if any(kind == "original" for kind, _ in keys):
        originals = dict(PreferencePair.objects.filter(
            question_id__in=list(questions), pair_type=PairType.ENHANCED_ORIGINAL).order_by("pk").values_list(
            "question_id", "rejected_text"))
    for kind, pk in keys:
        if kind == "pair":
            pair = pairs[pk]
            question, completion, row_id = pair.question, pair.chosen_text, f"{pair.question.qid}_{pair.attribute.key}"
            lineage.jobs.update(j for j in (pair.job_id, pair.chosen.job_id) if j)
            lineage.templates.add(pair.chosen.template_id)
            source = f"enhanced:{pair.attribute.key}"
        else:
            question = questions[pk]
            completion = question.text if kind == "question" else originals[pk]
            row_id = question.qid if kind == "question" else f"{question.qid}_original"
            source = "real" if kind == "question" else "original"
        post = question.thread.post
        lineage.created_utc.append(post.created_utc)
        yield {"id": row_id, "qid": question.qid, "split": post.split, "source": source,
               "prompt": question.prompt_messages(selection.rendering), "completion": completion}


# Expert judgments -----------------------------------------------------------------------------------------------

def judged_split(split: str) -> str:
    """Return the split a judgment goes to: its item's split, or train for items imported without one."""
    return split if split in SPLITS else "train"


def judgments_order(selection: Selection, attributes: list[str]) -> list:
    judgments = Judgment.objects.counted()  # retracted ones stay, flagged; excluded annotators' do not
    adjudications = Adjudication.objects.all()
    if selection.campaigns:
        judgments = judgments.filter(campaign_id__in=list(selection.campaigns))
        adjudications = adjudications.filter(campaign_id__in=list(selection.campaigns))
    if selection.attributes:
        judgments = judgments.filter(attribute__in=list(selection.attributes))
        adjudications = adjudications.filter(attribute__in=list(selection.attributes))
    keys = [(("judgment", pk), f"judgment-{pk}", judged_split(split))
            for pk, split in judgments.values_list("pk", "item__split")]
    keys += [(("adjudication", pk), f"adjudication-{pk}", judged_split(split))
             for pk, split in adjudications.values_list("pk", "item__split")]
    keys = [key for key in keys if key[2] in selection.splits]
    # Judgments keep their recorded order (time), which a seeded shuffle would hide.
    return [key for key, *_ in sorted(keys, key=lambda k: (SPLITS.index(k[2]), k[0][0] != "judgment", k[0][1]))]


JUDGMENT_COLUMNS = ("id", "kind", "campaign", "item", "qid", "split", "attribute", "annotator", "shown_left",
                    "choice", "tie", "side", "strength", "reasons", "rationale", "time_ms", "created_at",
                    "retracted", "is_gold", "question_a", "question_b", "source_a", "source_b")


def judgment_row(**values: Any) -> dict:
    return {column: values.get(column) for column in JUDGMENT_COLUMNS}


def judgments_rows(keys: list, selection: Selection, lineage: Lineage) -> Iterator[dict]:
    judgments = Judgment.objects.select_related("item__question", "campaign", "assignment").in_bulk(
        [pk for kind, pk in keys if kind == "judgment"])
    adjudications = Adjudication.objects.select_related("item__question", "campaign").in_bulk(
        [pk for kind, pk in keys if kind == "adjudication"])
    for kind, pk in keys:
        record: Judgment | Adjudication = judgments[pk] if kind == "judgment" else adjudications[pk]
        item = record.item
        lineage.campaigns.add(record.campaign_id)
        common = dict(
            id=f"{kind}-{pk}", kind=kind, campaign=record.campaign.name, item=item.external_id or f"item-{item.pk}",
            qid=item.question.qid if item.question is not None else "", split=judged_split(item.split),
            attribute=record.attribute,
            choice=record.choice, tie=record.choice == "tie", created_at=record.created_at.isoformat(),
            is_gold=item.is_gold, question_a=item.question_a, question_b=item.question_b, source_a=item.source_a,
            source_b=item.source_b,
        )
        if isinstance(record, Judgment):  # kind == "judgment"
            yield judgment_row(**common, annotator=annotator_pseudonym(record.annotator_id),
                               shown_left="a" if record.assignment.left_is_a else "b", side=record.side,
                               strength=record.strength, reasons=list(record.reasons or []),
                               rationale=record.rationale, time_ms=record.time_ms,
                               retracted=record.retracted_at is not None)
        else:
            yield judgment_row(**common, annotator=annotator_pseudonym(record.author_id), rationale=record.note,
                               reasons=[], retracted=False)


# Interactive QA benchmark ---------------------------------------------------------------------------------------

def interactive_order(selection: Selection, attributes: list[str]) -> list:
    if selection.release:
        release = BenchmarkRelease.objects.filter(name=selection.release).first()
        if release is None:
            raise SelectionError(f"No benchmark release named {selection.release!r}.")
        return [("release", pk) for pk in release.items.order_by("position").values_list("pk", flat=True)]
    cases = MultipleChoiceCase.objects.all()
    if selection.case_source != "all":
        cases = cases.filter(source=selection.case_source)
    if "test" not in selection.splits:
        return []
    return [("case", pk) for pk, *_ in sorted(cases.values_list("pk", "source", "case_id"),
                                              key=lambda r: order_key(selection.seed, "test", f"{r[1]}:{r[2]}"))]


def interactive_rows(keys: list, selection: Selection, lineage: Lineage) -> Iterator[dict]:
    cases = MultipleChoiceCase.objects.in_bulk([pk for kind, pk in keys if kind == "case"])
    items = ReleaseItem.objects.in_bulk([pk for kind, pk in keys if kind == "release"])
    for kind, pk in keys:
        if kind == "release":
            # A release keeps the published record's fields, with the physicians' stem, key and initial information.
            yield {**items[pk].record, "split": "test", "source": "release:" + selection.release}
            continue
        case = cases[pk]
        yield {"id": case.case_id, "split": "test", "source": case.source, "question": case.stem,
               "options": case.options, "answer_idx": case.answer_idx, "answer": case.answer,
               "context": case.context, "atomic_facts": case.atomic_facts, "initial_info": case.initial_info,
               "initial_info_is_published": case.initial_info_is_published}


def has_candidate_rows(selection: Selection) -> bool:
    """Return whether the filter, before expert agreement is applied, selects anything (a cheap early check)."""
    if selection.kind in (DatasetKind.PREFERENCE, DatasetKind.SFT) and not (
            selection.kind == DatasetKind.SFT and selection.sft_source == "real"):
        return preference_queryset(selection, selection.effective_attributes(known_attributes())).exists()
    return bool(BUILDERS[selection.kind].order(selection, []))


@dataclass(frozen=True)
class Builder:
    order: Callable
    rows: Callable


BUILDERS: dict[str, Builder] = {
    DatasetKind.PREFERENCE: Builder(preference_order, preference_rows),
    DatasetKind.SFT: Builder(sft_order, sft_rows),
    DatasetKind.JUDGMENTS: Builder(judgments_order, judgments_rows),
    DatasetKind.INTERACTIVE: Builder(interactive_order, interactive_rows),
}


# Freezing -------------------------------------------------------------------------------------------------------

class RowCounter:
    """Counts and the content hash of rows seen in order."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.total = 0
        self.by: dict[str, Counter[str]] = {
            "split": Counter(), "attribute": Counter(), "pair_type": Counter(), "split_attribute": Counter(),
        }

    def add(self, row: dict) -> str:
        data = canonical_bytes(row)
        self.digest.update(data + b"\n")
        self.total += 1
        split, attribute, pair_type = row.get("split", ""), row.get("attribute") or "", row.get("pair_type") or ""
        self.by["split"][split] += 1
        if attribute:
            self.by["attribute"][attribute] += 1
            self.by["split_attribute"][f"{split}/{attribute}"] += 1
        if pair_type:
            self.by["pair_type"][pair_type] += 1
        return hashlib.sha256(data).hexdigest()

    def counts(self) -> dict:
        return {name: dict(sorted(counter.items())) for name, counter in self.by.items() if counter}


def dataset_row(version: DatasetVersion, position: int, row: dict, row_hash: str) -> DatasetRow:
    return DatasetRow(version=version, position=position, row_id=row["id"][:240], split=row["split"],
                      attribute=row.get("attribute") or "", pair_type=row.get("pair_type") or "",
                      qid=row.get("qid") or "", row_hash=row_hash, data=row)


@contextmanager
def statements_not_counted(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Keep psycopg from remembering the statements run in the block (a no-op on other drivers).

    With a prepare threshold set (settings, for the annotation hot path), psycopg keeps the text of a connection's
    last 100 statements to count their runs. Django binds parameters client-side, so that text is the data itself:
    each INSERT of 2,000 frozen rows is about 5 MB, and an 80,000-pair freeze held some 250 MB until the connection
    closed. Statements that are already prepared stay prepared.
    """
    raw = connections[alias].connection
    threshold = getattr(raw, "prepare_threshold", None)
    if threshold is None:
        yield
        return
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


def write_rows(version: DatasetVersion, rows: Iterable[dict], progress: Callable[[int], None] | None = None
               ) -> RowCounter:
    """Store rows in order (in one transaction with the caller) and return their counter."""
    counter, batch = RowCounter(), []
    with statements_not_counted():
        for position, row in enumerate(rows):
            batch.append(dataset_row(version, position, row, counter.add(row)))
            if len(batch) >= CHUNK:
                DatasetRow.objects.bulk_create(batch)
                batch = []
                if progress:
                    progress(counter.total)
        DatasetRow.objects.bulk_create(batch)
    return counter


def seal_version(version: DatasetVersion, counter: RowCounter, extra_counts: dict | None = None) -> None:
    version.content_hash = counter.digest.hexdigest()
    version.row_count = counter.total
    version.counts = {**counter.counts(), **(extra_counts or {})}
    version.status = VersionStatus.READY
    version.error = ""
    version.save(update_fields=["content_hash", "row_count", "counts", "status", "error"])


def agreement_counts(selection: Selection, version: DatasetVersion) -> tuple[dict, set[int]]:
    """Return, per attribute, how many of the version's pairs experts judged and how many agreed; and the
    campaigns those judgments came from."""
    majorities = pair_majorities(selection.campaigns)
    pair_ids = dict(PreferencePair.objects.filter(pk__in=list(majorities)).values_list("pair_id", "pk"))
    agreement: defaultdict[str, dict[str, int]] = defaultdict(lambda: {"judged": 0, "agrees": 0})
    judged: list[int] = []
    for row_id, attribute in version.rows.values_list("row_id", "attribute").iterator(chunk_size=CHUNK):
        if (pk := pair_ids.get(row_id)) is not None:
            judged.append(pk)
            agreement[attribute]["judged"] += 1
            agreement[attribute]["agrees"] += majorities[pk] == "a"
    items = ComparisonItem.objects.filter(pair_id__in=judged, judgments__isnull=False)
    if selection.campaigns:
        items = items.filter(campaign_id__in=list(selection.campaigns))
    return dict(sorted(agreement.items())), set(items.values_list("campaign_id", flat=True).distinct())


def freeze_version(version: DatasetVersion, progress: Callable[[int, int], None] | None = None) -> DatasetVersion:
    """Select the version's rows, copy them into the version with their hashes and counts, and mark it ready."""
    selection = Selection.from_dict(version.selection)
    builder = BUILDERS[version.kind]
    keys = builder.order(selection, selection.effective_attributes(known_attributes()))
    if selection.limit:
        keys = keys[: selection.limit]
    if not keys:
        raise FreezeError(NO_ROWS)
    lineage = Lineage()

    def rows() -> Iterator[dict]:
        for start in range(0, len(keys), CHUNK):
            yield from builder.rows(keys[start:start + CHUNK], selection, lineage)

    with transaction.atomic():
        version.rows.all().delete()  # a retried build starts from nothing
        counter = write_rows(version, rows(), progress and (lambda done: progress(done, len(keys))))
        extra: dict[str, Any] = {}
        if dates := [d for d in lineage.created_utc if d]:
            extra["created_utc"] = [min(dates), max(dates)]
        if version.kind == DatasetKind.PREFERENCE:
            extra["agreement"], judged_in = agreement_counts(selection, version)
            lineage.campaigns |= judged_in
        seal_version(version, counter, extra)
        version.source_jobs.set(lineage.jobs)
        version.templates.set(t for t in lineage.templates if t)
        version.campaigns.set(lineage.campaigns)
    return version
