"""PostgreSQL: the annotation loop's hot statements, each one prepared statement, and judgments read as text.

PostgresAssignmentStore replaces only the statements of annotation.assignment.AssignmentStore that run on every
request (the member lock, serving, submitting, and reading the request's campaign or assignment): with
data-modifying CTEs a request is one round trip instead of four or five, and prepared statements are not
planned again. The rules stay in AssignmentStore. Only model table names and fixed fragments are formatted
into the SQL; every value is a parameter.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from alfa_platform.sql.postgresql import load_token_user, token_sql, user_loader
from alfa_platform.sql.prepared import RowLoader, prepared_cursor
from audit.recording import is_enabled
from audit.sql.postgresql import chain_cte, submission_sql_params

from ..assignment import AssignmentStore, current_assignment, refusal, wants_gold
from ..models import Assignment, AssignmentStatus, Campaign, CampaignMember, ComparisonItem, Judgment

__all__ = ["assignment_store", "int_rows"]

# Columns the annotation loop never reads, left out of its hand-written SELECTs (the guidelines can be long).
NOT_READ = {
    "annotation.Campaign": {"description", "guidelines", "selection", "created_at"},
    "annotation.ComparisonItem": {"external_id", "position", "source_a", "source_b", "split", "question_id", "pair_id",
                                  "explanation", "gold_choice", "expected_choice", "judge_choice", "meta",
                                  "created_at"},
}


@cache
def row_loader(model: type[Model], alias: str) -> RowLoader[Any]:
    return RowLoader(model, alias, NOT_READ.get(model._meta.label, set()))


def _own_assignment_loaders() -> tuple[RowLoader[Assignment], RowLoader[ComparisonItem], RowLoader[Campaign]]:
    return row_loader(Assignment, "a"), row_loader(ComparisonItem, "i"), row_loader(Campaign, "c")


@cache
def own_assignment_sql() -> tuple[str, str]:
    """(columns, FROM part) reading an assignment `a` with its item and campaign; load_own_assignment reads the row."""
    assignments, items, campaigns = _own_assignment_loaders()
    return (
        f"{assignments.columns}, {items.columns}, {campaigns.columns}",
        f"{Assignment._meta.db_table} a JOIN {ComparisonItem._meta.db_table} i ON i.id = a.item_id "
        f"JOIN {Campaign._meta.db_table} c ON c.id = a.campaign_id",
    )


def load_own_assignment(row: Sequence[Any], offset: int, user: User) -> Assignment | None:
    """The assignment (item and campaign attached) from the own_assignment_sql columns at `offset`, or None."""
    if row[offset] is None:
        return None
    assignments, items, campaigns = _own_assignment_loaders()
    assignment = assignments.load(row, offset)
    assignment.item = items.load(row, offset + assignments.width)
    assignment.campaign = campaigns.load(row, offset + assignments.width + items.width)
    assignment.item.campaign = assignment.campaign
    assignment.annotator = user
    return assignment


@cache
def token_with_assignment_sql() -> str:
    """alfa_platform's token statement and the token user's own assignment (own_assignment_sql), in one."""
    columns, tables = own_assignment_sql()
    return token_sql(f", {columns}") + f" LEFT JOIN ({tables}) ON a.id = %s AND a.annotator_id = u.id WHERE t.key = %s"


@cache
def campaign_and_member_sql() -> str:
    """The campaign and the user's member row of it, locked (the lateral subquery locks the member row only)."""
    campaigns, members = row_loader(Campaign, "c"), row_loader(CampaignMember, "m")
    return (
        f"SELECT {campaigns.columns}, {members.columns} FROM {Campaign._meta.db_table} c "  # noqa: S608
        f"LEFT JOIN LATERAL (SELECT * FROM {CampaignMember._meta.db_table} x WHERE x.campaign_id = c.id "
        f"AND x.user_id = %s FOR UPDATE) m ON true WHERE c.id = %s"
    )


# models.ComparisonItem.left_is_a_for in SQL: the first byte of sha256("seed:user:item"), even means A on the left.
LEFT_IS_A_SQL = ("get_byte(sha256(convert_to(%(seed)s::bigint::text || ':' || %(user)s::bigint::text || ':' || "
                 "t.id::text, 'UTF8')), 0) & 1 = 0")


