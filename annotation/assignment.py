"""The assignment life cycle: serve the next item, submit, skip, undo, and expire abandoned assignments.

Correctness under concurrency rests on three things: the annotator's CampaignMember row is locked first (one
annotator's requests run one at a time), candidate items are locked with SELECT ... FOR UPDATE SKIP LOCKED (two
annotators never take the same row at once), and the overlap counter only moves through a conditional UPDATE
(`active_count < overlap`), backed by a unique (item, annotator) constraint. On SQLite, writers are serialised
by the database (IMMEDIATE transactions), so the same code is correct there too.
"""

from datetime import timedelta

from alfa_platform.roles import Role, has_role
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import (
    Assignment,
    AssignmentStatus,
    CampaignMember,
    Choice,
    ComparisonItem,
    Judgment,
    Side,
    SkipReason,
    Strength,
    UnacceptableReason,
)


class AssignmentError(Exception):
    """A request the assignment's or campaign's state does not allow."""


class NotEligible(AssignmentError):
    """The user may not annotate this campaign."""


class Conflict(AssignmentError):
    """The assignment changed under the request (already submitted, skipped, expired or undone)."""


def may_annotate(campaign, user):
    """Return whether the user may take items in this campaign (invited member, or any annotator if open)."""
    if not has_role(user, Role.ANNOTATOR):
        return False
    if campaign.open_to_all:
        return True
    return CampaignMember.objects.filter(campaign=campaign, user=user, invited=True).exists()


def lock_member(campaign, user):
    """Return the user's member row, locked for this transaction (created on first use of an open campaign).

    Raises NotEligible for users who may not annotate the campaign. One query in the common case: this runs on
    every "next item" and undo request.
    """
    if not has_role(user, Role.ANNOTATOR):
        raise NotEligible("You are not an annotator of this campaign.")
    member = CampaignMember.objects.select_for_update().filter(campaign=campaign, user=user).first()
    if member is not None and (member.invited or campaign.open_to_all):
        return member
    if member is None and campaign.open_to_all:
        CampaignMember.objects.get_or_create(campaign=campaign, user=user, defaults={"invited": False})
        return CampaignMember.objects.select_for_update().get(campaign=campaign, user=user)
    raise NotEligible("You are not an annotator of this campaign.")


def open_assignments(campaign, user):
    """Return the user's open assignments, a reopened (undone) one first."""
    return (
        Assignment.objects.filter(campaign=campaign, annotator=user, status=AssignmentStatus.ASSIGNED)
        .select_related("item", "campaign")
        .order_by(F("reopened_at").desc(nulls_last=True), "served_at", "pk")
    )


def _wants_gold(campaign, member):
    # Interleave gold items at the campaign's rate: the k-th gold item comes after about k / rate items.
    return campaign.gold_rate > 0 and member.gold_served_count < int(campaign.gold_rate * (member.served_count + 1))


def _lock_candidate(campaign, user, gold):
    """Lock and return the least-annotated item of the pool the user has never been served, or None.

    Hand-written because it runs on every "next item" and compiling the ORM form (an anti-join and an ordering)
    cost more than executing it. SKIP LOCKED: concurrent annotators each take a different row instead of
    queueing on the same one; databases without row locks (SQLite) serialise writers instead.
    """
    items, assignments = ComparisonItem._meta.db_table, Assignment._meta.db_table
    below_overlap = "" if gold else "AND i.active_count < %s "
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    query = (
        f"SELECT i.* FROM {items} i WHERE i.campaign_id = %s AND i.is_gold = %s {below_overlap}"  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {assignments} a WHERE a.item_id = i.id AND a.annotator_id = %s) "
        f"ORDER BY i.active_count, i.id LIMIT 1{lock}"
    )
    params = [campaign.pk, gold, *([] if gold else [campaign.overlap]), user.pk]
    return next(iter(ComparisonItem.objects.raw(query, params)), None)


def _take(item, campaign):
    """Move the item's counter; False if it reached its overlap meanwhile (the conditional UPDATE decides)."""
    items = ComparisonItem.objects.filter(pk=item.pk)
    if not item.is_gold:
        items = items.filter(active_count__lt=campaign.overlap)
    return items.update(active_count=F("active_count") + 1) == 1


def _pick_item(campaign, user, member):
    pools = [True, False] if _wants_gold(campaign, member) else [False]
    for gold in pools:
        for _attempt in range(3):
            item = _lock_candidate(campaign, user, gold)
            if item is None:
                break
            if _take(item, campaign):
                return item
    return None


