"""The assignment life cycle: serve the next item, submit, skip, undo, and expire abandoned assignments.

Correctness under concurrency rests on three things: the annotator's CampaignMember row is locked first (one
annotator's requests run one at a time), candidate items are locked with SELECT ... FOR UPDATE SKIP LOCKED (two
annotators never take the same row at once), and the overlap counter only moves through a conditional UPDATE
(`active_count < overlap`), backed by a unique (item, annotator) constraint. On SQLite, writers are serialised
by the database (IMMEDIATE transactions), so the same code is correct there too.

Each operation is written once, in AssignmentStore; annotation.sql.postgresql replaces a few of its statements
with PostgreSQL's (one prepared statement per request instead of four or five), and nothing else.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from alfa_platform.backends import backend
from alfa_platform.roles import Role, has_role
from audit.recording import record_event, record_submission, submission_repr

from .attributes import OVERALL
from .models import (
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Choice,
    ComparisonItem,
    Judgment,
    QualificationStatus,
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


class NotServing(Conflict):
    """The campaign is paused or closed: it takes no work (next, submit, skip, undo) until a lead reopens it."""


class Removed(Conflict):
    """The annotator was removed from the campaign: their own work there is refused, not hidden."""


class MemberPaused(Conflict):
    """A lead paused this annotator in the campaign: no items, submits, skips or undos until resumed."""


class NotQualified(Conflict):
    """The campaign requires qualification and this annotator cannot be served a real item (`state` says why)."""

    def __init__(self, message: str, state: dict[str, Any]) -> None:
        super().__init__(message)
        self.state = state


STATE_WORDS: dict[str, str] = {CampaignStatus.DRAFT: "not open yet", CampaignStatus.PAUSED: "paused",
               CampaignStatus.CLOSED: "closed"}


def not_serving(campaign: Campaign) -> NotServing:
    return NotServing(f"This campaign is {STATE_WORDS[campaign.status]}: it takes no judgments, skips or undos "
                      "until a lead reopens it.")


def check_serving(campaign: Campaign) -> None:
    """Raise unless the campaign takes work: NotEligible for a draft (which annotators never see), else NotServing."""
    if campaign.status == CampaignStatus.ACTIVE:
        return
    if campaign.status == CampaignStatus.DRAFT:
        raise NotEligible("No such campaign.")
    raise not_serving(campaign)


def may_annotate(campaign: Campaign, user: User) -> bool:
    """Return whether the user may take items in this campaign (invited member, or any annotator if open)."""
    if not has_role(user, Role.ANNOTATOR):
        return False
    if campaign.open_to_all:
        return True
    return CampaignMember.objects.filter(campaign=campaign, user=user, invited=True).exists()


REMOVED = "You are no longer an annotator of this campaign."
PAUSED = "A lead has paused your work in this campaign: it takes no judgments, skips or undos from you until resumed."


def refusal(assignment: Assignment) -> Conflict:
    """The error for a claim on an open assignment that changed nothing: why the assignment takes no work.

    Runs only after the claim statement failed (never on the served path), so its queries cost nothing there.
    """
    campaign = Campaign.objects.get(pk=assignment.campaign_id)
    member = CampaignMember.objects.filter(campaign=campaign, user_id=assignment.annotator_id).first()
    if member is None or not (member.invited or campaign.open_to_all):
        return Removed(REMOVED)
    if member.paused:
        return MemberPaused(PAUSED)
    if campaign.status != CampaignStatus.ACTIVE:
        return not_serving(campaign)  # a draft too: the assignment is the annotator's own, so no 404
    return Conflict("This item was already submitted, skipped or expired.")


def takes_work(annotator_id: int) -> Q:
    """The claim's condition that the assignment's campaign is active and its annotator a member of it, not paused.

    An ORM filter for the UPDATE that claims an assignment (the SQL form is in _submit_sql): folded into that one
    statement, so a pause or a removal committed before it refuses the claim, with no query of its own.
    """
    active = Campaign.objects.filter(pk=OuterRef("campaign_id"), status=CampaignStatus.ACTIVE)
    member = CampaignMember.objects.filter(campaign_id=OuterRef("campaign_id"), user_id=annotator_id,
                                           paused=False).filter(Q(invited=True) | Q(campaign__open_to_all=True))
    return Q(Exists(active)) & Q(Exists(member))


def open_assignments(campaign: Campaign, user: User) -> QuerySet[Assignment]:
    """Return the user's open assignments, a reopened (undone) one first."""
    return (
        Assignment.objects.filter(campaign=campaign, annotator=user, status=AssignmentStatus.ASSIGNED)
        .select_related("item", "campaign")
        .order_by(F("reopened_at").desc(nulls_last=True), "served_at", "pk")
    )


