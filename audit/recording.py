"""Record the changes that model signals never see: bulk statements, raw SQL, and multi-row operations.

Each operation calls one of these at the one place it happens, so it leaves exactly one record (an import of
100,000 rows is one record, not 100,000). The PostgreSQL hot path of a judgment cannot call Python inside its
single statement: audit.sql.postgresql.chain_cte appends the record in SQL there, with the hash verify_audit
recomputes.
"""

from collections.abc import Iterable
from typing import Any, Protocol

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.contrib.auth.models import User
from django.db import models

from .models import AuditRecord

Action = AbstractLogEntry.Action


class JudgmentRow(Protocol):
    """A submitted judgment as the record reads it (annotation's Judgment; audit imports no upper app)."""

    @property
    def attribute(self) -> object: ...

    @property
    def choice(self) -> object: ...

    @property
    def strength(self) -> object: ...

    @property
    def reasons(self) -> Iterable[Any]: ...

    @property
    def rationale(self) -> Any: ...

    @property
    def time_ms(self) -> Any: ...


class SubmittedAssignment(Protocol):
    """The assignment a submission records (annotation's Assignment, a model)."""

    @property
    def pk(self) -> Any: ...

    @property
    def campaign_id(self) -> int: ...

    @property
    def item_id(self) -> int: ...


def is_enabled() -> bool:
    """Whether the trail records (ALFA_AUDIT=0 turns it off, for the benchmark's side-by-side figures only)."""
    return settings.AUDIT_ENABLED


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return auditlog's change format, {field: [before, after]}, for the fields whose values differ."""
    return {key: [before.get(key), after.get(key)] for key in sorted({*before, *after})
            if before.get(key) != after.get(key)}


def record_event(instance: models.Model, event: str, *, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None, actor: User | None = None,
                 action: int = Action.UPDATE, details: dict[str, Any] | None = None,
                 object_repr: str | None = None) -> AuditRecord | None:
    """Append one record of `event` on `instance`: the values before and after, and what else it touched.

    `actor` defaults to the request's user (or the user a job runs for); `object_repr` to str(instance).
    """
    if not is_enabled():
        return None
    fields: dict[str, str] = {} if object_repr is None else {"object_repr": object_repr}
    return AuditRecord.objects.log_create(
        instance, force_log=True, action=action, event=event, actor=actor,
        changes=field_changes(before or {}, after or {}), additional_data=details, **fields,
    )


def judgment_entries(rows: Iterable[JudgmentRow]) -> list[dict[str, Any]]:
    """The submitted judgments as the record keeps them (canonical choices, not screen sides)."""
    return [{"attribute": str(row.attribute), "choice": str(row.choice), "strength": str(row.strength),
             "reasons": list(row.reasons), "rationale": row.rationale, "time_ms": row.time_ms} for row in rows]


def submission_repr(assignment: SubmittedAssignment) -> str:
    return f"assignment {assignment.pk} (campaign {assignment.campaign_id}, item {assignment.item_id})"


def submission_changes(rows: Iterable[JudgmentRow], duration_ms: int | None) -> dict[str, list[Any]]:
    return {"status": ["assigned", "submitted"], "judgments": [None, judgment_entries(rows)],
            "duration_ms": [None, duration_ms]}


def submission_details(assignment: SubmittedAssignment) -> dict[str, int]:
    return {"campaign": assignment.campaign_id, "item": assignment.item_id}


def record_submission(assignment: SubmittedAssignment, rows: Iterable[JudgmentRow], duration_ms: int | None,
                      actor: User) -> AuditRecord | None:
    """Record an annotator's submitted judgments (the ORM path; the PostgreSQL path uses submission_sql_params)."""
    if not is_enabled():
        return None
    return AuditRecord.objects.log_create(
        assignment, force_log=True, action=Action.UPDATE, event="judgment.submit", actor=actor,
        object_repr=submission_repr(assignment), changes=submission_changes(rows, duration_ms),
        additional_data=submission_details(assignment),
    )
