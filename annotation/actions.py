"""State changes of campaigns: create, import items, members, status, and adjudication of disagreements."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from alfa_platform.roles import Role, has_role
from audit.recording import record_event
from corpus.models import Question

from .assignment import do_expire_open_assignments, needs_qualification
from .attributes import attribute_keys
from .imports import ParsedItems, RowError, parse_items
from .models import (
    Adjudication,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Choice,
    ComparisonItem,
    Judgment,
    QualificationStatus,
)

COMPARED_FIELDS = ("post_title", "post_body", "turns", "question_a", "question_b", "attribute", "source_a", "source_b")


class CampaignError(Exception):
    """A request about a campaign that its state or input does not allow."""


class ImportRejected(CampaignError):
    """The file had invalid rows; nothing was written. `errors` lists them with line numbers."""

    def __init__(self, errors: list[RowError], error_count: int) -> None:
        super().__init__(f"{error_count} invalid row(s); nothing was imported.")
        self.errors = errors
        self.error_count = error_count


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    gold: int = 0
    qualification: int = 0
    errors: list = field(default_factory=list)


def _check_settings(judgment_mode: str, keys: Iterable[str], overlap: int, gold_rate: float) -> None:
    unknown = set(keys) - set(attribute_keys())
    if unknown:
        raise CampaignError(f"Unknown attributes: {', '.join(sorted(unknown))}.")
    if not 1 <= overlap <= 50:
        raise CampaignError("Overlap must be between 1 and 50 annotators per item.")
    if not 0 <= gold_rate <= 0.5:
        raise CampaignError("The gold rate must be between 0 and 0.5.")


SHARES = {"qualification_pass_mark": "The qualification pass mark", "gold_alert_accuracy": "The gold accuracy alert"}


def _check_quality_settings(settings: Mapping[str, Any]) -> None:
    for key, label in SHARES.items():
        if key in settings and not 0 <= settings[key] <= 1:
            raise CampaignError(f"{label} must be a share between 0 and 1.")
    if "qualification_items" in settings and not 1 <= settings["qualification_items"] <= 200:
        raise CampaignError("A qualification round has between 1 and 200 items.")


def do_create_campaign(name: str, created_by: User | None, annotators: Iterable[User] = (), **settings: Any
                       ) -> Campaign:
    """Create a campaign (in draft) and invite its annotators."""
    _check_settings(
        settings.get("judgment_mode", ""), settings.get("attribute_keys", []),
        settings.get("overlap", 3), settings.get("gold_rate", 0.1),
    )
    _check_quality_settings(settings)
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, created_by=created_by, **settings)
        do_set_members(campaign, annotators)
    return campaign


def do_update_campaign(campaign: Campaign, annotators: Iterable[User] | None = None, **changes: Any) -> Campaign:
    """Change a campaign's settings and, when given, who annotates it: everything, or on any error nothing."""
    merged = {key: changes.get(key, getattr(campaign, key)) for key in ("judgment_mode", "attribute_keys",
                                                                      "overlap", "gold_rate")}
    _check_settings(merged["judgment_mode"], merged["attribute_keys"], merged["overlap"], merged["gold_rate"])
    _check_quality_settings(changes)
    if annotators is not None:
        annotators = _check_members(annotators)
    with transaction.atomic():
        for key, value in changes.items():
            setattr(campaign, key, value)
        campaign.save(update_fields=list(changes))
        if annotators is not None:
            do_set_members(campaign, annotators)
    return campaign


def _check_members(users: Iterable[User]) -> list[User]:
    users = list(users)
    refused = [user.username for user in users if not has_role(user, Role.ANNOTATOR)]
    if refused:
        raise CampaignError(f"Not annotators: {', '.join(refused)}.")
    return users


def do_set_members(campaign: Campaign, users: Iterable[User]) -> None:
    """Invite exactly these users (annotator role or above); members who left keep their work.

    A removed annotator's open items go back to the pool at once (they can no longer submit them), unless the
    campaign is open to all, where they may still annotate.
    """
    users = _check_members(users)
    with transaction.atomic():
        before = sorted(CampaignMember.objects.filter(campaign=campaign, invited=True)
                        .values_list("user__username", flat=True))
        leaving = CampaignMember.objects.filter(campaign=campaign, invited=True).exclude(user__in=users)
        removed = list(leaving.values_list("user_id", flat=True))
        CampaignMember.objects.filter(campaign=campaign).exclude(user__in=users).update(invited=False)
        for user in users:
            CampaignMember.objects.update_or_create(campaign=campaign, user=user, defaults={"invited": True})
        if removed and not campaign.open_to_all:
            do_expire_open_assignments(campaign, removed)
        after = sorted(user.username for user in users)
        if before != after:
            record_event(campaign, "campaign.members", before={"annotators": before}, after={"annotators": after})


def do_set_campaign_status(campaign: Campaign, status: str) -> Campaign:
    if status not in CampaignStatus.values:
        raise CampaignError(f"Unknown status {status!r}.")
    if status == CampaignStatus.ACTIVE and not campaign.items.exists():
        raise CampaignError("Add items before starting the campaign.")
    campaign.status = status
    campaign.save(update_fields=["status"])
    return campaign


