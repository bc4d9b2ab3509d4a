"""Create or update a model endpoint from the command line (deployments register their vLLM server this way)."""

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from synthesis.actions import do_save_endpoint
from synthesis.models import Backend, ModelEndpoint


class Command(BaseCommand):
    help = "Create or update a ModelEndpoint, e.g. the docker-compose vLLM server as the default generator."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--backend", choices=Backend.values, default=Backend.OPENAI_HTTP)
        parser.add_argument("--model", required=True, help="Model folder, or the model name the server serves.")
        parser.add_argument("--base-url", default="")
        parser.add_argument("--api-key-env", default="",
                            help="Name of the variable holding the key (not the key), e.g. ALFA_LLM_KEY_VLLM.")
        parser.add_argument("--queue", default="", choices=["", "default", "gpu"])
        parser.add_argument("--max-concurrency", type=int)
        parser.add_argument("--default", action="store_true", help="Make it the default generator and judge.")

    def handle(self, name: str, backend: str, model: str, base_url: str, api_key_env: str, queue: str,
               max_concurrency: int | None, default: bool, **options: Any) -> None:
        endpoint = ModelEndpoint.objects.filter(name=name).first() or ModelEndpoint(name=name)
        endpoint.backend, endpoint.model, endpoint.base_url = backend, model, base_url
        endpoint.api_key_env, endpoint.queue = api_key_env, queue
        if max_concurrency:
            endpoint.max_concurrency = max_concurrency
        if default:
            endpoint.is_default_generator = endpoint.is_default_judge = True
        try:
            do_save_endpoint(endpoint, actor=None)  # whoever runs manage.py already holds the server
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Endpoint {endpoint.name}: {endpoint.backend} {endpoint.model} {endpoint.base_url} "
                          f"(queue {endpoint.default_queue}{', default' if default else ''})")
