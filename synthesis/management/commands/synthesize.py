"""Queue (or run) a synthesis job: normalize questions, then write attribute rewrites."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.actions import default_endpoint, do_enqueue_synthesis
from synthesis.configs import ConfigError, SynthesisConfig

from ._common import csv, submit


class Command(BaseCommand):
    help = "Normalize the selected questions and rewrite them along attributes, as a job."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", default="", help="Generator endpoint name (default: the default one).")
        parser.add_argument("--attributes", default="", help="Comma-separated keys (default: the six fine ones).")
        parser.add_argument("--directions", default="enhance_hindsight,corrupt")
        parser.add_argument("--split", default="")
        parser.add_argument("--qids", default="", help="Comma-separated question ids.")
        parser.add_argument("--limit", type=int, default=0)
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--top-p", type=float)
        parser.add_argument("--max-tokens", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--batch-size", type=int, default=0)
        parser.add_argument("--queue", default="", help="default or gpu (default: by the endpoint's backend).")
        parser.add_argument("--no-pairs", action="store_true", help="Do not build pairs at the end.")
        parser.add_argument("--inline", action="store_true", help="Run in this process instead of a worker.")

    def handle(self, **o):
        endpoint = o["endpoint"] or getattr(default_endpoint(), "name", "")
        if not endpoint:
            raise CommandError("No --endpoint and no default generator; run prepare_demo_model first.")
        sampling = {k: v for k, v in {"temperature": o["temperature"], "top_p": o["top_p"],
                                      "max_tokens": o["max_tokens"], "seed": o["seed"]}.items() if v is not None}
        options = {"endpoint": endpoint, "directions": csv(o["directions"]), "split": o["split"],
                   "qids": csv(o["qids"]), "limit": o["limit"], "sampling": sampling, "batch_size": o["batch_size"],
                   "build_pairs": not o["no_pairs"]}
        if o["attributes"]:
            options["attributes"] = csv(o["attributes"])
        try:
            config = SynthesisConfig(**options)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        submit(self, lambda: do_enqueue_synthesis(config, queue=o["queue"] or None), o["inline"])
