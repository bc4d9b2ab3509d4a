"""Serve a local model folder as an OpenAI-compatible /v1/chat/completions endpoint."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.backends import BackendError, EndpointSettings, get_backend
from synthesis.serving import BatchingGenerator, ModelServer


class Command(BaseCommand):
    help = "Serve PATH (a transformers model folder) on /v1/chat/completions, batching concurrent requests."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
        parser.add_argument("--max-batch", type=int, default=16, help="Most requests per generate() call.")
        parser.add_argument("--batch-wait-ms", type=float, default=20, help="How long to gather a batch.")
        parser.add_argument("--name", default="", help="Model name reported to clients (default: PATH).")

    def handle(self, path, port, host, device, max_batch, batch_wait_ms, name, **options):
        try:
            backend = get_backend(EndpointSettings(backend="transformers", model=path, device=device,
                                                   batch_size=max_batch))
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        generator = BatchingGenerator(backend, max_batch=max_batch, max_wait_s=batch_wait_ms / 1000)
        server = ModelServer((host, port), generator, name or path)
        self.stdout.write(f"Serving {path} at {server.base_url}/chat/completions "
                          f"(batches of up to {max_batch}, {backend.device}); Ctrl-C stops.", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            generator.stop()
