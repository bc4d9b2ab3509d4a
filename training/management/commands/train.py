"""Queue a training run (or run it here with --inline) from a dataset version; print its id or its model folder."""

import argparse
from collections.abc import Sequence
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.configs import ConfigError, add_config_arguments, config_from_options
from jobs.models import Job, JobStatus
from jobs.runner import run_job_here
from training.actions import TrainingError, do_create_training_run, find_dataset_version
from training.configs import CONFIGS
from training.models import TrainedModel, TrainingMethod


def csv(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def named_method(args: list[str] | None) -> str | None:
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--method")
    return peek.parse_known_args(args)[0].method


class MethodOptionsParser(CommandParser):
    """Adds the options of the method --method names before parsing, so that `train --method rm --help` lists
    rm's options with rm's presets as defaults and refuses an option rm lacks (jobs.configs builds them)."""

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it on the namespace
            self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        method = named_method(list(args) if args is not None else None)
        if method in CONFIGS and not any(action.dest == "config_file" for action in self._actions):
            add_config_arguments(self, CONFIGS[method], aliases={"use_peft": "--lora"})
        return super().parse_known_args(args, namespace)


class Command(BaseCommand):
    help = "Train DPO, SFT or a reward model from a dataset version with TRL, as a job on the gpu or default queue."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, epilog="Each method's options (TRL's names, the "
                                       "method's preset as default): train --method dpo|sft|rm --help.", **kwargs)
        parser.__class__ = MethodOptionsParser  # BaseCommand builds a CommandParser; this one adds options late
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--method", required=True, choices=TrainingMethod.values)
        parser.add_argument("--dataset", required=True, help="Dataset version: its id or NAME@vN.")
        parser.add_argument("--base-model", required=True, help="A model folder, or a registered model's name.")
        parser.add_argument("--attributes", default="", help="Comma-separated; one per-attribute run, several or "
                                                             "none (all) for data mixing.")
        parser.add_argument("--pair-types", default="", help="Comma-separated pair types (default: all).")
        parser.add_argument("--name", default="", help="Name of the model it registers (default run-<id>).")
        parser.add_argument("--queue", default="", help="default or gpu (default: by the model's size).")
        parser.add_argument("--inline", action="store_true",
                            help="Run it in this process, as a worker would, and print the model's folder last.")

    def handle(self, **o: Any) -> None:
        try:
            config = config_from_options(CONFIGS[o["method"]], o)
            run = do_create_training_run(
                o["method"], find_dataset_version(o["dataset"]), o["base_model"], attributes=csv(o["attributes"]),
                pair_types=csv(o["pair_types"]), config=config.to_dict(), name=o["name"], queue=o["queue"])
        except (ConfigError, TrainingError) as exc:
            raise CommandError(str(exc)) from exc
        job = cast(Job, run.job)  # the run was just queued
        self.stdout.write(f"Run {run.pk} ({run.method}) queued as job {run.job_id} on queue {job.queue}: "
                          f"{run.get_absolute_url()}")
        if not o["inline"]:
            self.stdout.write(str(run.pk))
            return
        job = run_job_here(job)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} {job.status}: {job.error}")
        model = TrainedModel.objects.get(run=run)
        self.stdout.write(f"Registered {model} ({model.final_metrics.get('global_step')} steps)")
        self.stdout.write(str(model.folder))
