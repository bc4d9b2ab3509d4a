"""The assignment life cycle: serve the next item, submit, skip, undo, and expire abandoned assignments.

Correctness under concurrency rests on three things: the annotator's CampaignMember row is locked first (one
annotator's requests run one at a time), candidate items are locked with SELECT ... FOR UPDATE SKIP LOCKED (two
annotators never take the same row at once), and the overlap counter only moves through a conditional UPDATE
(`active_count < overlap`), backed by a unique (item, annotator) constraint. On SQLite, writers are serialised
by the database (IMMEDIATE transactions), so the same code is correct there too.
"""

import json
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from alfa_platform.roles import Role, has_role

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
    if _fast_sql() and not _quota_reached(campaign, member, 0):
        return _assign_next_fast(campaign, user, member)
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


def _fast_sql():
    """Whether the hot path may use PostgreSQL's data-modifying CTEs (one round trip instead of four or five)."""
    return connection.vendor == "postgresql"


def _claim_sql(gold):
    """One statement: the user's open assignment if any, else lock, take and return the best candidate item.

    Runs after lock_member, so it sees (with a fresh snapshot) whatever the annotator's previous request
    committed. The candidate row is locked with SKIP LOCKED; PostgreSQL re-checks `active_count < overlap` on
    the row's latest version when it locks it, and the conditional UPDATE re-checks it once more.
    """
    items, assignments = ComparisonItem._meta.db_table, Assignment._meta.db_table
    below_overlap = "" if gold else "AND i.active_count < %(overlap)s "
    take_below = "" if gold else "AND u.active_count < %(overlap)s "
    return (
        f"WITH cur AS (SELECT a.id FROM {assignments} a WHERE a.annotator_id = %(user)s "  # noqa: S608
        f"AND a.campaign_id = %(campaign)s AND a.status = 'assigned' "
        f"ORDER BY a.reopened_at DESC NULLS LAST, a.served_at, a.id LIMIT 1), "
        f"cand AS (SELECT i.id FROM {items} i WHERE NOT EXISTS (SELECT 1 FROM cur) "
        f"AND i.campaign_id = %(campaign)s AND i.is_gold = %(gold)s {below_overlap}"
        f"AND NOT EXISTS (SELECT 1 FROM {assignments} x WHERE x.item_id = i.id AND x.annotator_id = %(user)s) "
        f"ORDER BY i.active_count, i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED), "
        f"taken AS (UPDATE {items} u SET active_count = u.active_count + 1 FROM cand WHERE u.id = cand.id "
        f"{take_below}RETURNING u.*) "
        f"SELECT taken.*, NULL::bigint AS current_id FROM taken "
        f"UNION ALL SELECT i.*, cur.id FROM cur LEFT JOIN {items} i ON false"
    )


def _assign_next_fast(campaign, user, member):
    """_assign_next on PostgreSQL: two statements after the member lock (claim an item, insert the assignment)."""
    pools = [True, False] if _wants_gold(campaign, member) else [False]
    item = None
    for gold in pools:
        for _attempt in range(3):
            params = {"user": user.pk, "campaign": campaign.pk, "gold": gold, "overlap": campaign.overlap}
            row = next(iter(ComparisonItem.objects.raw(_claim_sql(gold), params)), None)
            if row is None:
                break  # nothing left in this pool
            if row.current_id is not None:  # the annotator already has an open item: serve it again
                current = open_assignments(campaign, user).first()
                current.member = member
                return current
            item = row
            break
        if item is not None:
            break
    if item is None:
        return None
    item.campaign = campaign
    with connection.cursor() as cursor:
        left_is_a = item.left_is_a_for(user.pk)
        now = timezone.now()
        cursor.execute(
            f"WITH bumped AS (UPDATE {CampaignMember._meta.db_table} SET served_count = served_count + 1, "  # noqa: S608
            f"gold_served_count = gold_served_count + %s WHERE id = %s) "
            f"INSERT INTO {Assignment._meta.db_table} (campaign_id, item_id, annotator_id, status, left_is_a, "
            f"is_gold, served_at, skip_reason, skip_note) VALUES (%s, %s, %s, 'assigned', %s, %s, %s, '', '') "
            f"RETURNING id",
            [int(item.is_gold), member.pk, campaign.pk, item.pk, user.pk, left_is_a, item.is_gold, now],
        )
        assignment_id = cursor.fetchone()[0]
    assignment = Assignment(
        id=assignment_id, campaign=campaign, item=item, annotator=user, status=AssignmentStatus.ASSIGNED,
        left_is_a=left_is_a, is_gold=item.is_gold, served_at=now,
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
    if _fast_sql():
        return _submit_fast(assignment, rows, duration_ms, now)
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


def _submit_fast(assignment, rows, duration_ms, now):
    """_submit on PostgreSQL in one statement: claim the assignment, store the judgments, move both counters.

    Every part is conditional on the claim (the UPDATE of an assignment still open), so a second submit of the
    same assignment changes nothing and is reported as a Conflict. Sets `assignment.done_count` and
    `assignment.skipped_count`: the annotator's counters after the submission, for the progress shown.
    """
    values = ", ".join(["(%s, %s, %s, %s, %s::jsonb, %s, %s::integer)"] * len(rows))
    params = [now, duration_ms, assignment.pk, now]
    for row in rows:
        params += [str(row.attribute), str(row.choice), str(row.side), str(row.strength), json.dumps(row.reasons),
                   row.rationale, row.time_ms]
    params += [assignment.campaign_id, assignment.annotator_id]
    judgments, items = Judgment._meta.db_table, ComparisonItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH claimed AS (UPDATE {Assignment._meta.db_table} SET status = 'submitted', submitted_at = %s, "  # noqa: S608
            f"duration_ms = %s WHERE id = %s AND status = 'assigned' "
            f"RETURNING id, campaign_id, item_id, annotator_id), "
            f"judged AS (INSERT INTO {judgments} (assignment_id, campaign_id, item_id, annotator_id, attribute, "
            f"choice, side, strength, reasons, rationale, time_ms, created_at) SELECT c.id, c.campaign_id, c.item_id, "
            f"c.annotator_id, v.attribute, v.choice, v.side, v.strength, v.reasons, v.rationale, v.time_ms, %s "
            f"FROM claimed c CROSS JOIN (VALUES {values}) AS v(attribute, choice, side, strength, reasons, "
            f"rationale, time_ms) RETURNING 1), "
            f"counted AS (UPDATE {items} SET submitted_count = submitted_count + 1 "
            f"WHERE id IN (SELECT item_id FROM claimed)), "
            f"done AS (UPDATE {CampaignMember._meta.db_table} SET done_count = done_count + 1 "
            f"WHERE campaign_id = %s AND user_id = %s AND EXISTS (SELECT 1 FROM claimed) "
            f"RETURNING done_count, skipped_count) "
            f"SELECT (SELECT count(*) FROM claimed), done.done_count, done.skipped_count FROM (SELECT 1) one "
            f"LEFT JOIN done ON true",
            params,
        )
        claimed, done_count, skipped_count = cursor.fetchone()
    if not claimed:
        raise Conflict("This item was already submitted, skipped or expired.")
    assignment.status, assignment.submitted_at, assignment.duration_ms = AssignmentStatus.SUBMITTED, now, duration_ms
    assignment.done_count, assignment.skipped_count = done_count, skipped_count


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
