"""Serve a local model folder as an OpenAI-compatible /v1/chat/completions endpoint."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.backends import BackendError
from synthesis.serving import serve_folder


class Command(BaseCommand):
    help = "Serve PATH (a transformers model folder) on /v1/chat/completions, batching concurrent requests."

    def add_arguments(self, parser) -> None:
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

    def handle(self, path, port: int, host: str, device, max_batch, batch_wait_ms, name: str, register, **options):
        def ready(server) -> None:
            also = f"; endpoint {register}" if register else ""
            self.stdout.write(f"Serving {path} at {server.base_url}/chat/completions (batches of up to {max_batch}, "
                              f"{server.generator.backend.device}{also}); Ctrl-C stops.")
            self.stdout.flush()

        try:
            serve_folder(path, host=host, port=port, model_name=name or path, device=device, max_batch=max_batch,
                         batch_wait_s=batch_wait_ms / 1000, endpoint_name=register, on_ready=ready)
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            pass