def _quota_reached(campaign, member, open_count):
    quota = campaign.items_per_annotator
    return quota is not None and member.done_count + open_count >= quota


def do_assign_next_item(campaign, user):
    """Return the user's current assignment, or serve the least-annotated eligible item; None when done.

    The returned assignment carries `member` (the annotator's counters, for progress) and its item and campaign.
    """
    if not campaign.is_serving:
        raise AssignmentError("This campaign is not active.")
    with transaction.atomic():
        return _assign_next(campaign, user)


def _assign_next(campaign, user):
    """The body of do_assign_next_item; the caller holds the transaction."""
    member = lock_member(campaign, user)
    current = open_assignments(campaign, user).first()
    if current is not None:
        current.member = member
        return current
    if _quota_reached(campaign, member, 0):
        return None
    item = _pick_item(campaign, user, member)
    if item is None:
        return None
    item.campaign = campaign
    assignment = Assignment.objects.create(
        campaign=campaign, item=item, annotator=user, is_gold=item.is_gold, left_is_a=item.left_is_a_for(user.pk),
    )
    CampaignMember.objects.filter(pk=member.pk).update(
        served_count=F("served_count") + 1, gold_served_count=F("gold_served_count") + int(item.is_gold)
    )
    assignment.member = member
    return assignment


# --- Submitting ----------------------------------------------------------------------------------------------------


def canonical_choice(pick, left_is_a):
    """Map what was clicked (left/right/tie/both_bad) to the canonical choice and the screen side."""
    if pick == "left":
        return (Choice.A if left_is_a else Choice.B), Side.LEFT
    if pick == "right":
        return (Choice.B if left_is_a else Choice.A), Side.RIGHT
    if pick in (Choice.TIE, Choice.BOTH_BAD):
        return Choice(pick), Side.NONE
    raise AssignmentError(f"Unknown pick {pick!r}.")


def screen_pick(choice, left_is_a):
    """Return the on-screen pick for a canonical choice (the inverse of canonical_choice)."""
    if choice == Choice.A:
        return "left" if left_is_a else "right"
    if choice == Choice.B:
        return "right" if left_is_a else "left"
    return choice


def _clean_judgment(entry, key):
    reasons = list(dict.fromkeys(entry.get("reasons") or []))
    strength = entry.get("strength") or Strength.NONE
    if entry["pick"] == Choice.BOTH_BAD:
        if not reasons:
            raise AssignmentError(f"{key}: give at least one reason why both are unacceptable.")
        strength = Strength.NONE
    elif reasons:
        raise AssignmentError(f"{key}: reasons are only for 'both unacceptable'.")
    if entry["pick"] == Choice.TIE:
        strength = Strength.NONE
    if strength not in Strength.values or any(reason not in UnacceptableReason.values for reason in reasons):
        raise AssignmentError(f"{key}: unknown strength or reason.")
    return strength, reasons


def build_judgments(assignment, entries):
    """Validate the page's entries against the keys asked for this item and return unsaved Judgment rows."""
    keys = assignment.campaign.judgment_keys_for(assignment.item.attribute)
    by_key = {entry["attribute"]: entry for entry in entries}
    if set(by_key) != set(keys) or len(entries) != len(keys):
        raise AssignmentError(f"Expected one judgment for each of: {', '.join(keys)}.")
    rows = []
    for key in keys:
        entry = by_key[key]
        choice, side = canonical_choice(entry["pick"], assignment.left_is_a)
        strength, reasons = _clean_judgment(entry, key)
        rows.append(Judgment(
            assignment=assignment, campaign_id=assignment.campaign_id, item_id=assignment.item_id,
            annotator_id=assignment.annotator_id, attribute=key, choice=choice, side=side, strength=strength,
            reasons=reasons, rationale=(entry.get("rationale") or "").strip(), time_ms=entry.get("time_ms"),
        ))
    return rows


def do_submit_assignment(assignment, entries, duration_ms=None):
    """Store the judgments of an open assignment; a second submit of the same assignment is a Conflict."""
    rows = build_judgments(assignment, entries)
    with transaction.atomic():
        _submit(assignment, rows, duration_ms)
    return rows


