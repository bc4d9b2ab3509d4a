"""Queue (or run) a verification job: a judge ranks (enhanced, original, corrupted) per attribute."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.actions import default_endpoint, do_enqueue_verification
from synthesis.configs import ConfigError, VerificationConfig

from ._common import csv, submit


class Command(BaseCommand):
    help = "Judge every complete triple in the selection and turn the rankings into pair verdicts."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", default="", help="Judge endpoint name (default: the default judge).")
        parser.add_argument("--attributes", default="")
        parser.add_argument("--qids", default="")
        parser.add_argument("--split", default="")
        parser.add_argument("--generator-model", default="")
        parser.add_argument("--enhanced-direction", default="enhance_hindsight")
        parser.add_argument("--max-attempts", type=int, default=3)
        parser.add_argument("--limit", type=int, default=0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--queue", default="")
        parser.add_argument("--inline", action="store_true")

    def handle(self, **o):
        endpoint = o["endpoint"] or getattr(default_endpoint("judge"), "name", "")
        if not endpoint:
            raise CommandError("No --endpoint and no default judge; run prepare_demo_model first.")
        try:
            config = VerificationConfig(
                endpoint=endpoint, attributes=csv(o["attributes"]), qids=csv(o["qids"]), split=o["split"],
                generator_model=o["generator_model"], enhanced_direction=o["enhanced_direction"],
                max_attempts=o["max_attempts"], limit=o["limit"], seed=o["seed"],
            )
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        submit(self, lambda: do_enqueue_verification(config, queue=o["queue"] or None), o["inline"])