def wants_gold(campaign: Campaign, member: CampaignMember) -> bool:
    # Interleave gold items at the campaign's rate: the k-th gold item comes after about k / rate items.
    return campaign.gold_rate > 0 and member.gold_served_count < int(campaign.gold_rate * (member.served_count + 1))


def _lock_candidate(campaign: Campaign, user: User, gold: bool) -> ComparisonItem | None:
    """Lock and return the least-annotated item of the pool the user has never been served, or None.

    Hand-written because it runs on every "next item" and compiling the ORM form (an anti-join and an ordering)
    cost more than executing it. SKIP LOCKED: concurrent annotators each take a different row instead of
    queueing on the same one; databases without row locks (SQLite) serialise writers instead.
    """
    items, assignments = ComparisonItem._meta.db_table, Assignment._meta.db_table
    # gold items have no overlap; qualification items are gold items served only in qualification rounds
    below_overlap = "AND NOT i.is_qualification " if gold else "AND i.active_count < %s "
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    query = (
        f"SELECT i.* FROM {items} i WHERE i.campaign_id = %s AND i.is_gold = %s {below_overlap}"  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {assignments} a WHERE a.item_id = i.id AND a.annotator_id = %s) "
        f"ORDER BY i.active_count, i.id LIMIT 1{lock}"
    )
    params = [campaign.pk, gold, *([] if gold else [campaign.overlap]), user.pk]
    return next(iter(ComparisonItem.objects.raw(query, params)), None)


def _take(item: ComparisonItem, campaign: Campaign) -> bool:
    """Move the item's counter; False if it reached its overlap meanwhile (the conditional UPDATE decides)."""
    items = ComparisonItem.objects.filter(pk=item.pk)
    if not item.is_gold:
        items = items.filter(active_count__lt=campaign.overlap)
    return items.update(active_count=F("active_count") + 1) == 1


def _pick_item(campaign: Campaign, user: User, member: CampaignMember) -> ComparisonItem | None:
    pools = [True, False] if wants_gold(campaign, member) else [False]
    for gold in pools:
        for _attempt in range(3):
            item = _lock_candidate(campaign, user, gold)
            if item is None:
                break
            if _take(item, campaign):
                return item
    return None


def _quota_reached(campaign: Campaign, member: CampaignMember, open_count: int) -> bool:
    quota = campaign.items_per_annotator
    return quota is not None and member.done_count + open_count >= quota


# --- Submitting ----------------------------------------------------------------------------------------------------


def canonical_choice(pick: str, left_is_a: bool) -> tuple[Choice, Side]:
    """Map what was clicked (left/right/tie/both_bad) to the canonical choice and the screen side."""
    if pick == "left":
        return (Choice.A if left_is_a else Choice.B), Side.LEFT
    if pick == "right":
        return (Choice.B if left_is_a else Choice.A), Side.RIGHT
    if pick in (Choice.TIE, Choice.BOTH_BAD):
        return Choice(pick), Side.NONE
    raise AssignmentError(f"Unknown pick {pick!r}.")


def screen_pick(choice: str, left_is_a: bool) -> str:
    """Return the on-screen pick for a canonical choice (the inverse of canonical_choice)."""
    if choice == Choice.A:
        return "left" if left_is_a else "right"
    if choice == Choice.B:
        return "right" if left_is_a else "left"
    return choice


def _clean_judgment(entry: dict[str, Any], key: str) -> tuple[str, list[str]]:
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


def build_judgments(assignment: Assignment, entries: list[dict[str, Any]]) -> list[Judgment]:
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


