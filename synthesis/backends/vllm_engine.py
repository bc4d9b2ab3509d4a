"""In-process vLLM engine for GPU workers: an optional extra, imported only when an endpoint uses it."""

import time
from dataclasses import replace
from itertools import groupby
from types import ModuleType
from typing import Any, cast

from ..configs import SamplingConfig
from .base import (
    BackendError,
    BackendUnavailable,
    EndpointSettings,
    GenerationBackend,
    GenerationRequest,
    GenerationResult,
)

MISSING = ("vLLM is not installed in this environment. It is a GPU-only extra with its own CUDA torch: install it "
           "on GPU hosts only (pip install vllm, in a separate environment), or use the openai_http backend "
           "against a vLLM server.")


def import_vllm() -> ModuleType:
    try:
        import vllm
    except ImportError as exc:
        raise BackendUnavailable(MISSING) from exc
    return vllm


class VLLMBackend(GenerationBackend):
    """Continuous batching and prefix caching come from vLLM itself; this maps requests and results."""

    name = "vllm"

    def __init__(self, settings: EndpointSettings) -> None:
        super().__init__(settings)
        vllm = import_vllm()
        try:
            # Any: vllm is not type-checked here, and close() drops it
            self.llm: Any = vllm.LLM(model=settings.model, enable_prefix_caching=True, seed=0)
        except Exception as exc:  # vLLM raises many types for a bad folder or too little GPU memory
            raise BackendError(f"vLLM could not load {settings.model!r}: {exc}") from exc
        self.sampling_params = vllm.SamplingParams

    def params(self, sampling: SamplingConfig) -> Any:  # a vllm.SamplingParams
        return self.sampling_params(
            temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens,
            min_tokens=sampling.min_tokens, seed=sampling.seed,
        )

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        results: list[GenerationResult | None] = [None] * len(requests)
        # The seed stays out of the key: vLLM seeds each request on its own, so a batch may mix seeds.
        key = lambda i: (repr(replace(requests[i].sampling, seed=None)), bool(requests[i].prefill))  # noqa: E731
        for (_sampling, prefilled), group in groupby(sorted(range(len(requests)), key=key), key=key):
            indices = list(group)
            for i, result in zip(indices, self._chat([requests[i] for i in indices], prefilled), strict=True):
                results[i] = result
        return cast("list[GenerationResult]", results)  # every index is in one group

    def _chat(self, requests: list[GenerationRequest], prefilled: bool) -> list[GenerationResult]:
        conversations = [
            [*request.messages, {"role": "assistant", "content": request.prefill}] if prefilled
            else list(request.messages) for request in requests
        ]
        started = time.perf_counter()
        try:
            outputs = self.llm.chat(conversations, [self.params(request.sampling) for request in requests],
                                    use_tqdm=False,
                                    add_generation_prompt=not prefilled, continue_final_message=prefilled)
        except Exception as exc:
            return [GenerationResult(error=f"{type(exc).__name__}: {exc}") for _ in requests]
        elapsed = time.perf_counter() - started
        return [self._result(output, elapsed) for output in outputs]

    @staticmethod
    def _result(output: Any, elapsed: float) -> GenerationResult:  # output: a vllm.RequestOutput
        completion = output.outputs[0]
        return GenerationResult(
            text=completion.text.strip(), tokens_in=len(output.prompt_token_ids or []),
            tokens_out=len(completion.token_ids), latency_s=elapsed, finish_reason=completion.finish_reason or "",
        )

    def close(self) -> None:
        self.llm = None