@cache
def claim_sql(gold: bool) -> str:
    """One statement: the user's open assignment if any, else lock, take and assign the best candidate item.

    Runs after the member lock, so it sees (with a fresh snapshot) whatever the annotator's previous request
    committed. The candidate row is locked with SKIP LOCKED; PostgreSQL re-checks `active_count < overlap` on
    the row's latest version when it locks it, and the conditional UPDATE re-checks it once more. The taken item
    is assigned in the same statement (the side computed as left_is_a_for does) and the member's counters move.
    Returns the item's columns, the new assignment's id and side, and the open assignment's id (or NULL).
    """
    items, assignments = ComparisonItem._meta.db_table, Assignment._meta.db_table
    below_overlap = "AND NOT i.is_qualification " if gold else "AND i.active_count < %(overlap)s "
    take_below = "" if gold else "AND u.active_count < %(overlap)s "
    returned = row_loader(ComparisonItem, "u")
    nothing = ", ".join(["NULL"] * (returned.width + 2))
    return (
        f"WITH cur AS (SELECT a.id FROM {assignments} a WHERE a.annotator_id = %(user)s "  # noqa: S608
        f"AND a.campaign_id = %(campaign)s AND a.status = 'assigned' "
        f"ORDER BY a.reopened_at DESC NULLS LAST, a.served_at, a.id LIMIT 1), "
        f"cand AS (SELECT i.id FROM {items} i WHERE NOT EXISTS (SELECT 1 FROM cur) "
        f"AND i.campaign_id = %(campaign)s AND i.is_gold = %(gold)s {below_overlap}"
        f"AND NOT EXISTS (SELECT 1 FROM {assignments} x WHERE x.item_id = i.id AND x.annotator_id = %(user)s) "
        f"ORDER BY i.active_count, i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED), "
        f"taken AS (UPDATE {items} u SET active_count = u.active_count + 1 FROM cand WHERE u.id = cand.id "
        f"{take_below}RETURNING {returned.columns}), "
        f"served AS (INSERT INTO {assignments} (campaign_id, item_id, annotator_id, status, left_is_a, is_gold, "
        f"served_at, skip_reason, skip_note) SELECT %(campaign)s, t.id, %(user)s, 'assigned', {LEFT_IS_A_SQL}, "
        f"t.is_gold, %(now)s, '', '' FROM taken t RETURNING id, left_is_a), "
        f"bumped AS (UPDATE {CampaignMember._meta.db_table} SET served_count = served_count + 1, "
        f"gold_served_count = gold_served_count + %(gold)s::int WHERE id = %(member)s "
        f"AND EXISTS (SELECT 1 FROM taken)) "
        f"SELECT taken.*, served.id, served.left_is_a, NULL::bigint FROM taken CROSS JOIN served "
        f"UNION ALL SELECT {nothing}, cur.id FROM cur"
    )


@cache
def submit_sql(judgment_count: int, audited: bool) -> str:
    """The submit statement for an item asking `judgment_count` judgments, with its audit record (see the store)."""
    values = ", ".join(["(%s, %s, %s, %s, %s::jsonb, %s, %s::integer)"] * judgment_count)
    members = row_loader(CampaignMember, "m").columns
    return (
        f"WITH claimed AS (UPDATE {Assignment._meta.db_table} a SET status = 'submitted', "  # noqa: S608
        f"submitted_at = %s, duration_ms = %s::integer WHERE a.id = %s AND a.status = 'assigned' "
        f"AND EXISTS (SELECT 1 FROM {Campaign._meta.db_table} c JOIN {CampaignMember._meta.db_table} cm "
        f"ON cm.campaign_id = c.id AND cm.user_id = a.annotator_id WHERE c.id = a.campaign_id "
        f"AND c.status = 'active' AND (cm.invited OR c.open_to_all) AND NOT cm.paused) "
        f"RETURNING a.id, a.campaign_id, a.item_id, a.annotator_id), "
        f"judged AS (INSERT INTO {Judgment._meta.db_table} (assignment_id, campaign_id, item_id, annotator_id, "
        f"attribute, choice, side, strength, reasons, rationale, time_ms, created_at) SELECT c.id, c.campaign_id, "
        f"c.item_id, c.annotator_id, v.attribute, v.choice, v.side, v.strength, v.reasons, v.rationale, v.time_ms, "
        f"%s FROM claimed c CROSS JOIN (VALUES {values}) AS v(attribute, choice, side, strength, reasons, "
        f"rationale, time_ms) RETURNING 1), "
        f"counted AS (UPDATE {ComparisonItem._meta.db_table} SET submitted_count = submitted_count + 1 "
        f"WHERE id IN (SELECT item_id FROM claimed)), "
        f"done AS (UPDATE {CampaignMember._meta.db_table} m SET done_count = m.done_count + 1 "
        f"WHERE m.campaign_id = %s AND m.user_id = %s AND EXISTS (SELECT 1 FROM claimed) RETURNING {members})"
        f"{chain_cte('claimed') if audited else ''} "
        f"SELECT (SELECT count(*) FROM claimed), done.* FROM (SELECT 1) one LEFT JOIN done ON true"
    )