def _claim_and_store(assignment: Assignment, rows: list[Judgment], duration_ms: int | None, now: datetime) -> None:
    """Claim the open assignment (one conditional UPDATE that also checks the campaign takes this annotator's work)
    and store its judgments; the ORM half of a submit, for real and qualification items alike."""
    claimed = Assignment.objects.filter(
        takes_work(assignment.annotator_id), pk=assignment.pk, status=AssignmentStatus.ASSIGNED
    ).update(status=AssignmentStatus.SUBMITTED, submitted_at=now, duration_ms=duration_ms)
    if not claimed:
        raise refusal(assignment)
    Judgment.objects.bulk_create(rows)
    ComparisonItem.objects.filter(pk=assignment.item_id).update(submitted_count=F("submitted_count") + 1)


# --- The store -----------------------------------------------------------------------------------------------------


class AssignmentStore:
    """The annotation loop's operations, each written once: next item, submit, skip, undo.

    This class runs them through the ORM on every database. A database's store (annotation.sql.<vendor>) may
    replace the statements behind them where measurements justify it, and only those: `_locked_member_row`,
    `_campaign_and_locked_member`, `_serve`, `_store_submission`, `fetch_campaign`, `fetch_own_assignment` and
    `token_user_with_own_assignment`.
    The rules (who may work, the
    campaign's state, qualification, quotas, gold interleaving, the audit record) stay here, for every store.
    """

    #: the submit of a real item is one atomic statement, with no transaction around it (PostgreSQL's store)
    single_statement_submit = False

    def fetch_campaign(self, pk: int) -> Campaign:
        """The campaign with this id (Campaign.DoesNotExist otherwise)."""
        return Campaign.objects.get(pk=pk)

    def fetch_own_assignment(self, user: User, pk: int) -> Assignment | None:
        """The user's assignment `pk` with its item and campaign, or None (also for other users' assignments)."""
        return Assignment.objects.select_related("item", "campaign").filter(pk=pk, annotator=user).first()

    def token_user_with_own_assignment(self, key: str, pk: int
                                       ) -> "tuple[tuple[User, list[str], datetime] | None, Assignment | None]":
        """(alfa_platform.sql's token_user(key), the token user's own assignment `pk` or None): what the submit
        endpoint's token authentication reads. Use the assignment only once the user's role has been checked."""
        found = backend("alfa_platform.sql").token_user(key)
        return found, None if found is None else self.fetch_own_assignment(found[0], pk)

    def next_item(self, campaign: Campaign, user: User) -> Assignment | None:
        """The user's current assignment, or the least-annotated eligible item served now; None when done.

        The returned assignment carries `member` (the annotator's counters, for progress) and its item and campaign.
        """
        with transaction.atomic():
            return self._next_for_member(campaign, user, self.lock_member(campaign, user))

    def next_item_for(self, campaign_pk: int, user: User) -> tuple[Campaign, Assignment | None]:
        """next_item for a campaign id (Campaign.DoesNotExist if there is none), read with the member lock."""
        with transaction.atomic():
            campaign, row = self._campaign_and_locked_member(campaign_pk, user)
            return campaign, self._next_for_member(campaign, user, self._admitted(campaign, user, row))

    def _next_for_member(self, campaign: Campaign, user: User, member: CampaignMember) -> Assignment | None:
        check_serving(campaign)  # after the member checks: a non-member learns nothing about the campaign's state
        return self._assign_next(campaign, user, member)

    def submit(self, assignment: Assignment, entries: list[dict[str, Any]], duration_ms: int | None = None
               ) -> list[Judgment]:
        """Store the judgments of an open assignment; a second submit of the same assignment is a Conflict."""
        rows = build_judgments(assignment, entries)
        if self.single_statement_submit and not assignment.item.is_qualification:
            self._submit(assignment, rows, duration_ms)  # atomic by itself: no BEGIN and COMMIT round trips
            return rows
        with transaction.atomic():
            self._submit(assignment, rows, duration_ms)
        return rows

    def submit_and_next(self, assignment: Assignment, entries: list[dict[str, Any]], duration_ms: int | None = None
                        ) -> Assignment | None:
        """Submit and serve the next item in one transaction: the page's Enter, with one commit per judgment."""
        rows = build_judgments(assignment, entries)
        with transaction.atomic():
            member = self._submit(assignment, rows, duration_ms)
            if not assignment.campaign.is_serving:
                return None
            if member is not None and needs_qualification(assignment.campaign, member) and (
                member.qualification_status == QualificationStatus.FAILED
            ):
                return None  # the round just failed: the feedback says so, and there is no next item
            return self._assign_next(assignment.campaign, assignment.annotator, member)

    def skip(self, assignment: Assignment, reason: str, note: str = "") -> None:
        """Give the item back to the pool (another annotator will take it); this annotator never sees it again."""
        if reason not in SkipReason.values:
            raise AssignmentError("Choose a reason for skipping.")
        if assignment.item.is_qualification:
            raise AssignmentError("Qualification items cannot be skipped: answer it, and the feedback follows.")
        with transaction.atomic():
            claimed = Assignment.objects.filter(
                takes_work(assignment.annotator_id), pk=assignment.pk, status=AssignmentStatus.ASSIGNED
            ).update(status=AssignmentStatus.SKIPPED, skip_reason=reason, skip_note=note.strip())
            if not claimed:
                raise refusal(assignment)
            ComparisonItem.objects.filter(pk=assignment.item_id).update(active_count=F("active_count") - 1)
            CampaignMember.objects.filter(campaign_id=assignment.campaign_id, user_id=assignment.annotator_id
                                          ).update(skipped_count=F("skipped_count") + 1)
        assignment.status = AssignmentStatus.SKIPPED

    def undo(self, campaign: Campaign, user: User) -> Assignment:
        """Reopen the user's latest submission in the campaign; its judgments are retracted (kept, not deleted)."""
        with transaction.atomic():
            self.lock_member(campaign, user)
            check_serving(campaign)
            last = (
                Assignment.objects.filter(campaign=campaign, annotator=user, status=AssignmentStatus.SUBMITTED,
                                          item__is_qualification=False)  # its answer was shown: it stays as given
                .order_by("-submitted_at", "-pk").first()
            )
            if last is None:
                raise AssignmentError("There is nothing to undo.")
            now = timezone.now()
            Assignment.objects.filter(pk=last.pk).update(
                status=AssignmentStatus.ASSIGNED, submitted_at=None, reopened_at=now, duration_ms=None
            )
            retracted = Judgment.objects.filter(assignment=last, retracted_at__isnull=True).update(retracted_at=now)
            ComparisonItem.objects.filter(pk=last.item_id).update(submitted_count=F("submitted_count") - 1)
            CampaignMember.objects.filter(campaign=campaign, user=user).update(done_count=F("done_count") - 1)
            record_event(last, "judgment.undo", before={"status": "submitted"}, after={"status": "assigned"},
                         actor=user, object_repr=submission_repr(last),
                         details={"campaign": campaign.pk, "item": last.item_id, "retracted_judgments": retracted})
        return Assignment.objects.select_related("item", "campaign").get(pk=last.pk)

    def lock_member(self, campaign: Campaign, user: User) -> CampaignMember:
        """Return the user's member row, locked for this transaction (created on first use of an open campaign).

        Raises NotEligible for users who may not annotate the campaign, Removed for members a lead has removed,
        MemberPaused for paused ones. One statement in the common case: this runs on every "next item" and undo.
        """
        return self._admitted(campaign, user, self._locked_member_row(campaign, user))

    def _admitted(self, campaign: Campaign, user: User, member: CampaignMember | None) -> CampaignMember:
        """The user's locked member row `member` (None: the user has none), if the user may work in the campaign."""
        if not has_role(user, Role.ANNOTATOR):
            raise NotEligible("You are not an annotator of this campaign.")
        if member is not None and (member.invited or campaign.open_to_all):
            if member.paused:
                raise MemberPaused(PAUSED)
            return member
        if member is None and campaign.open_to_all:
            CampaignMember.objects.get_or_create(campaign=campaign, user=user, defaults={"invited": False})
            return CampaignMember.objects.select_for_update().get(campaign=campaign, user=user)
        if member is not None:
            raise Removed(REMOVED)
        raise NotEligible("You are not an annotator of this campaign.")

    def _assign_next(self, campaign: Campaign, user: User, member: CampaignMember | None = None
                     ) -> Assignment | None:
        """The body of next_item; the caller holds the transaction.

        `member`: the annotator's CampaignMember row when the caller already holds its lock (the submit statement
        updates, and so locks, it); lock_member reads and locks it otherwise.
        """
        if member is None or not (member.invited or campaign.open_to_all) or not has_role(user, Role.ANNOTATOR):
            member = self.lock_member(campaign, user)  # which raises NotEligible where these checks fail
        if needs_qualification(campaign, member):  # read from the locked row: the qualified hot path pays nothing
            return _assign_qualification_item(campaign, user, member)
        if _quota_reached(campaign, member, 0):
            return current_assignment(campaign, user, member)
        return self._serve(campaign, user, member)

    def _submit(self, assignment: Assignment, rows: list[Judgment], duration_ms: int | None
                ) -> CampaignMember | None:
        """The body of submit; the caller holds the transaction (unless single_statement_submit). Returns the
        locked member row or None."""
        now = timezone.now()
        if assignment.item.is_qualification:
            return _submit_qualification(assignment, rows, duration_ms, now)
        member = self._store_submission(assignment, rows, duration_ms, now)
        assignment.status, assignment.submitted_at, assignment.duration_ms = (AssignmentStatus.SUBMITTED, now,
                                                                              duration_ms)
        return member

    # The statements a database's store may replace.

    def _locked_member_row(self, campaign: Campaign, user: User) -> CampaignMember | None:
        """The user's member row of the campaign, locked (FOR UPDATE), or None."""
        return CampaignMember.objects.select_for_update().filter(campaign=campaign, user=user).first()

    def _campaign_and_locked_member(self, campaign_pk: int, user: User) -> tuple[Campaign, CampaignMember | None]:
        """The campaign (Campaign.DoesNotExist if there is none) and the user's member row of it, locked, or None."""
        campaign = self.fetch_campaign(campaign_pk)
        return campaign, self._locked_member_row(campaign, user)

    def _serve(self, campaign: Campaign, user: User, member: CampaignMember) -> Assignment | None:
        """The user's open assignment if any, else a new one for the best candidate item (None: nothing left).

        Runs under the member lock, with the quota not reached; moves the item's and the member's counters.
        """
        current = current_assignment(campaign, user, member)
        if current is not None:
            return current
        item = _pick_item(campaign, user, member)
        if item is None:
            return None
        item.campaign = campaign
        assignment = Assignment.objects.create(
            campaign=campaign, item=item, annotator=user, is_gold=item.is_gold,
            left_is_a=item.left_is_a_for(user.pk),
        )
        CampaignMember.objects.filter(pk=member.pk).update(
            served_count=F("served_count") + 1, gold_served_count=F("gold_served_count") + int(item.is_gold)
        )
        assignment.member = member
        return assignment

    def _store_submission(self, assignment: Assignment, rows: list[Judgment], duration_ms: int | None,
                          now: datetime) -> CampaignMember | None:
        """Claim the open assignment, store its judgments, move the counters and record it in the audit trail.

        Returns the member row when the statements locked it (None: the caller has what it needs). Raises the
        refusal (a Conflict) when the assignment no longer takes work.
        """
        _claim_and_store(assignment, rows, duration_ms, now)
        CampaignMember.objects.filter(campaign_id=assignment.campaign_id, user_id=assignment.annotator_id).update(
            done_count=F("done_count") + 1
        )
        record_submission(assignment, rows, duration_ms, assignment.annotator)
        return None


