"""Build or refresh preference pairs from the stored rewrites and verifications."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.actions import do_build_pairs
from synthesis.configs import ConfigError, PairConfig

from ._common import csv


class Command(BaseCommand):
    help = "Create the three pairs per question x attribute (and refresh verdicts); overrides are kept."

    def add_arguments(self, parser):
        parser.add_argument("--attributes", default="")
        parser.add_argument("--qids", default="")
        parser.add_argument("--enhanced-direction", default="enhance_hindsight")
        parser.add_argument("--generator-model", default="")

    def handle(self, **o):
        try:
            config = PairConfig(attributes=csv(o["attributes"]), qids=csv(o["qids"]),
                                enhanced_direction=o["enhanced_direction"], generator_model=o["generator_model"])
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        counts = do_build_pairs(config)
        self.stdout.write(f"{counts['created']} pairs created, {counts['updated']} refreshed.")
