"""Soft deletion: a deleted campaign or dataset version leaves every list, page and API until an admin restores it.

The deletion is a row here (who, when, and the state to restore), not a column on the deleted model's table, so
any app can make a model soft-deletable by giving it `LiveManager` as its default manager. After
ALFA_SOFT_DELETE_RETENTION_DAYS, purge_deleted removes the object for good. Every step is an audit record.
"""

from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from auditlog.context import disable_auditlog
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from .models import SoftDeletion
from .recording import Action, record_event


class SoftDeleteError(Exception):
    """A deletion, restore or purge the object's state does not allow."""


_M = TypeVar("_M", bound=models.Model)


class LiveQuerySet(models.QuerySet[_M]):
    def deleted(self) -> models.QuerySet[_M]:
        """The soft-deleted rows (what the restore page lists)."""
        return self.model._base_manager.filter(Exists(_deletions(self.model)))


def _deletions(model: type[models.Model]) -> models.QuerySet[SoftDeletion]:
    # By label, not by a content type id looked up here: querysets are built at import time too (a view's
    # `queryset`), where no database is to be asked.
    return SoftDeletion.objects.filter(content_type__app_label=model._meta.app_label,
                                       content_type__model=model._meta.model_name, object_id=OuterRef("pk"))


_LiveManagerBase = models.Manager.from_queryset(LiveQuerySet)


class LiveManager(_LiveManagerBase[_M]):
    """The default manager of a soft-deletable model: rows that were soft-deleted are left out."""

    def get_queryset(self) -> models.QuerySet[_M]:
        return super().get_queryset().exclude(Exists(_deletions(self.model)))


def soft_deletable_models() -> list[type[models.Model]]:
    """Every model whose default manager is a LiveManager (campaigns, dataset versions)."""
    return [model for model in apps.get_models() if isinstance(model._default_manager, LiveManager)]


def live_object(object_type: str, pk: int) -> models.Model | None:
    """Return the live (not deleted) object of a soft-deletable type given as app_label.model_name, or None."""
    for model in soft_deletable_models():
        if object_type == model._meta.label_lower:
            return model._default_manager.filter(pk=pk).first()
    return None


def closing_changes(obj: models.Model) -> dict[str, Any]:
    """Fields a deletion sets, to undo on restore: a campaign with a `status` closes, so no hot path serves it."""
    closed = getattr(type(obj), "DELETED_STATUS", None)
    return {} if closed is None else {"status": closed}


def retention() -> timedelta:
    return timedelta(days=settings.ALFA_SOFT_DELETE_RETENTION_DAYS)


def _label(obj: models.Model) -> str | None:
    return obj._meta.model_name


def _model_of(deletion: SoftDeletion) -> type[models.Model]:
    # model_class() is None only for a model no longer installed; such a deletion fails as it always did
    return cast(type[models.Model], deletion.content_type.model_class())


def do_soft_delete(obj: models.Model, user: User, state: dict[str, Any] | None = None, **changes: Any) -> SoftDeletion:
    """Hide `obj` everywhere until restored; `changes` are fields set now (a campaign closes) and undone on restore.

    `state` is what restore puts back: by default, the old values of the changed fields.
    """
    with transaction.atomic():
        saved = {name: getattr(obj, name) for name in changes} if state is None else state
        for name, value in changes.items():
            setattr(obj, name, value)
        if changes:
            obj.save(update_fields=list(changes))
        content_type = ContentType.objects.get_for_model(obj)
        deletion, created = SoftDeletion.objects.get_or_create(
            content_type=content_type, object_id=obj.pk,
            defaults={"deleted_by": user, "object_repr": str(obj)[:300], "restore_state": saved})
        if not created:
            raise SoftDeleteError(f"{obj} is already deleted.")
        record_event(obj, f"{_label(obj)}.delete", before={"deleted": False}, after={"deleted": True}, actor=user,
                     details={"restorable_until": (deletion.deleted_at + retention()).isoformat()})
    return deletion


def do_restore(deletion: SoftDeletion, user: User) -> models.Model:
    """Bring a soft-deleted object back as it was, within the retention period."""
    if deletion.is_expired:
        raise SoftDeleteError("Its retention period is over: it can no longer be restored.")
    with transaction.atomic():
        obj = _model_of(deletion)._base_manager.select_for_update().get(pk=deletion.object_id)
        for name, value in deletion.restore_state.items():
            setattr(obj, name, value)
        if deletion.restore_state:
            obj.save(update_fields=list(deletion.restore_state))
        SoftDeletion.objects.filter(pk=deletion.pk).delete()
        record_event(obj, f"{_label(obj)}.restore", before={"deleted": True}, after={"deleted": False}, actor=user)
    return obj


def purge_expired(now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Delete for good what was soft-deleted longer ago than the retention period; return (purged, kept) names.

    An object something else still protects (a dataset version a training run used) is kept, and said why.
    """
    cutoff = (now or timezone.now()) - retention()
    purged: list[str] = []
    kept: list[str] = []
    for deletion in SoftDeletion.objects.filter(deleted_at__lt=cutoff).select_related("content_type"):
        model = _model_of(deletion)
        try:
            with transaction.atomic():
                obj = model._base_manager.filter(pk=deletion.object_id).first()
                if obj is not None:
                    record_event(obj, f"{_label(obj)}.purge", action=Action.DELETE, before={"deleted": True},
                                 details={"deleted_at": deletion.deleted_at.isoformat()})
                    with disable_auditlog():  # this one record, not one per cascaded row
                        obj.delete()
                SoftDeletion.objects.filter(pk=deletion.pk).delete()
        except (ProtectedError, RestrictedError) as exc:
            users = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            kept.append(f"{deletion.object_repr}: still used by {len(users)} other row(s)")
            continue
        purged.append(deletion.object_repr)
    return purged, kept
