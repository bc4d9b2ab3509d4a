"""State changes of jobs: enqueue, cancel, retry, and the watchdog's re-queue of lost jobs."""

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.recording import record_event

from .models import ItemStatus, Job, JobStatus
from .runner import JOB_KINDS, stale_cutoff

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
# By name, from Celery's registry (JobsConfig.ready loads it): jobs.tasks imports this module, so importing it
# here would close a cycle.
RUN_JOB_TASK = "jobs.tasks.run_job"


class JobError(Exception):
    """A request about a job that its state does not allow."""


def send_job(job: Job) -> None:
    """Send the job's task to its queue once the surrounding transaction commits."""

    def send() -> None:
        result = current_app.tasks[RUN_JOB_TASK].apply_async((job.pk, job.version), queue=job.queue)
        Job.objects.filter(pk=job.pk, version=job.version).update(celery_task_id=result.id or "")

    transaction.on_commit(send)


def do_enqueue_job(
    kind: str, params: dict[str, Any] | None = None, owner: "User | None" = None, queue: str | None = None,
    items: Iterable[str] = (),
) -> Job:
    """Create a job of a registered kind (with its work items) and queue it."""
    if kind not in JOB_KINDS:
        raise JobError(f"Unknown job kind {kind!r}.")
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=params or {}, owner=owner, queue=queue or JOB_KINDS[kind].queue)
        if items:
            job.items.bulk_create([job.items.model(job=job, key=key) for key in items])
        send_job(job)
    return job


def do_cancel_job(job: Job) -> Job:
    """Cancel a queued job, or a running one whose worker has died, at once; ask a live one to stop at its next report.

    Ending a job whose heartbeat is stale is safe even if its worker was only paused: the job is no longer running,
    so that worker's writes are fenced out (jobs.runner.Attempt) and it stops at its next one.
    """
    if not job.can_cancel:
        raise JobError(f"A {job.status} job cannot be cancelled.")
    before = {"status": job.status, "cancel_requested": job.cancel_requested}
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, error="Cancelled before it started."
    )
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=stale_cutoff()).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now,
        error="Cancelled; its worker had stopped sending heartbeats.",
    )
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    record_event(job, "job.cancel", before=before, after={"status": job.status, "cancel_requested": True})
    return job


def do_retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again; items that already succeeded are kept and not redone."""
    if not job.can_retry:
        raise JobError(f"A {job.status} job cannot be retried.")
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=job.status, version=job.version).update(
            status=JobStatus.QUEUED, version=F("version") + 1, cancel_requested=False, error="", traceback="",
            finished_at=None,
        )
        if not updated:
            raise JobError("The job changed meanwhile; reload and try again.")
        job.items.filter(status=ItemStatus.FAILED).update(status=ItemStatus.PENDING)
        before = {"status": job.status, "version": job.version}
        job.refresh_from_db()
        record_event(job, "job.retry", before=before, after={"status": job.status, "version": job.version})
        send_job(job)
    return job


def requeue_stale_jobs() -> dict[str, list[int]]:
    """Re-queue running jobs whose worker stopped beating; fail them after JOB_MAX_ATTEMPTS; end cancelled ones."""
    outcomes: dict[str, list[int]] = {"requeued": [], "failed": [], "cancelled": []}
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_cutoff()):
        note = f"\n{timezone.now():%H:%M:%S} watchdog: no heartbeat since {job.heartbeat_at:%H:%M:%S}; worker lost"
        if job.cancel_requested:  # re-queued, it would never be claimed again (claims skip cancelled jobs)
            done = Job.objects.filter(pk=job.pk, version=job.version, status=JobStatus.RUNNING).update(
                status=JobStatus.CANCELLED, finished_at=timezone.now(), log_tail=job.log_tail + note + "; cancelled",
                error="Cancelled; its worker had stopped sending heartbeats.",
            )
            if done:
                outcomes["cancelled"].append(job.pk)
            continue
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            done = Job.objects.filter(pk=job.pk, version=job.version, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED, finished_at=timezone.now(), log_tail=job.log_tail + note,
                error=f"Worker lost {job.attempts} times; giving up. Retry to resume from the finished items.",
            )
            if done:
                outcomes["failed"].append(job.pk)
            continue
        with transaction.atomic():
            done = Job.objects.filter(pk=job.pk, version=job.version, status=JobStatus.RUNNING).update(
                status=JobStatus.QUEUED, version=F("version") + 1, log_tail=job.log_tail + note + "; re-queued"
            )
            if done:
                job.refresh_from_db()
                send_job(job)
                outcomes["requeued"].append(job.pk)
    if any(outcomes.values()):
        logger.warning("watchdog: %s", outcomes)
    return outcomes