def current_assignment(campaign: Campaign, user: User, member: CampaignMember) -> Assignment | None:
    """The user's open assignment (a reopened one first), carrying `member`, or None."""
    current = open_assignments(campaign, user).first()
    if current is not None:
        current.member = member
    return current


def assignment_store() -> AssignmentStore:
    """The store for the default connection's database (annotation.sql.<vendor>)."""
    store: AssignmentStore = backend("annotation.sql").assignment_store()
    return store


# The operations as the views, the API and the commands call them: through the database's store.


def fetch_campaign(pk: int) -> Campaign:
    return assignment_store().fetch_campaign(pk)


def fetch_own_assignment(user: User, pk: int) -> Assignment | None:
    return assignment_store().fetch_own_assignment(user, pk)


def lock_member(campaign: Campaign, user: User) -> CampaignMember:
    return assignment_store().lock_member(campaign, user)


def do_assign_next_item(campaign: Campaign, user: User) -> Assignment | None:
    return assignment_store().next_item(campaign, user)


def do_submit_assignment(assignment: Assignment, entries: list[dict[str, Any]], duration_ms: int | None = None
                         ) -> list[Judgment]:
    return assignment_store().submit(assignment, entries, duration_ms)


def do_submit_and_assign_next(assignment: Assignment, entries: list[dict[str, Any]], duration_ms: int | None = None
                              ) -> Assignment | None:
    return assignment_store().submit_and_next(assignment, entries, duration_ms)


