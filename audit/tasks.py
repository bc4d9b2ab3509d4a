"""Celery tasks of the audit app: the daily purge of soft-deleted objects past their retention (scheduled by beat)."""

from celery import shared_task

from .softdelete import purge_expired


@shared_task(ignore_result=True)
def purge_deleted() -> int:
    return len(purge_expired()[0])
