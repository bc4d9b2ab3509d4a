"""Annotation campaigns, assignments, judgments, adjudications, and gold labels for the MediQ-AskDocs task."""

import hashlib
import secrets
from typing import Any

import markdown
import nh3
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from audit.softdelete import LiveManager

from .attributes import OVERALL


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"


class JudgmentMode(models.TextChoices):
    PER_ATTRIBUTE = "per_attribute", "Per-attribute preference"
    OVERALL = "overall", "Overall preference"
    BOTH = "both", "Per-attribute and overall"


class Choice(models.TextChoices):
    """A judgment in canonical terms: A and B are the item's stored questions, whatever side they were shown on."""

    A = "a", "A better"
    B = "b", "B better"
    TIE = "tie", "Tie"
    BOTH_BAD = "both_bad", "Both unacceptable"


class Side(models.TextChoices):
    """What the annotator clicked on screen; kept beside the canonical choice to measure position bias."""

    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    NONE = "none", "Neither"


class Strength(models.TextChoices):
    NONE = "", "Not given"
    SLIGHTLY = "slightly", "Slightly"
    CLEARLY = "clearly", "Clearly"


class UnacceptableReason(models.TextChoices):
    UNSAFE = "unsafe", "Unsafe"
    MISSES_RED_FLAG = "misses_red_flag", "Misses a red flag"
    LEADING = "leading", "Leading question"
    NOT_A_QUESTION = "not_a_question", "Not a question"


class SkipReason(models.TextChoices):
    OUTSIDE_EXPERTISE = "outside_expertise", "Outside my expertise"
    UNREADABLE = "unreadable", "Context unreadable or broken"
    IDENTICAL = "identical", "The two questions are the same"
    PHI = "phi", "Contains personal health information"
    OTHER = "other", "Other"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"


class QualificationStatus(models.TextChoices):
    PENDING = "pending", "Not passed yet"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Did not pass"


def sanitized_markdown(text: str) -> str:
    """Return Markdown rendered and sanitized with an allow-list (leads write it, annotators read it)."""
    html = markdown.markdown(text, extensions=["sane_lists", "tables"])
    return nh3.clean(html, link_rel="noopener noreferrer")


class Campaign(models.Model):
    """A set of comparison items, the judgments asked, the overlap and who may annotate."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Markdown; rendered and sanitized for annotators.")
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    judgment_mode = models.CharField(max_length=16, choices=JudgmentMode.choices, default=JudgmentMode.PER_ATTRIBUTE)
    attribute_keys = models.JSONField(
        default=list, blank=True,
        help_text="Attributes judged per item in per-attribute mode; empty means the item's own attribute.",
    )
    overlap = models.PositiveSmallIntegerField(default=3, help_text="Independent annotators per item.")
    gold_rate = models.FloatField(default=0.1, help_text="Share of served items that are gold/attention items.")
    items_per_annotator = models.PositiveIntegerField(null=True, blank=True, help_text="Quota; empty = no quota.")
    open_to_all = models.BooleanField(default=False, help_text="Any annotator may join, not only invited members.")
    qualification_required = models.BooleanField(
        default=False, help_text="Annotators first pass a round of qualification items (known answers, with feedback).",
    )
    qualification_items = models.PositiveSmallIntegerField(default=10, help_text="Items in a qualification round.")
    qualification_pass_mark = models.FloatField(
        default=0.8, help_text="Share of a round's items answered as expected to pass (0-1).",
    )
    gold_alert_accuracy = models.FloatField(
        default=0.7, help_text="Alert the lead when an annotator's hidden-gold accuracy falls below this (0-1).",
    )
    gold_alert_min_judged = models.PositiveSmallIntegerField(
        default=10, help_text="Gold judgments an annotator must have made before the alert applies.",
    )
    seed = models.BigIntegerField(default=0, help_text="Seeds the per-annotator side randomisation.")
    selection = models.JSONField(default=dict, blank=True, help_text="How the items were chosen (provenance).")
    item_count = models.PositiveIntegerField(default=0, help_text="Items, kept here so progress needs no COUNT.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LiveManager()  # a soft-deleted campaign is hidden until an admin restores it (audit.softdelete)
    DELETED_STATUS = CampaignStatus.CLOSED  # while deleted it takes no work, not even on the raw-SQL hot path

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.seed:
            self.seed = secrets.randbelow(2**62) + 1
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("annotation:campaign", args=[self.pk])

    def judgment_keys_for(self, item_attribute: str) -> list[str]:
        """Return the judgment keys asked for an item whose own attribute is `item_attribute`."""
        keys: list[str] = []
        if self.judgment_mode in (JudgmentMode.PER_ATTRIBUTE, JudgmentMode.BOTH):
            keys = list(self.attribute_keys) or [item_attribute]
        if self.judgment_mode in (JudgmentMode.OVERALL, JudgmentMode.BOTH) and OVERALL not in keys:
            keys.append(OVERALL)
        return keys

    @property
    def is_serving(self) -> bool:
        return self.status == CampaignStatus.ACTIVE

    def guidelines_html(self) -> str:
        """Return the guidelines rendered from Markdown and sanitized (leads write them, annotators read them)."""
        return sanitized_markdown(self.guidelines)


class CampaignMember(models.Model):
    """An annotator's membership of a campaign; its row also serialises that annotator's requests."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships")
    invited = models.BooleanField(default=True, help_text="False for annotators who joined an open campaign.")
    done_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    gold_served_count = models.PositiveIntegerField(default=0)
    served_count = models.PositiveIntegerField(default=0)
    qualification_status = models.CharField(
        max_length=8, choices=QualificationStatus.choices, default=QualificationStatus.PENDING,
        help_text="Read only where the campaign requires qualification.",
    )
    qualification_round = models.PositiveSmallIntegerField(default=1, help_text="1, then one more per retry.")
    qualification_seen = models.PositiveSmallIntegerField(default=0, help_text="Items judged in the current round.")
    qualification_correct = models.PositiveSmallIntegerField(default=0)
    paused = models.BooleanField(default=False, help_text="A lead paused this annotator: no items until resumed.")
    excluded = models.BooleanField(
        default=False, help_text="Judgments kept, but left out of agreement, adjudication and datasets.",
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "user"], name="member_unique")]
        indexes = [models.Index(fields=["user", "campaign"], name="member_user_idx")]  # an annotator's campaigns

    def __str__(self) -> str:
        return f"{self.user} in {self.campaign}"