def do_skip_assignment(assignment: Assignment, reason: str, note: str = "") -> None:
    assignment_store().skip(assignment, reason, note)


def do_undo_last_submission(campaign: Campaign, user: User) -> Assignment:
    return assignment_store().undo(campaign, user)


def previous_picks(assignment: Assignment) -> dict[str, dict[str, Any]]:
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


def do_expire_stale_assignments(older_than: timedelta = timedelta(hours=12), campaign: Campaign | None = None) -> int:
    """Return abandoned open assignments to the pool; return how many were expired."""
    cutoff = timezone.now() - older_than
    stale = Assignment.objects.filter(status=AssignmentStatus.ASSIGNED, served_at__lt=cutoff)
    stale = stale.exclude(reopened_at__gte=cutoff)
    if campaign is not None:
        stale = stale.filter(campaign=campaign)
    return _expire(stale)


def do_expire_open_assignments(campaign: Campaign, user_ids: Iterable[int]) -> int:
    """Return these annotators' open items in the campaign to the pool (they were removed from it)."""
    return _expire(Assignment.objects.filter(campaign=campaign, annotator_id__in=user_ids,
                                             status=AssignmentStatus.ASSIGNED))


def _expire(assignments: QuerySet[Assignment]) -> int:
    """Expire open assignments one at a time (a submit may win the race for each); return how many were expired."""
    expired = 0
    for pk, item_id in assignments.values_list("pk", "item_id").iterator():
        with transaction.atomic():
            if Assignment.objects.filter(pk=pk, status=AssignmentStatus.ASSIGNED).update(
                status=AssignmentStatus.EXPIRED
            ):
                ComparisonItem.objects.filter(pk=item_id).update(active_count=F("active_count") - 1)
                expired += 1
    return expired


