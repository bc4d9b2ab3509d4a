"""The audit trail: django-auditlog's log entry, extended into a hash chain, and the chain's head row."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .context import current_actor

GENESIS_HASH = "0" * 64
# The trail is this many hash chains, chosen by the acting user: appends to one chain queue on its head row, so
# concurrent annotators (each already serialised on their own member row) do not queue behind one another.
CHAIN_COUNT = 16


def chain_for(user_id: int | None) -> int:
    """Return the chain (1..CHAIN_COUNT) a record by this user joins; records without a user join chain 1."""
    return 1 + user_id % CHAIN_COUNT if user_id else 1


def chain_hash(previous_hash: str, sequence: int, content: str) -> str:
    """Return a record's hash: sha256 over the previous record's hash, its position and its canonical content.

    The PostgreSQL hot path computes the same value in SQL (audit.sql.postgresql.chain_cte); verify_audit recomputes it.
    A record moved to another chain breaks both (its predecessor's hash and the sequences no longer match).
    """
    return hashlib.sha256(f"{previous_hash}|{sequence}|{content}".encode()).hexdigest()


def as_stored_json(value: Any) -> Any:
    """Return the value as a JSON column gives it back (dates become strings), so the hash survives a round trip."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class ReadOnlyQuerySet(models.QuerySet["AuditRecord"]):
    """Audit records are appended, never changed: bulk updates and deletes through the ORM are refused."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionDenied("Audit records cannot be changed.")

    def delete(self) -> NoReturn:
        raise PermissionDenied("Audit records cannot be deleted.")


# auditlog ships no types: its manager is Any to mypy, and the stubs' plugin cannot build a class on it
class AuditRecordManager(LogEntryManager.from_queryset(ReadOnlyQuerySet)):  # type: ignore[misc]
    """auditlog's manager (log_create, get_for_object) over the read-only queryset."""


class AuditRecord(AbstractLogEntry):
    """One recorded change: who, when, what, the values before and after, and its place in the hash chain."""

    # auditlog indexes six of its columns one by one; every judgment writes a record, so only the indexes the
    # trail's queries use are kept (Meta.indexes): these four are redefined without theirs.
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+",
                                     db_index=False, verbose_name="content type")
    object_pk = models.CharField(max_length=255, verbose_name="object pk")
    object_id = models.BigIntegerField(blank=True, null=True, verbose_name="object id")
    action = models.PositiveSmallIntegerField(choices=AbstractLogEntry.Action.choices, verbose_name="action")
    cid = models.CharField(max_length=255, blank=True, null=True, verbose_name="Correlation ID")
    # What happened in the platform's words (judgment.submit, campaign.import, job.cancel); blank for plain
    # create / update / delete records written by auditlog's model signals.
    event = models.CharField(max_length=64, blank=True)
    # Kept beside the actor foreign key: deleting a user nulls the key but must not change a hashed record.
    actor_username = models.CharField(max_length=150, blank=True)
    chain = models.PositiveSmallIntegerField(default=1)
    sequence = models.PositiveBigIntegerField(help_text="The record's place in its chain, from 1.")
    previous_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64)

    objects = AuditRecordManager()

    # auditlog ships no types: the fields of AbstractLogEntry this model reads and sets, as their values are
    # (annotations only: the fields themselves stay auditlog's)
    timestamp: datetime
    object_repr: str
    changes_text: str
    changes: Any
    additional_data: Any
    actor: User | None
    actor_id: int | None
    actor_email: str | None
    remote_addr: str | None

    class Meta(AbstractLogEntry.Meta):
        ordering = ["-id"]
        verbose_name = "audit record"
        constraints = [
            # also the index verify_audit walks each chain by
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_chain_sequence_unique"),
        ]
        indexes = [
            # an object's own history (campaign, dataset version, job pages), newest first
            models.Index(fields=["content_type", "object_pk", "-id"], name="audit_object_idx"),
            # the trail filtered by user, newest first
            models.Index(fields=["actor_username", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.what} by {self.actor_username or 'the system'}"

    def get_absolute_url(self) -> str:
        return reverse("audit:trail") + f"?object_type={self.object_type}&object_id={self.object_pk}"

    @property
    def what(self) -> str:
        return self.event or f"{self.object_type}.{self.get_action_display()}"

    @property
    def object_type(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"

    @property
    def change_rows(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for the pages; a many-to-many change reads (field, "add", "the objects")."""
        rows: list[tuple[str, str, str]] = []
        for field, values in (self.changes or {}).items():
            if isinstance(values, dict):
                rows.append((field, values.get("operation", ""), ", ".join(map(str, values.get("objects", [])))))
            elif isinstance(values, list | tuple) and len(values) == 2:
                rows.append((field, _shown(values[0]), _shown(values[1])))
            else:
                rows.append((field, "", _shown(values)))
        return rows

    @property
    def details_text(self) -> str:
        details = self.additional_data
        if isinstance(details, dict):
            return "; ".join(f"{key}: {_shown(value)}" for key, value in details.items())
        return "" if details is None else _shown(details)

    def canonical_content(self, content_type_label: str | None = None) -> str:
        """Return the record's hashed content (everything but its chain fields), as one canonical JSON text."""
        return canonical_content(
            timestamp=self.timestamp, content_type=content_type_label or self.object_type, object_pk=self.object_pk,
            object_repr=self.object_repr, action=self.action, event=self.event, changes=self.changes,
            actor=self.actor_username, remote_addr=self.remote_addr, additional_data=self.additional_data,
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionDenied("Audit records cannot be changed.")
        self._fill_actor()
        self.changes, self.additional_data = as_stored_json(self.changes), as_stored_json(self.additional_data)
        self.changes_text = self.changes_text or ""
        content = self.canonical_content()
        self.chain = chain_for(self.actor_id)
        head = AuditChainHead.objects.filter(pk=self.chain)
        with transaction.atomic(using=kwargs.get("using")):
            # The UPDATE comes first so that it takes the head row's lock (PostgreSQL) or the write lock (SQLite)
            # before the head is read: concurrent appends queue here instead of forking the chain.
            if not head.update(length=F("length") + 1):
                AuditChainHead.objects.get_or_create(pk=self.chain)  # a flushed test database has no head rows
                head.update(length=F("length") + 1)
            length, last_hash = head.values_list("length", "last_hash").get()
            self.sequence, self.previous_hash = length, last_hash
            self.record_hash = chain_hash(last_hash, length, content)
            super().save(*args, **kwargs)
            head.update(last_hash=self.record_hash)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionDenied("Audit records cannot be deleted.")

    def _fill_actor(self) -> None:
        actor, remote_addr = current_actor()
        if self.actor is None and actor is not None:
            self.actor = actor
        if self.remote_addr is None:
            self.remote_addr = remote_addr
        if self.actor is not None:
            self.actor_username = self.actor.get_username()
            self.actor_email = self.actor_email or self.actor.email or None


def _shown(value: object) -> str:
    return "—" if value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def canonical_content(*, timestamp: datetime, content_type: str, object_pk: object, object_repr: str, action: int,
                      event: str, changes: Any, actor: str, remote_addr: str | None, additional_data: Any) -> str:
    """The JSON text a record's hash covers; AuditRecord.canonical_content and the SQL hot path both use it."""
    return json.dumps({
        "timestamp": timestamp.astimezone(UTC).isoformat(), "content_type": content_type,
        "object_pk": str(object_pk), "object_repr": object_repr, "action": action, "event": event,
        "changes": changes, "actor": actor, "remote_addr": remote_addr, "additional_data": additional_data,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class AuditChainHead(models.Model):
    """A chain's head row (its id is the chain's number): its length and last hash (a truncated tail shows).

    Every append to the chain updates this row, which serialises appends to it. `previous_hash` is scratch space
    for the hot path's single statement, which sets it to the old last hash and reads it back (RETURNING shows
    only new values).
    """

    length = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    previous_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain {self.pk}: {self.length} records"


class SoftDeletion(models.Model):
    """A soft-deleted object (campaign, dataset version): hidden by its LiveManager until restored or purged."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=300)
    deleted_at = models.DateTimeField(default=timezone.now)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Field values to put back on restore (a deleted campaign is closed meanwhile: its status before).
    restore_state = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-deleted_at"]
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id"], name="softdeletion_unique")]
        # The unique constraint's index serves LiveManager's NOT EXISTS (content type, object id) lookup.

    def __str__(self) -> str:
        return f"{self.object_repr} (deleted {self.deleted_at:%Y-%m-%d %H:%M})"

    @property
    def restorable_until(self) -> datetime:
        return self.deleted_at + timedelta(days=settings.ALFA_SOFT_DELETE_RETENTION_DAYS)

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.restorable_until
