"""Serve a local model folder as an OpenAI-compatible /v1/chat/completions endpoint, batching concurrent requests."""

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .backends import GenerationBackend, GenerationRequest, GenerationResult
from .configs import ConfigError, SamplingConfig

if TYPE_CHECKING:
    from .models import ModelEndpoint

logger = logging.getLogger(__name__)


class RequestError(ValueError):
    """A request body the server cannot serve (answered with HTTP 400)."""


class BatchingGenerator:
    """One thread generates; requests arriving within `max_wait_s` of each other share a generate() call."""

    def __init__(self, backend: GenerationBackend, max_batch: int = 16, max_wait_s: float = 0.02) -> None:
        self.backend, self.max_batch, self.max_wait_s = backend, max_batch, max_wait_s
        self.queue: queue.Queue[tuple[GenerationRequest, Future[GenerationResult]] | None] = queue.Queue()
        self.batches: list[int] = []  # sizes of the batches run, for tests and the log
        self.thread = threading.Thread(target=self._loop, daemon=True, name="serve-model-batcher")
        self.thread.start()

    def submit(self, request: GenerationRequest) -> GenerationResult:
        future: Future[GenerationResult] = Future()
        self.queue.put((request, future))
        return future.result()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _collect(self) -> list[tuple[GenerationRequest, Future[GenerationResult]]] | None:
        first = self.queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                entry = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if entry is None:
                self.queue.put(None)
                break
            batch.append(entry)
        return batch

    def _loop(self) -> None:
        while (batch := self._collect()) is not None:
            self.batches.append(len(batch))
            try:
                results = self.backend.generate([request for request, _future in batch])
            except Exception as exc:  # never let one bad batch stop the server
                logger.exception("batch failed")
                for _request, future in batch:
                    future.set_exception(exc)
                continue
            for (_request, future), result in zip(batch, results, strict=True):
                future.set_result(result)


def parse_chat_request(body: dict[str, Any]) -> GenerationRequest:
    """Return a GenerationRequest from an OpenAI chat-completions body; raise RequestError when unusable."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") for m in messages
    ):
        raise RequestError("`messages` must be a non-empty list of {role, content}.")
    if body.get("stream"):
        raise RequestError("Streaming is not supported.")
    if body.get("n", 1) != 1:
        raise RequestError("Only n=1 is supported.")
    prefill = ""
    if body.get("continue_final_message") and messages[-1]["role"] == "assistant":
        prefill, messages = messages[-1]["content"], messages[:-1]
    try:
        sampling = SamplingConfig.from_dict({
            key: body[key] for key in ("temperature", "top_p", "max_tokens", "seed", "min_tokens") if key in body
        })
    except (ConfigError, TypeError) as exc:
        raise RequestError(str(exc)) from exc
    return GenerationRequest(messages=messages, sampling=sampling, prefill=prefill)


def completion_body(model_name: str, result: GenerationResult) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model_name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                     "finish_reason": result.finish_reason or "stop"}],
        "usage": {"prompt_tokens": result.tokens_in, "completion_tokens": result.tokens_out,
                  "total_tokens": result.tokens_in + result.tokens_out},
    }


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    server_address: tuple[str, int]

    def __init__(self, address: tuple[str, int], generator: BatchingGenerator, model_name: str) -> None:
        super().__init__(address, ChatHandler)
        self.generator, self.model_name = generator, model_name

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


class ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib signature
        logger.debug("%s " + format, self.address_string(), *args)

    def send_json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/health", "/v1/health"):
            self.send_json(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self.send_json(404, {"error": {"message": "Not found.", "type": "not_found"}})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": "Not found.", "type": "not_found"}})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            request = parse_chat_request(json.loads(self.rfile.read(length) or b"{}"))
        except (ValueError, RequestError) as exc:
            self.send_json(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            return
        result = self.server.generator.submit(request)
        if not result.ok:
            self.send_json(500, {"error": {"message": result.error, "type": "server_error"}})
            return
        self.send_json(200, completion_body(self.server.model_name, result))


def start_server(backend: GenerationBackend, host: str = "127.0.0.1", port: int = 0, max_batch: int = 16,
                 max_wait_s: float = 0.02, model_name: str | None = None) -> ModelServer:
    """Start a server thread; return the server (`.base_url`, `.shutdown()`, `.generator.batches`)."""
    generator = BatchingGenerator(backend, max_batch=max_batch, max_wait_s=max_wait_s)
    server = ModelServer((host, port), generator, model_name or backend.model_name)
    threading.Thread(target=server.serve_forever, daemon=True, name="serve-model").start()
    return server


def stop_server(server: ModelServer) -> None:
    server.shutdown()
    server.server_close()
    server.generator.stop()


def serve_folder(path: str, *, host: str, port: int, model_name: str, device: str = "auto", max_batch: int = 16,
                 batch_wait_s: float = 0.02, endpoint_name: str = "", keep_serving: Callable[[], bool] = lambda: True,
                 on_ready: Callable[[ModelServer], None] = lambda server: None, poll_s: float = 0.5) -> None:
    """Serve a transformers folder on /v1/chat/completions until `keep_serving()` is false or raises.

    While it serves, `endpoint_name` (when given) is an active OpenAI-compatible endpoint pointing at it, so
    synthesis and evaluation can send it requests; it is deactivated when serving stops.
    """
    from .backends import EndpointSettings, get_backend

    backend = get_backend(EndpointSettings(backend="transformers", model=path, device=device, batch_size=max_batch))
    generator = BatchingGenerator(backend, max_batch=max_batch, max_wait_s=batch_wait_s)
    server = ModelServer((host, port), generator, model_name)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_s}, daemon=True,
                              name="serve-model-http")
    thread.start()
    endpoint = register_served_endpoint(endpoint_name, server.base_url, model_name) if endpoint_name else None
    try:
        on_ready(server)
        while keep_serving():
            time.sleep(poll_s)
    finally:
        server.shutdown()
        server.server_close()
        generator.stop()
        if endpoint is not None:
            type(endpoint).objects.filter(pk=endpoint.pk).update(is_active=False)


def register_served_endpoint(name: str, base_url: str, model_name: str) -> "ModelEndpoint":
    """Create or update the OpenAI-compatible endpoint of a model being served at `base_url`, active."""
    from .actions import do_save_endpoint
    from .models import Backend, ModelEndpoint

    endpoint = ModelEndpoint.objects.filter(name=name).first() or ModelEndpoint(name=name)
    endpoint.backend, endpoint.base_url, endpoint.model = Backend.OPENAI_HTTP, base_url, model_name
    endpoint.api_key_env, endpoint.is_active = "", True
    endpoint.notes = f"Served by serve_model at {base_url}; inactive when serving stops."
    return do_save_endpoint(endpoint, actor=None)
