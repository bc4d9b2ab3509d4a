"""Serve a local model folder as an OpenAI-compatible /v1/chat/completions endpoint."""

from argparse import ArgumentParser
from typing import TYPE_CHECKING, Any, cast

from django.core.management.base import BaseCommand, CommandError

from synthesis.backends import BackendError
from synthesis.serving import ModelServer, serve_folder

if TYPE_CHECKING:
    from synthesis.backends.transformers_backend import TransformersBackend


class Command(BaseCommand):
    help = "Serve PATH (a transformers model folder) on /v1/chat/completions, batching concurrent requests."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
        parser.add_argument("--max-batch", type=int, default=16, help="Most requests per generate() call.")
        parser.add_argument("--batch-wait-ms", type=float, default=20, help="How long to gather a batch.")
        parser.add_argument("--name", default="", help="Model name reported to clients (default: PATH).")
        parser.add_argument("--register", default="", metavar="ENDPOINT",
                            help="While serving, register it as this OpenAI-compatible endpoint (synthesis and "
                                 "evaluation can use it); deactivated when serving stops.")

    def handle(self, path: str, port: int, host: str, device: str, max_batch: int, batch_wait_ms: float, name: str,
               register: str, **options: Any) -> None:
        def ready(server: ModelServer) -> None:
            also = f"; endpoint {register}" if register else ""
            self.stdout.write(f"Serving {path} at {server.base_url}/chat/completions (batches of up to {max_batch}, "
                              f"{cast('TransformersBackend', server.generator.backend).device}{also}); Ctrl-C stops.")
            self.stdout.flush()

        try:
            serve_folder(path, host=host, port=port, model_name=name or path, device=device, max_batch=max_batch,
                         batch_wait_s=batch_wait_ms / 1000, endpoint_name=register, on_ready=ready)
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            pass
