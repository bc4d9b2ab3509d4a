"""Generation backends behind one interface, chosen by name; local models stay loaded per process."""

from importlib import import_module

from .base import (
    BackendError,
    BackendUnavailable,
    EndpointSettings,
    GenerationBackend,
    GenerationRequest,
    GenerationResult,
)

BACKENDS = {
    "transformers": "synthesis.backends.transformers_backend.TransformersBackend",
    "openai_http": "synthesis.backends.openai_http.OpenAIHTTPBackend",
    "vllm": "synthesis.backends.vllm_engine.VLLMBackend",
}
LOCAL_BACKENDS = {"transformers", "vllm"}
_loaded: dict[tuple[str, str, str], GenerationBackend] = {}

__all__ = [
    "BACKENDS", "BackendError", "BackendUnavailable", "EndpointSettings", "GenerationBackend", "GenerationRequest",
    "GenerationResult", "get_backend", "release_backends",
]


def backend_class(name: str) -> type[GenerationBackend]:
    if name not in BACKENDS:
        raise BackendError(f"Unknown backend {name!r}; known: {', '.join(BACKENDS)}.")
    module, _, cls = BACKENDS[name].rpartition(".")
    backend: type[GenerationBackend] = getattr(import_module(module), cls)
    return backend


def get_backend(settings: EndpointSettings) -> GenerationBackend:
    """Return a backend for the settings; a local model is loaded once per process and reused."""
    if settings.backend not in LOCAL_BACKENDS:
        return backend_class(settings.backend)(settings)
    key = (settings.backend, settings.model, settings.device)
    if key not in _loaded:
        release_backends()  # one local model at a time: a worker rarely has memory for two
        _loaded[key] = backend_class(settings.backend)(settings)
    backend = _loaded[key]
    backend.settings = settings  # batch size and the like may differ between endpoints on one folder
    return backend


def release_backends() -> None:
    for backend in _loaded.values():
        backend.close()
    _loaded.clear()
