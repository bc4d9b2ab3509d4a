"""Average same-architecture models into a new registered model (policy or reward-model fusion), as a job."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import JobStatus
from jobs.runner import run_job_here
from training.actions import TrainingError, do_create_merge
from training.models import TrainedModel


class Command(BaseCommand):
    help = "Merge models by a weighted average of their weights; optionally every leave-one-out average too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("models", nargs="+", help="Registered model names or model folders.")
        parser.add_argument("--name", required=True, help="Name of the merged model.")
        parser.add_argument("--weights", nargs="+", type=float, help="One weight per model (default: equal).")
        parser.add_argument("--leave-one-out", action="store_true",
                            help="Also write NAME-wo-<model>: the average of all models but that one.")
        parser.add_argument("--inline", action="store_true",
                            help="Run it in this process and print the merged model's folder last.")

    def handle(self, models: list[str], **o: Any) -> None:
        try:
            job = do_create_merge(models, o["name"], weights=o["weights"], leave_one_out=o["leave_one_out"])
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Merge queued as job {job.pk}: {job.get_absolute_url()}")
        if not o["inline"]:
            self.stdout.write(str(job.pk))
            return
        job = run_job_here(job)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Merge {job.status}: {job.error}")
        names = [made["model"] for made in job.result["models"]]
        for name in [*names[1:], names[0]]:  # the leave-one-out merges first, the full merge on the last line
            self.stdout.write(str(TrainedModel.objects.get(name=name).folder))
