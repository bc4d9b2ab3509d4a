"""Queue (or run here) an evaluation: interactive diagnostic QA, a pairwise win-rate, or question generation."""

import json
from dataclasses import fields

from django.core.management.base import BaseCommand, CommandError

from alfa_platform.celery import app
from evaluation.actions import EvaluationError, do_enqueue_evaluation
from evaluation.configs import CONFIGS
from evaluation.fields import add_config_arguments, options_for
from jobs.models import JobStatus
from jobs.runner import run_job_here


class Command(BaseCommand):
    help = ("Evaluate a model: --task interactive (MediQ-style diagnostic accuracy), winrate (LLM-judge pairwise "
            "win-rate), generation (the next question for every test question) or expert_check (a physicians' "
            "campaign from two generation runs). With --inline the job runs in this process and the run's metrics "
            "are printed as one JSON object on the last line.")

    def add_arguments(self, parser):
        parser.add_argument("--task", required=True, choices=list(CONFIGS))
        add_config_arguments(parser, *CONFIGS.values())
        parser.add_argument("--inline", action="store_true", help="Run the job here, through the worker's function.")

    def handle(self, **options):
        cls = CONFIGS[options["task"]]
        known = {f.name for f in fields(cls)}
        foreign = [name for config in CONFIGS.values() for name in (f.name for f in fields(config))
                   if name not in known and options.get(name) is not None]
        if foreign:
            flags = ", ".join(sorted({"--" + name.replace("_", "-") for name in foreign}))
            raise CommandError(f"{flags} do(es) not apply to --task {options['task']}.")
        run = self.enqueue(options["task"], options_for(cls, options), options["inline"])
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

    def enqueue(self, task, values, inline):
        previous = app.conf.task_always_eager
        app.conf.task_always_eager = inline or previous
        try:
            return do_enqueue_evaluation(task, values)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            app.conf.task_always_eager = previous
