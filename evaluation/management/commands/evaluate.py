"""Queue (or run here) an evaluation: interactive diagnostic QA, a pairwise win-rate, or question generation."""

import argparse
import json
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alfa_platform.celery import app
from evaluation.actions import ENQUEUE, EvaluationError
from evaluation.configs import CONFIGS
from evaluation.models import EvaluationRun
from jobs.configs import ConfigError, JobConfig, add_config_arguments, config_from_options, flat_options
from jobs.models import JobStatus
from jobs.runner import run_job_here


def named_task(args: Iterable[str] | None) -> str | None:
    """Return the task `args` name with --task (None when they name none): it decides which options exist."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--task")
    known, _rest = peek.parse_known_args(args)
    return known.task


class TaskParser(CommandParser):
    """A parser that adds the options of the config --task names (jobs.configs) before it parses, so each task's
    options, help and defaults are its config's own; an option of another task is refused by name."""

    added = None

    def parse_known_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> tuple[Any, list[str]]:
        task = named_task(args)
        if task in CONFIGS and self.added is None:
            add_config_arguments(self, CONFIGS[task])
            self.added = task
        namespace, extras = super().parse_known_args(args, namespace)
        if self.added and (foreign := foreign_flags(self.added, extras)):
            self.error(f"{', '.join(foreign)} do(es) not apply to --task {self.added}.")
        return namespace, extras


def foreign_flags(task: str, words: list[str]) -> list[str]:
    own = {option.flag for option in flat_options(CONFIGS[task])}
    others = {option.flag for config in CONFIGS.values() for option in flat_options(config)} - own
    return sorted({word.partition("=")[0] for word in words} & others)


class Command(BaseCommand):
    help = ("Evaluate a model: --task interactive (MediQ-style diagnostic accuracy), winrate (LLM-judge pairwise "
            "win-rate), generation (the next question for every test question) or expert_check (a physicians' "
            "campaign from two generation runs); `--task TASK --help` lists that task's options. With --inline the "
            "job runs in this process and the run's metrics are printed as one JSON object on the last line.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = TaskParser  # BaseCommand builds a CommandParser; this one adds the task's options
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", required=True, choices=list(CONFIGS))
        parser.add_argument("--inline", action="store_true", help="Run the job here, through the worker's function.")

    def handle(self, **options: Any) -> None:
        task = options["task"]
        try:
            config: JobConfig = config_from_options(CONFIGS[task], options)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        run = self.enqueue(task, config, options["inline"])
        if run.job is None:  # an expert check: physicians judge in its campaign, no job runs
            self.stdout.write(f"Run {run.pk} ({run.kind}): campaign {run.provenance['campaign']} with "
                              f"{len(run.provenance['qids'])} items, a draft; start it from "
                              f"/annotation/campaigns/{run.provenance['campaign']}/")
            return
        job = run.job
        if options["inline"]:
            # Inside an outer transaction (a test, a shell) the on-commit send waits; run it now, as a worker would.
            # The deferred delivery later finds the job claimed and does nothing.
            job = run_job_here(job)
        else:
            job.refresh_from_db()
        run.refresh_from_db()
        self.stdout.write(f"Run {run.pk} ({run.kind}, {run.model_name}): job {job.pk} is {job.status} on queue "
                          f"{job.queue}; /evaluation/runs/{run.pk}/")
        if not options["inline"]:
            return
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or f"The job ended {job.status}.")
        self.stdout.write(json.dumps({"run": run.pk, **run.metrics}, sort_keys=True))

    def enqueue(self, task: str, config: JobConfig, inline: bool) -> EvaluationRun:
        previous = app.conf.task_always_eager
        app.conf.task_always_eager = inline or previous
        try:
            return ENQUEUE[task][1](config)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            app.conf.task_always_eager = previous