def do_submit_and_assign_next(assignment, entries, duration_ms=None):
    """Submit and serve the next item in one transaction: the page's Enter, with one commit per judgment."""
    rows = build_judgments(assignment, entries)
    with transaction.atomic():
        _submit(assignment, rows, duration_ms)
        if not assignment.campaign.is_serving:
            return None
        return _assign_next(assignment.campaign, assignment.annotator)


def _submit(assignment, rows, duration_ms):
    """The body of do_submit_assignment; the caller holds the transaction."""
    now = timezone.now()
    claimed = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.ASSIGNED).update(
        status=AssignmentStatus.SUBMITTED, submitted_at=now, duration_ms=duration_ms
    )
    if not claimed:
        raise Conflict("This item was already submitted, skipped or expired.")
    Judgment.objects.bulk_create(rows)
    ComparisonItem.objects.filter(pk=assignment.item_id).update(submitted_count=F("submitted_count") + 1)
    CampaignMember.objects.filter(campaign_id=assignment.campaign_id, user_id=assignment.annotator_id).update(
        done_count=F("done_count") + 1
    )
    assignment.status, assignment.submitted_at, assignment.duration_ms = AssignmentStatus.SUBMITTED, now, duration_ms


def do_skip_assignment(assignment, reason, note=""):
    """Give the item back to the pool (another annotator will take it); this annotator never sees it again."""
    if reason not in SkipReason.values:
        raise AssignmentError("Choose a reason for skipping.")
    with transaction.atomic():
        claimed = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.ASSIGNED).update(
            status=AssignmentStatus.SKIPPED, skip_reason=reason, skip_note=note.strip()
        )
        if not claimed:
            raise Conflict("This item was already submitted, skipped or expired.")
        ComparisonItem.objects.filter(pk=assignment.item_id).update(active_count=F("active_count") - 1)
        CampaignMember.objects.filter(campaign_id=assignment.campaign_id, user_id=assignment.annotator_id).update(
            skipped_count=F("skipped_count") + 1
        )
    assignment.status = AssignmentStatus.SKIPPED


def do_undo_last_submission(campaign, user):
    """Reopen the user's latest submission in the campaign; its judgments are retracted (kept, not deleted)."""
    with transaction.atomic():
        lock_member(campaign, user)
        last = (
            Assignment.objects.filter(campaign=campaign, annotator=user, status=AssignmentStatus.SUBMITTED)
            .order_by("-submitted_at", "-pk").first()
        )
        if last is None:
            raise AssignmentError("There is nothing to undo.")
        now = timezone.now()
        Assignment.objects.filter(pk=last.pk).update(
            status=AssignmentStatus.ASSIGNED, submitted_at=None, reopened_at=now, duration_ms=None
        )
        Judgment.objects.filter(assignment=last, retracted_at__isnull=True).update(retracted_at=now)
        ComparisonItem.objects.filter(pk=last.item_id).update(submitted_count=F("submitted_count") - 1)
        CampaignMember.objects.filter(campaign=campaign, user=user).update(done_count=F("done_count") - 1)
    return Assignment.objects.select_related("item", "campaign").get(pk=last.pk)


def previous_picks(assignment):
    """Return {attribute: judgment dict} of the judgments an undo retracted, to prefill the reopened item."""
    if assignment.reopened_at is None:
        return {}
    retracted = Judgment.objects.filter(assignment=assignment, retracted_at=assignment.reopened_at)
    return {
        row.attribute: {
            "pick": screen_pick(row.choice, assignment.left_is_a), "strength": row.strength,
            "reasons": row.reasons, "rationale": row.rationale,
        }
        for row in retracted
    }


def do_expire_stale_assignments(older_than=timedelta(hours=12), campaign=None):
    """Return abandoned open assignments to the pool; return how many were expired."""
    cutoff = timezone.now() - older_than
    stale = Assignment.objects.filter(status=AssignmentStatus.ASSIGNED, served_at__lt=cutoff)
    stale = stale.exclude(reopened_at__gte=cutoff)
    if campaign is not None:
        stale = stale.filter(campaign=campaign)
    expired = 0
    for pk, item_id in stale.values_list("pk", "item_id").iterator():
        with transaction.atomic():
            if Assignment.objects.filter(pk=pk, status=AssignmentStatus.ASSIGNED).update(
                status=AssignmentStatus.EXPIRED
            ):
                ComparisonItem.objects.filter(pk=item_id).update(active_count=F("active_count") - 1)
                expired += 1
    return expired
