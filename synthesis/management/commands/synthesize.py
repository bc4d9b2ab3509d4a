"""Queue (or run) a synthesis job: normalize questions, then write attribute rewrites."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jobs.configs import add_config_arguments
from synthesis.actions import do_enqueue_synthesis
from synthesis.configs import SynthesisConfig

from ._common import add_run_arguments, build_config, submit


class Command(BaseCommand):
    help = "Normalize the selected questions and rewrite them along attributes, as a job."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_config_arguments(parser, SynthesisConfig)
        add_run_arguments(parser)

    def handle(self, **options: Any) -> None:
        config = build_config(SynthesisConfig, options, role="generator")
        submit(self, lambda: do_enqueue_synthesis(config, queue=options["queue"] or None), options["inline"])
