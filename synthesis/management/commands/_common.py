"""Shared pieces of the synthesis commands: enqueue or run in this process, then report."""

from django.core.management.base import CommandError

from alfa_platform.celery import app
from synthesis.actions import SynthesisError


def csv(value):
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def submit(command, enqueue, inline):
    """Enqueue the job (a worker runs it) or, with --inline, run it here and now; print where to watch it."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = inline or previous
    try:
        job = enqueue()
    except SynthesisError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        app.conf.task_always_eager = previous
    job.refresh_from_db()
    command.stdout.write(f"Job {job.pk} ({job.kind}) is {job.status} on queue {job.queue}: /jobs/{job.pk}/")
    if job.result:
        command.stdout.write(f"Result: {job.result}")
    if job.error:
        raise CommandError(job.error)
    return job
