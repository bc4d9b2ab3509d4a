"""Queue (or run) a verification job: a judge ranks (enhanced, original, corrupted) per attribute."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jobs.configs import add_config_arguments
from synthesis.actions import do_enqueue_verification
from synthesis.configs import VerificationConfig

from ._common import add_run_arguments, build_config, submit


class Command(BaseCommand):
    help = "Judge every complete triple in the selection and turn the rankings into pair verdicts."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_config_arguments(parser, VerificationConfig)
        add_run_arguments(parser)

    def handle(self, **options: Any) -> None:
        config = build_config(VerificationConfig, options, role="judge")
        submit(self, lambda: do_enqueue_verification(config, queue=options["queue"] or None), options["inline"])