def _link_questions(items: list[dict[str, Any]]) -> None:
    qids = {item["meta"]["qid"] for item in items if item["meta"].get("qid")}
    found = dict(Question.objects.filter(qid__in=qids).values_list("qid", "pk")) if qids else {}
    for item in items:
        item["question_id"] = found.get(item["meta"].get("qid"))


def _split_existing(campaign: Campaign, items: list[dict[str, Any]], parsed: ParsedItems
                    ) -> tuple[list[dict[str, Any]], int]:
    """Drop rows already in the campaign with the same content; flag an id reused with other content."""
    ids = [item["external_id"] for item in items if item["external_id"]]
    existing = {
        row["external_id"]: row
        for row in ComparisonItem.objects.filter(campaign=campaign, external_id__in=ids).values(
            "external_id", *COMPARED_FIELDS
        )
    }
    new, unchanged = [], 0
    for item in items:
        old = existing.get(item["external_id"])
        if old is None:
            new.append(item)
        elif all(old[name] == item[name] for name in COMPARED_FIELDS):
            unchanged += 1
        else:
            parsed.add_error(item["position"], "id", f"id {item['external_id']!r} is already in this campaign "
                                                     "with different content")
    return new, unchanged


def do_import_items(campaign: Campaign, data: bytes) -> ImportReport:
    """Import comparison items from JSONL bytes into the campaign, all or nothing; return an ImportReport."""
    parsed = parse_items(data)
    new, unchanged = _split_existing(campaign, parsed.items, parsed) if not parsed.error_count else ([], 0)
    if parsed.error_count:
        raise ImportRejected(parsed.errors, parsed.error_count)
    _link_questions(new)
    item_count_before = campaign.item_count
    with transaction.atomic():
        ComparisonItem.objects.bulk_create([ComparisonItem(campaign=campaign, **item) for item in new],
                                           batch_size=2000)
        selection = dict(campaign.selection)
        selection["files"] = [*selection.get("files", []), {"rows": len(new) + unchanged, "created": len(new)}]
        campaign.selection = selection
        campaign.item_count = campaign.items.filter(is_qualification=False).count()
        campaign.save(update_fields=["selection", "item_count"])
        record_event(campaign, "campaign.import", before={"item_count": item_count_before},
                     after={"item_count": campaign.item_count}, details=selection["files"][-1])
    return ImportReport(created=len(new), unchanged=unchanged, gold=sum(item["is_gold"] for item in new),
                        qualification=sum(item["is_qualification"] for item in new))


# --- Annotators' standing -------------------------------------------------------------------------------------------


def do_change_member(campaign: Campaign, member: CampaignMember, paused: bool | None = None,
                     excluded: bool | None = None, retry_qualification: bool = False) -> CampaignMember:
    """Pause or resume an annotator, exclude or include their judgments, or allow a new qualification round.

    Pausing returns their open items to the pool. Excluding never deletes anything: agreement, adjudication and
    datasets leave the judgments out (Judgment.objects.counted) while the switch is on.
    """
    with transaction.atomic():
        member = CampaignMember.objects.select_for_update().get(pk=member.pk)
        if retry_qualification:
            if not (campaign.qualification_required and member.qualification_status == QualificationStatus.FAILED):
                raise CampaignError("A retry is for an annotator who did not pass this campaign's qualification round.")
            member.qualification_status = QualificationStatus.PENDING
            member.qualification_round += 1
            member.qualification_seen = member.qualification_correct = 0
        if paused is not None:
            member.paused = paused
        if excluded is not None:
            member.excluded = excluded
        member.save(update_fields=["qualification_status", "qualification_round", "qualification_seen",
                                   "qualification_correct", "paused", "excluded"])
        if paused:
            do_expire_open_assignments(campaign, [member.user_id])
    return member


def member_standing(campaign: Campaign, member: CampaignMember) -> str:
    """A short phrase for the lead: qualification, paused, excluded."""
    words = []
    if needs_qualification(campaign, member):
        words.append(QualificationStatus(member.qualification_status).label.lower())
    elif campaign.qualification_required:
        words.append("qualified")
    if member.paused:
        words.append("paused")
    if member.excluded:
        words.append("excluded from results")
    return ", ".join(words)


# --- Adjudication ---------------------------------------------------------------------------------------------------


def do_adjudicate(item: ComparisonItem, attribute: str, choice: str, note: str, author: User) -> Adjudication:
    """Record a reviewer's resolution of one item's attribute; the raw judgments are left exactly as they are."""
    if not has_role(author, Role.REVIEWER):
        raise CampaignError("Only reviewers adjudicate.")
    if choice not in Choice.values:
        raise CampaignError(f"Unknown choice {choice!r}.")
    if not note.strip():
        raise CampaignError("Write a note explaining the resolution.")
    if not Judgment.objects.filter(item=item, attribute=attribute, retracted_at__isnull=True).exists():
        raise CampaignError("This item has no judgments on that attribute.")
    return Adjudication.objects.create(
        campaign_id=item.campaign_id, item=item, attribute=attribute, choice=choice, note=note.strip(), author=author
    )


def annotator_users() -> QuerySet[User]:
    """Return the users who may be invited to campaigns (any role)."""
    return get_user_model().objects.filter(groups__isnull=False).distinct().order_by("username")
