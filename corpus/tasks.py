"""Celery tasks of the corpus: the daily purge of raw uploads past their retention (scheduled by beat)."""

from celery import shared_task

from .retention import purge_uploads as purge_uploads_now


@shared_task(ignore_result=True)
def purge_uploads() -> int:
    return len(purge_uploads_now().deleted)
