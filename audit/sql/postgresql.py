"""PostgreSQL: a submission's audit record appended inside the annotation loop's single submit statement."""

import json
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any, cast

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models

from ..models import AuditChainHead, AuditRecord, as_stored_json, canonical_content, chain_for
from ..recording import (
    Action,
    JudgmentRow,
    SubmittedAssignment,
    submission_changes,
    submission_details,
    submission_repr,
)

__all__: list[str] = []  # nothing is dispatched: the PostgreSQL submit statement (annotation.sql) reads these


# The columns chain_cte inserts, in its order (every NOT NULL column of AuditRecord without a database default).
RECORD_COLUMNS = ("content_type_id", "object_pk", "object_id", "object_repr", "action", "event", "changes_text",
                  "changes", "additional_data", "actor_id", "actor_username", "actor_email", "timestamp")


@cache
def chain_cte(condition: str) -> str:
    """CTEs (to follow others in a WITH) appending one record to the chain when `condition` (a CTE) has rows.

    Takes len(RECORD_COLUMNS) + 2 positional parameters, from submission_sql_params: the canonical content and
    the chain first (the hash is computed from the chain's head row as locked, so concurrent appends to that chain
    queue on it), then the columns. The head's old hash is read back through its scratch column: RETURNING shows
    new values only.
    """
    head, records = AuditChainHead._meta.db_table, AuditRecord._meta.db_table
    placeholders = ", ".join("%s::jsonb" if name in ("changes", "additional_data") else "%s"
                             for name in RECORD_COLUMNS)
    return (
        f", chained AS (UPDATE {head} h SET length = h.length + 1, previous_hash = h.last_hash, "  # noqa: S608
        f"last_hash = encode(sha256(convert_to(h.last_hash || '|' || (h.length + 1)::text || '|' || %s, 'UTF8')), "
        f"'hex') WHERE h.id = %s AND EXISTS (SELECT 1 FROM {condition}) "
        f"RETURNING h.id, h.length, h.previous_hash, h.last_hash), "
        f"recorded AS (INSERT INTO {records} ({', '.join(RECORD_COLUMNS)}, chain, sequence, previous_hash, "
        f"record_hash) SELECT {placeholders}, c.id, c.length, c.previous_hash, c.last_hash FROM chained c RETURNING 1)"
    )


def submission_sql_params(assignment: SubmittedAssignment, rows: Iterable[JudgmentRow], duration_ms: int | None,
                          actor: User, now: datetime) -> list[Any]:
    """The parameters of chain_cte for a submission: what record_submission would store, and its hash input."""
    # the assignment is a model instance; the protocol names only what the record reads of it
    content_type = ContentType.objects.get_for_model(cast(models.Model, assignment))
    changes = as_stored_json(submission_changes(rows, duration_ms))
    details = submission_details(assignment)
    username = actor.get_username()
    content = canonical_content(
        timestamp=now, content_type=f"{content_type.app_label}.{content_type.model}", object_pk=assignment.pk,
        object_repr=submission_repr(assignment), action=Action.UPDATE, event="judgment.submit", changes=changes,
        actor=username, remote_addr=None, additional_data=details,
    )
    return [content, chain_for(actor.pk), content_type.pk, str(assignment.pk), assignment.pk,
            submission_repr(assignment), Action.UPDATE, "judgment.submit", "", json.dumps(changes),
            json.dumps(details), actor.pk, username, actor.email or None, now]