class ComparisonItem(models.Model):
    """A snapshot of one pair to judge: context, two questions, the attribute; sources are never shown."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order in the source (line number for files).")
    post_title = models.TextField(blank=True)
    post_body = models.TextField(blank=True)
    turns = models.JSONField(default=list, blank=True, help_text='Earlier turns: [{"question", "patient_answer"}].')
    question_a = models.TextField()
    question_b = models.TextField()
    attribute = models.CharField(max_length=32)
    source_a = models.CharField(max_length=200, blank=True, help_text="Hidden from annotators.")
    source_b = models.CharField(max_length=200, blank=True, help_text="Hidden from annotators.")
    split = models.CharField(max_length=16, blank=True)
    question = models.ForeignKey(
        "corpus.Question", null=True, blank=True, on_delete=models.SET_NULL, related_name="comparison_items"
    )
    pair = models.ForeignKey(
        "synthesis.PreferencePair", null=True, blank=True, on_delete=models.SET_NULL, related_name="comparison_items"
    )
    is_gold = models.BooleanField(default=False, help_text="Gold/attention item with a known answer.")
    is_qualification = models.BooleanField(
        default=False, help_text="Served only in qualification rounds, with feedback (also is_gold, with gold_choice).",
    )
    explanation = models.TextField(
        blank=True, help_text="Markdown: the guideline passage shown after a qualification item (else the guidelines).",
    )
    gold_choice = models.CharField(max_length=8, choices=Choice.choices, blank=True)
    expected_choice = models.CharField(
        max_length=8, choices=Choice.choices, blank=True, help_text="The pipeline's intended better question."
    )
    judge_choice = models.CharField(
        max_length=8, choices=Choice.choices, blank=True, help_text="An LLM judge's answer, for judge-expert agreement."
    )
    meta = models.JSONField(default=dict, blank=True)
    active_count = models.PositiveIntegerField(default=0, help_text="Open plus submitted assignments.")
    submitted_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "external_id"], condition=~Q(external_id=""), name="item_unique_external_id"
            ),
        ]
        indexes = [
            # next item: least-annotated non-gold item of a campaign below its overlap, oldest first
            models.Index(fields=["campaign", "is_gold", "active_count", "id"], name="item_next_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"item {self.pk}"

    def left_is_a_for(self, user_id: int) -> bool:
        """Return the seeded side for this annotator: True when question A is shown on the left.

        PostgreSQL computes the same in the statement that assigns an item (assignment.LEFT_IS_A_SQL), so the hash
        is one PostgreSQL has built in.
        """
        digest = hashlib.sha256(f"{self.campaign.seed}:{user_id}:{self.pk}".encode()).digest()
        return digest[0] & 1 == 0

    def explanation_html(self) -> str:
        return sanitized_markdown(self.explanation)


class Assignment(models.Model):
    """One item served to one annotator; the side shown is recorded here."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(ComparisonItem, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED)
    left_is_a = models.BooleanField()
    is_gold = models.BooleanField(default=False)
    served_at = models.DateTimeField(auto_now_add=True)
    reopened_at = models.DateTimeField(null=True, blank=True, help_text="Set when an undo reopened it.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Time on task reported by the page.")
    skip_reason = models.CharField(max_length=32, choices=SkipReason.choices, blank=True)
    skip_note = models.TextField(blank=True)

    # Not columns: set by annotation.assignment on the assignments it serves or submits (the annotator's counters).
    member: CampaignMember
    done_count: int | None
    skipped_count: int | None
    feedback: dict[str, Any]  # after a qualification item: the expected answer and the guideline passage

    class Meta:
        constraints = [
            # nobody gets the same item twice, whatever the concurrency
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_once_per_annotator"),
        ]
        indexes = [
            # an annotator's open item and progress in a campaign
            models.Index(fields=["annotator", "campaign", "status"], name="assignment_user_status_idx"),
            # undo and review: an annotator's submissions in a campaign, newest first
            models.Index(fields=["annotator", "campaign", "submitted_at"], name="assignment_user_submitted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.item}"

    @property
    def is_open(self) -> bool:
        return self.status == AssignmentStatus.ASSIGNED


class JudgmentQuerySet(models.QuerySet["Judgment"]):
    def counted(self) -> "JudgmentQuerySet":
        """The judgments that count in agreement, adjudication and datasets.

        Left out: judgments of qualification items, those of annotators a lead excluded (kept, never deleted), and
        those of soft-deleted campaigns (Campaign.objects leaves those out).
        """
        excluded = CampaignMember.objects.filter(campaign_id=models.OuterRef("campaign_id"),
                                                 user_id=models.OuterRef("annotator_id"), excluded=True)
        live = Campaign.objects.filter(pk=models.OuterRef("campaign_id"))
        return self.filter(item__is_qualification=False).exclude(models.Exists(excluded)).filter(models.Exists(live))


class Judgment(models.Model):
    """One preference on one attribute (or overall) for one assignment; undo retracts it, never deletes it."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="judgments")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="judgments")
    item = models.ForeignKey(ComparisonItem, on_delete=models.CASCADE, related_name="judgments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgments")
    attribute = models.CharField(max_length=32)
    choice = models.CharField(max_length=8, choices=Choice.choices)
    side = models.CharField(max_length=8, choices=Side.choices, default=Side.NONE)
    strength = models.CharField(max_length=8, choices=Strength.choices, blank=True)
    reasons = models.JSONField(default=list, blank=True, help_text="UnacceptableReason codes.")
    rationale = models.TextField(blank=True)
    time_ms = models.PositiveIntegerField(null=True, blank=True, help_text="From item shown to this judgment's pick.")
    created_at = models.DateTimeField(auto_now_add=True)
    retracted_at = models.DateTimeField(null=True, blank=True)

    objects = JudgmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "attribute"], condition=Q(retracted_at__isnull=True), name="judgment_once_live"
            ),
        ]
        indexes = [
            # dashboard: a campaign's live judgments, by attribute
            models.Index(
                fields=["campaign", "attribute"], condition=Q(retracted_at__isnull=True), name="judgment_live_idx"
            ),
            # adjudication: the live judgments of one item
            models.Index(fields=["item", "attribute"], name="judgment_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.choice}"


class Adjudication(models.Model):
    """A reviewer's resolution of a disagreement; kept beside the raw judgments, which stay untouched."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="adjudications")
    item = models.ForeignKey(ComparisonItem, on_delete=models.CASCADE, related_name="adjudications")
    attribute = models.CharField(max_length=32)
    choice = models.CharField(max_length=8, choices=Choice.choices)
    note = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # queue: which (item, attribute) already has a resolution; history of one item newest first
            models.Index(fields=["campaign", "item", "attribute", "created_at"], name="adjudication_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.attribute}: {self.choice}"


class QualitySnapshot(models.Model):
    """The dashboard's numbers for a campaign (and attribute), computed for one version of its judgments.

    Shared by the web processes and the worker: a large campaign's dashboard shows the latest snapshot at once
    while a background job computes the next one.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="quality_snapshots")
    attribute = models.CharField(max_length=32, blank=True, help_text="Empty: all attributes.")
    version = models.CharField(max_length=100, help_text="Fingerprint of the judgments it was computed from.")
    n_boot = models.PositiveIntegerField()
    judgments = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    computed_at = models.DateTimeField(auto_now=True)
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "attribute", "n_boot"], name="quality_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.attribute or 'all'} @ {self.version}"


# --- Gold labels for the interactive diagnostic task (MediQ-AskDocs) ---------------------------------------------

LETTERS = ("A", "B", "C", "D")


class GoldStatus(models.TextChoices):
    DRAFT = "draft", "In progress"
    SIGNED_OFF = "signed_off", "Signed off"


class RevisionKind(models.TextChoices):
    CREATED = "created", "Created from the published case"
    EDIT = "edit", "Edited"
    IMPLIED = "implied", "Marked options implied / not implied"
    FACTS = "facts", "Curated atomic facts"
    INITIAL_INFO = "initial_info", "Wrote the chief complaint"
    REBALANCE = "rebalance", "Reordered options"
    SIGN_OFF = "sign_off", "Signed off"
    REOPEN = "reopen", "Reopened"


class GoldLabel(models.Model):
    """The curated version of one MCQ; the corpus case keeps the published values, this row the gold ones."""

    case = models.OneToOneField("corpus.MultipleChoiceCase", on_delete=models.CASCADE, related_name="gold")
    status = models.CharField(max_length=16, choices=GoldStatus.choices, default=GoldStatus.DRAFT)
    stem = models.TextField()
    options = models.JSONField(help_text='{"A": text, ..., "D": text}')
    answer_idx = models.CharField(max_length=1)
    option_implied = models.JSONField(default=dict, blank=True, help_text='{"A": true|false} after the key is seen.')
    atomic_facts = models.JSONField(default=list, blank=True)
    initial_info = models.TextField(blank=True)
    initial_info_reviewed = models.BooleanField(default=False, help_text="A physician wrote or confirmed it.")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case__case_id"]
        indexes = [models.Index(fields=["status"], name="gold_status_idx")]  # list and release: signed-off items

    def __str__(self) -> str:
        return f"gold {self.case.case_id} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("annotation:gold-label", args=[self.pk])

    @property
    def answer(self) -> str:
        return self.options.get(self.answer_idx, "")

    def snapshot(self) -> dict[str, Any]:
        """Return the editable state, as stored in revisions."""
        return {
            "stem": self.stem, "options": dict(self.options), "answer_idx": self.answer_idx,
            "option_implied": dict(self.option_implied), "atomic_facts": list(self.atomic_facts),
            "initial_info": self.initial_info, "initial_info_reviewed": self.initial_info_reviewed,
            "status": self.status,
        }


class GoldRevision(models.Model):
    """One versioned change to a gold label: who, when, what changed (old and new values)."""

    gold = models.ForeignKey(GoldLabel, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=RevisionKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict, help_text='{"field": [old, new]}')
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["gold", "version"]
        constraints = [models.UniqueConstraint(fields=["gold", "version"], name="gold_revision_unique_version")]

    def __str__(self) -> str:
        return f"{self.gold_id} v{self.version} {self.kind}"


class BlindAnswer(models.Model):
    """A physician's answer before seeing the key; the option text is kept because rebalancing moves letters."""

    gold = models.ForeignKey(GoldLabel, on_delete=models.CASCADE, related_name="blind_answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blind_answers")
    letter = models.CharField(max_length=1)
    option_text = models.TextField()
    is_correct = models.BooleanField()
    gold_version = models.PositiveIntegerField()
    time_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gold", "user"], name="blind_answer_once")]

    def __str__(self) -> str:
        return f"{self.user} answered {self.letter}"


class BenchmarkRelease(models.Model):
    """A named, immutable version of the signed-off gold items."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    item_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, help_text="Hash of the exported JSONL.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A benchmark release is immutable.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("annotation:release", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("A benchmark release is immutable.")


class ReleaseItem(models.Model):
    """One frozen MediQ record of a release."""

    release = models.ForeignKey(BenchmarkRelease, on_delete=models.PROTECT, related_name="items")
    case_id = models.CharField(max_length=64)
    gold_version = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    record = models.JSONField()

    class Meta:
        ordering = ["release", "position"]
        constraints = [models.UniqueConstraint(fields=["release", "case_id"], name="release_item_unique")]

    def __str__(self) -> str:
        return f"{self.release} {self.case_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A release item is immutable.")
        super().save(*args, **kwargs)