class PostgresAssignmentStore(AssignmentStore):
    """AssignmentStore with PostgreSQL's prepared statements on the hot path (see the module docstring)."""

    single_statement_submit = True

    def fetch_campaign(self, pk: int) -> Campaign:
        campaign = row_loader(Campaign, "c").fetch_one("FROM {table} c WHERE c.id = %s", [pk])
        if campaign is None:
            raise Campaign.DoesNotExist("No such campaign.")
        return campaign

    def fetch_own_assignment(self, user: User, pk: int) -> Assignment | None:
        columns, tables = own_assignment_sql()
        with prepared_cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {tables} WHERE a.id = %s AND a.annotator_id = %s",  # noqa: S608
                           [pk, user.pk])
            row = cursor.fetchone()
        return None if row is None else load_own_assignment(row, 0, user)

    def token_user_with_own_assignment(self, key: str, pk: int
                                       ) -> tuple[tuple[User, list[str], datetime] | None, Assignment | None]:
        with prepared_cursor() as cursor:
            cursor.execute(token_with_assignment_sql(), [pk, key])
            row = cursor.fetchone()
        if row is None:
            return None, None
        found = load_token_user(row)
        return found, load_own_assignment(row, user_loader().width + 2, found[0])

    def _locked_member_row(self, campaign: Campaign, user: User) -> CampaignMember | None:
        return row_loader(CampaignMember, "m").fetch_one(
            "FROM {table} m WHERE m.campaign_id = %s AND m.user_id = %s FOR UPDATE", [campaign.pk, user.pk])

    def _campaign_and_locked_member(self, campaign_pk: int, user: User) -> tuple[Campaign, CampaignMember | None]:
        campaigns, members = row_loader(Campaign, "c"), row_loader(CampaignMember, "m")
        with prepared_cursor() as cursor:
            cursor.execute(campaign_and_member_sql(), [user.pk, campaign_pk])
            row = cursor.fetchone()
        if row is None:
            raise Campaign.DoesNotExist("No such campaign.")
        member = None if row[campaigns.width] is None else members.load(row, campaigns.width)
        return campaigns.load(row), member

    def _serve(self, campaign: Campaign, user: User, member: CampaignMember) -> Assignment | None:
        """One prepared statement after the member lock: the open assignment, or claim, take and assign an item."""
        pools = [True, False] if wants_gold(campaign, member) else [False]
        loader = row_loader(ComparisonItem, "u")
        now = timezone.now()
        with prepared_cursor() as cursor:
            for gold in pools:
                cursor.execute(claim_sql(gold), {"user": user.pk, "campaign": campaign.pk, "gold": gold,
                                                 "now": now, "overlap": campaign.overlap, "member": member.pk,
                                                 "seed": campaign.seed})
                row = cursor.fetchone()
                if row is None:
                    continue  # nothing left in this pool
                if row[-1] is not None:  # the annotator already has an open item: serve it again
                    current = current_assignment(campaign, user, member)
                    assert current is not None  # the statement found it open, and this annotator's row is locked
                    return current
                break
            else:
                return None
        item = loader.load(row)
        item.campaign = campaign
        assignment_id, left_is_a = row[loader.width], row[loader.width + 1]
        member.served_count += 1
        member.gold_served_count += int(item.is_gold)
        assignment = Assignment(
            id=assignment_id, campaign=campaign, item=item, annotator=user, status=AssignmentStatus.ASSIGNED,
            left_is_a=left_is_a, is_gold=item.is_gold, served_at=now,
        )
        assignment.member = member
        return assignment

    def _store_submission(self, assignment: Assignment, rows: list[Judgment], duration_ms: int | None,
                          now: datetime) -> CampaignMember | None:
        """One prepared statement: claim the assignment, store the judgments, move the counters, record it.

        Every part is conditional on the claim (the UPDATE of an assignment still open), so a second submit of the
        same assignment changes nothing and is reported as a Conflict. The member UPDATE locks the annotator's
        CampaignMember row, as lock_member would, and returns it: serving the next item needs no second lock. Sets
        `assignment.done_count` and `assignment.skipped_count` (the annotator's counters after the submission, for
        the progress shown) and returns the member row (None if it has none).
        """
        params: list[Any] = [now, duration_ms, assignment.pk, now]
        for row in rows:
            params += [str(row.attribute), str(row.choice), str(row.side), str(row.strength), json.dumps(row.reasons),
                       row.rationale, row.time_ms]
        params += [assignment.campaign_id, assignment.annotator_id]
        audited = is_enabled()
        if audited:
            params += submission_sql_params(assignment, rows, duration_ms, assignment.annotator, now)
        with prepared_cursor() as cursor:
            cursor.execute(submit_sql(len(rows), audited), params)
            result = cursor.fetchone()
        if not result[0]:
            raise refusal(assignment)
        member = None if result[1] is None else row_loader(CampaignMember, "m").load(result, 1)
        assignment.done_count = member.done_count if member else None
        assignment.skipped_count = member.skipped_count if member else None
        return member


_STORE = PostgresAssignmentStore()


def assignment_store() -> AssignmentStore:
    return _STORE


def int_rows(columns: list[str], rest: str, params: Sequence[Any], width: int) -> np.ndarray:
    """Run SELECT columns rest and return an int64 array (rows x width).

    The rows come back as one space-separated string (string_agg), which numpy parses in C: half the time of
    building 100,000 Python tuples.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT string_agg(concat_ws(' ', {', '.join(columns)}), ' ') {rest}", params)
        text = cursor.fetchone()[0]
    if not text:
        return np.zeros((0, width), dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=" ").reshape(-1, width)
