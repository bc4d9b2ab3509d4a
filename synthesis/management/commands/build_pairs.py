"""Build or refresh preference pairs from the stored rewrites and verifications."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jobs.configs import add_config_arguments
from synthesis.actions import do_build_pairs
from synthesis.configs import PairConfig

from ._common import build_config


class Command(BaseCommand):
    help = "Create the three pairs per question x attribute (and refresh verdicts); overrides are kept."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_config_arguments(parser, PairConfig)

    def handle(self, **options: Any) -> None:
        counts = do_build_pairs(build_config(PairConfig, options))
        self.stdout.write(f"{counts['created']} pairs created, {counts['updated']} refreshed.")
