"""Shared pieces of the synthesis commands: options from the config, enqueue or run in this process, then report."""

from argparse import ArgumentParser
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError

from alfa_platform.celery import app
from jobs.configs import ConfigError, JobConfig, config_from_options
from jobs.models import Job
from synthesis.actions import SynthesisError, default_endpoint

C = TypeVar("C", bound=JobConfig)


def add_run_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--queue", default="", help="default or gpu (default: by the endpoint's backend).")
    parser.add_argument("--inline", action="store_true", help="Run in this process instead of a worker.")


def build_config(config_class: type[C], options: Mapping[str, Any], role: str | None = None) -> C:
    """Return the config the options (and --config-file) spell; a role's default endpoint fills a missing one."""
    endpoint = getattr(default_endpoint(role), "name", "") if role else ""
    if role and not endpoint and "endpoint" not in options and "config_file" not in options:
        raise CommandError(f"No --endpoint and no default {role}; run prepare_demo_model first.")
    try:
        return config_from_options(config_class, options, defaults={"endpoint": endpoint} if endpoint else None)
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc


def submit(command: BaseCommand, enqueue: Callable[[], Job], inline: bool) -> Job:
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
