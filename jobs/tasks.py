"""Celery tasks for jobs: thin wrappers that take ids and call plain functions."""

from celery import shared_task

from .actions import requeue_stale_jobs as requeue_stale_jobs_now
from .runner import execute_job


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int, version: int) -> int | None:
    """Run one job; a duplicate or stale delivery finds the row claimed or re-versioned and does nothing."""
    return execute_job(job_id, version)


@shared_task(ignore_result=True)
def requeue_stale_jobs() -> dict[str, list[int]]:
    """Watchdog, scheduled by beat: re-queue or fail jobs whose worker died."""
    return requeue_stale_jobs_now()