# --- Qualification ---------------------------------------------------------------------------------------------------
# A campaign requiring qualification serves an annotator its qualification items (is_qualification, which are also
# is_gold: every count of real items leaves them out) until they pass a round. Rounds are served and graded through
# the ORM on every database: the gate is one test of the locked member row, so a qualified annotator's hot path is
# unchanged. A retry serves items the annotator has not seen (answers once shown are no test).


def needs_qualification(campaign: Campaign, member: CampaignMember) -> bool:
    """Whether this member must (still) pass the campaign's qualification round before real items."""
    return campaign.qualification_required and member.qualification_status != QualificationStatus.PASSED


def needed_correct(campaign: Campaign) -> int:
    """How many of a full round's items must be answered as expected to pass."""
    return math.ceil(campaign.qualification_pass_mark * campaign.qualification_items - 1e-9)


def qualification_state(campaign: Campaign, member: CampaignMember | None) -> dict[str, Any]:
    """The member's standing in the qualification round, as the page and the API show it."""
    return {
        "status": member.qualification_status if member else QualificationStatus.PENDING,
        "round": member.qualification_round if member else 1,
        "seen": member.qualification_seen if member else 0,
        "correct": member.qualification_correct if member else 0,
        "items": campaign.qualification_items,
        "pass_mark": campaign.qualification_pass_mark,
        "needed": needed_correct(campaign),
    }


def failed_message(campaign: Campaign, member: CampaignMember) -> str:
    return (f"You did not pass the qualification round: {member.qualification_correct} of "
            f"{member.qualification_seen} answered as expected, {campaign.qualification_pass_mark:.0%} needed. "
            "A lead can allow you a retry.")


def _unseen_qualification_items(campaign: Campaign, user_id: int) -> QuerySet[ComparisonItem]:
    served = Assignment.objects.filter(item_id=OuterRef("pk"), annotator_id=user_id)
    return ComparisonItem.objects.filter(campaign=campaign, is_qualification=True).exclude(Exists(served))


