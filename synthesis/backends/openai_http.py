"""OpenAI-compatible chat completions over HTTP: bounded concurrency, timeouts, retries with backoff, rate limit."""

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ..secrets import KeyRefused, api_key_for
from .base import BackendError, EndpointSettings, GenerationBackend, GenerationRequest, GenerationResult

logger = logging.getLogger(__name__)

RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}


class RetryableError(Exception):
    """A failure worth another try: a timeout, a dropped connection, a 5xx or 429, a malformed body."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """Space requests at least 60/rpm seconds apart across threads (0 rpm: no limit)."""

    def __init__(self, requests_per_minute: int) -> None:
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        time.sleep(max(0.0, slot - now))


class OpenAIHTTPBackend(GenerationBackend):
    """Sends each request to /chat/completions from a pool of at most `max_concurrency` threads."""

    name = "openai_http"

    def __init__(self, settings: EndpointSettings) -> None:
        super().__init__(settings)
        if not settings.base_url:
            raise BackendError("An HTTP endpoint needs a base URL.")
        headers = {"Content-Type": "application/json"}
        if settings.api_key_env:
            try:
                key = api_key_for(settings.api_key_env, settings.base_url, settings.api_key_origin)
            except KeyRefused as exc:
                raise BackendError(str(exc)) from exc
            headers["Authorization"] = f"Bearer {key}"
        concurrency = max(1, settings.max_concurrency)
        self.client = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/", headers=headers,
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.rate_limiter = RateLimiter(settings.requests_per_minute)
        self.usage = {"requests": 0, "tokens_in": 0, "tokens_out": 0}
        self._usage_lock = threading.Lock()

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        workers = min(max(1, self.settings.max_concurrency), len(requests))
        if workers == 1:
            return [self._call(request) for request in requests]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-http") as pool:
            return list(pool.map(self._call, requests))

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {"model": self.settings.model, "messages": list(request.messages),
                                "temperature": sampling.temperature, "top_p": sampling.top_p,
                                "max_tokens": sampling.max_tokens}
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.min_tokens:
            body["min_tokens"] = sampling.min_tokens  # vLLM and serve_model extension
        if request.prefill:
            # vLLM's (and serve_model's) way to continue a partly written assistant reply.
            body["messages"].append({"role": "assistant", "content": request.prefill})
            body.update(continue_final_message=True, add_generation_prompt=False)
        return body

    def _call(self, request: GenerationRequest) -> GenerationResult:
        """Return a result; retry what may pass next time, with exponential backoff and full jitter."""
        body = self.payload(request)
        attempts = self.settings.max_retries + 1
        error = ""
        for attempt in range(1, attempts + 1):
            self.rate_limiter.wait()
            started = time.perf_counter()
            try:
                result = self._post(body)
            except RetryableError as exc:
                error = str(exc)
                if attempt < attempts:
                    time.sleep(self.backoff(attempt, exc.retry_after))
                continue
            except BackendError as exc:
                return GenerationResult(error=str(exc), attempts=attempt)
            result.latency_s = time.perf_counter() - started
            result.attempts = attempt
            return result
        return GenerationResult(error=f"Gave up after {attempts} attempts: {error}", attempts=attempts)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        ceiling = min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)  # full jitter: clients that failed together do not retry together
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.backoff_cap_s))
        return delay

    def _post(self, body: dict[str, Any]) -> GenerationResult:
        try:
            response = self.client.post("chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"Timed out after {self.settings.timeout_s:g} s ({type(exc).__name__}).") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"Connection failed: {exc}") from exc
        if response.status_code in RETRY_STATUSES:
            raise RetryableError(f"HTTP {response.status_code}: {response.text[:200]}", retry_after_of(response))
        if response.status_code != 200:
            raise BackendError(f"HTTP {response.status_code}: {response.text[:500]}")
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> GenerationResult:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RetryableError(f"Malformed reply ({type(exc).__name__}): {response.text[:200]}") from exc
        usage = data.get("usage") or {}
        tokens_in, tokens_out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        with self._usage_lock:
            self.usage["requests"] += 1
            self.usage["tokens_in"] += tokens_in
            self.usage["tokens_out"] += tokens_out
        return GenerationResult(text=text.strip(), tokens_in=tokens_in, tokens_out=tokens_out,
                                finish_reason=choice.get("finish_reason") or "",
                                raw={"id": data.get("id", ""), "usage": usage})

    def close(self) -> None:
        self.client.close()


def retry_after_of(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
