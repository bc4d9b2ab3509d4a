"""The contract every generation backend fulfils: requests in, one result per request out, no per-item raise."""

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..configs import SamplingConfig

if TYPE_CHECKING:
    from ..models import ModelEndpoint


class BackendError(Exception):
    """A backend cannot serve requests at all (bad model folder, missing package, bad configuration)."""


class BackendUnavailable(BackendError):
    """The backend's optional package is not installed here."""


@dataclass(frozen=True)
class EndpointSettings:
    """What a backend needs to know about its endpoint, detached from the database row."""

    backend: str
    model: str
    base_url: str = ""
    api_key_env: str = ""
    api_key_origin: str = ""  # where the key was registered to go; the HTTP backend sends it nowhere else
    device: str = "auto"
    batch_size: int = 8
    share_prefix: bool = True  # local backends: compute a prefix shared by a batch's prompts once
    max_concurrency: int = 16
    timeout_s: float = 120.0
    max_retries: int = 3
    requests_per_minute: int = 0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 20.0

    @classmethod
    def from_endpoint(cls, endpoint: "ModelEndpoint") -> "EndpointSettings":
        return cls(
            backend=endpoint.backend, model=endpoint.model, base_url=endpoint.base_url,
            api_key_env=endpoint.api_key_env, api_key_origin=endpoint.api_key_origin,
            device=endpoint.device, batch_size=endpoint.batch_size,
            max_concurrency=endpoint.max_concurrency, timeout_s=endpoint.timeout_s,
            max_retries=endpoint.max_retries, requests_per_minute=endpoint.requests_per_minute,
            backoff_base_s=endpoint.backoff_base_s,
        )


@dataclass(frozen=True)
class GenerationRequest:
    messages: Sequence[Mapping[str, Any]]  # stored as a tuple of dicts
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    prefill: str = ""  # the start of the assistant reply, which the model continues

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(dict(message) for message in self.messages))

    @property
    def prompt_hash(self) -> str:
        payload = {"messages": list(self.messages), "prefill": self.prefill}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class GenerationResult:
    text: str = ""  # the continuation only; a prefill is not repeated
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    finish_reason: str = ""
    error: str = ""
    attempts: int = 1
    raw: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A model may emit a NUL byte (a byte-level tokenizer can); PostgreSQL text and JSON cannot store one.
        self.text = self.text.replace("\x00", "")

    @property
    def ok(self) -> bool:
        return not self.error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class GenerationBackend(ABC):
    """Subclasses implement generate(); a failed item comes back with `error` set, the others still succeed."""

    name = ""
    supports_prefill = True

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings

    @property
    def model_name(self) -> str:
        return self.settings.model

    @abstractmethod
    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Return one result per request, in order."""

    def close(self) -> None:  # noqa: B027 - optional hook; most backends hold nothing to release
        """Release connections or memory; the backend is not used afterwards."""

    def identity(self, sampling: SamplingConfig) -> dict[str, Any]:
        """Return what identifies generated text: model, backend and sampling (the generator config)."""
        return {"backend": self.name, "model": self.model_name, "sampling": sampling.to_dict()}


def generator_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