def _assign_qualification_item(campaign: Campaign, user: User, member: CampaignMember) -> Assignment:
    """The member's open qualification item, else the next one they have not seen; NotQualified when none is due."""
    if member.qualification_status == QualificationStatus.FAILED:
        raise NotQualified(failed_message(campaign, member), qualification_state(campaign, member))
    current = open_assignments(campaign, user).filter(item__is_qualification=True).first()
    if current is not None:
        current.member = member
        return current
    item = _unseen_qualification_items(campaign, user.pk).order_by("position", "pk").first()
    if item is None:
        raise NotQualified("This campaign asks for a qualification round first, and it has no qualification items "
                           "left for you: a lead must add some.", qualification_state(campaign, member))
    ComparisonItem.objects.filter(pk=item.pk).update(active_count=F("active_count") + 1)
    item.campaign = campaign
    assignment = Assignment.objects.create(
        campaign=campaign, item=item, annotator=user, is_gold=True, left_is_a=item.left_is_a_for(user.pk),
    )
    assignment.member = member
    return assignment


def graded_judgment(rows: Sequence[Judgment], item: ComparisonItem) -> Judgment:
    """The judgment a qualification item is graded on: its own attribute if asked, else overall, else the first."""
    by_key = {row.attribute: row for row in rows}
    return by_key.get(item.attribute) or by_key.get(OVERALL) or rows[0]


def _submit_qualification(assignment: Assignment, rows: list[Judgment], duration_ms: int | None, now: datetime
                          ) -> CampaignMember:
    """Store a qualification item's judgments, grade it, and end the round when it is complete.

    Sets `assignment.feedback` (the expected answer and the guideline passage) and the progress counters; returns
    the locked member row. The round ends after the campaign's number of items, or earlier when the annotator has
    no unseen qualification item left; it is passed when the share answered as expected reaches the pass mark.
    """
    _claim_and_store(assignment, rows, duration_ms, now)
    record_submission(assignment, rows, duration_ms, assignment.annotator)
    campaign = Campaign.objects.get(pk=assignment.campaign_id)  # with the guidelines the hot path leaves out
    item = ComparisonItem.objects.get(pk=assignment.item_id)
    member = CampaignMember.objects.select_for_update().get(campaign=campaign, user_id=assignment.annotator_id)
    graded = graded_judgment(rows, item)
    correct = graded.choice == item.gold_choice
    if member.qualification_status == QualificationStatus.PENDING:
        member.qualification_seen += 1
        member.qualification_correct += int(correct)
        if (member.qualification_seen >= campaign.qualification_items
                or not _unseen_qualification_items(campaign, assignment.annotator_id).exists()):
            share = member.qualification_correct / member.qualification_seen
            member.qualification_status = (QualificationStatus.PASSED if share >= campaign.qualification_pass_mark
                                           - 1e-9 else QualificationStatus.FAILED)
        member.save(update_fields=["qualification_seen", "qualification_correct", "qualification_status"])
    assignment.status, assignment.submitted_at, assignment.duration_ms = AssignmentStatus.SUBMITTED, now, duration_ms
    assignment.done_count, assignment.skipped_count = member.done_count, member.skipped_count
    assignment.feedback = _feedback(assignment, campaign, item, member, graded, correct)
    return member


def _feedback(assignment: Assignment, campaign: Campaign, item: ComparisonItem, member: CampaignMember,
              graded: Judgment, correct: bool) -> dict[str, Any]:
    """What the page shows after a qualification item: right or not, the expected answer, the guideline passage."""
    expected = screen_pick(item.gold_choice, assignment.left_is_a)
    texts = {"left": item.question_a if assignment.left_is_a else item.question_b,
             "right": item.question_b if assignment.left_is_a else item.question_a}
    state = qualification_state(campaign, member)
    return {
        "correct": correct,
        "attribute": graded.attribute,
        "your_pick": screen_pick(graded.choice, assignment.left_is_a),
        "expected": str(expected),
        "expected_text": texts.get(expected, ""),
        "explanation_html": item.explanation_html() if item.explanation.strip() else campaign.guidelines_html(),
        "explanation_from": "item" if item.explanation.strip() else "guidelines",
        "qualification": state,
        "message": failed_message(campaign, member) if state["status"] == QualificationStatus.FAILED else "",
    }
