"""A role's model in an evaluation (expert, question generator, patient, judge) and the one way a batch of
prompts is sent to it: derived seeds, and retries of only the replies a parser rejects."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from synthesis.backends import GenerationBackend, GenerationRequest
from synthesis.configs import SamplingConfig


def derive_seed(*parts: object) -> int:
    """Return a 31-bit seed determined by `parts` (run seed, turn, role, attempt): the same call, the same seed."""
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def request_seed(seed_parts: tuple, role: str, attempt: int, key: object = None) -> int:
    """Return one request's seed; without a key, the seed every request of the call shares."""
    return derive_seed(*seed_parts, role, attempt) if key is None else derive_seed(*seed_parts, role, attempt, key)


@dataclass
class RoleModel:
    """A role's backend, its sampling settings and the model name recorded in transcripts."""

    role: str
    backend: GenerationBackend
    sampling: SamplingConfig
    model_name: str


@dataclass
class Reply:
    value: Any  # what the role's parser returned: a letter, a confidence, a question, a fact selection, a verdict
    texts: list
    attempts: int
    tokens_in: int = 0
    tokens_out: int = 0


def ask(role: RoleModel, message_lists: list, parse: Callable, seed_parts: tuple, max_attempts: int,
        keys: list | None = None) -> list[Reply]:
    """Send one batch to the role's backend; re-send (up to max_attempts calls) only the replies `parse` rejects.

    Every request's seed is derived from `seed_parts`, the role, the attempt and the request's key (`keys[i]`, such
    as the case id), so a rerun repeats it exactly and a request samples the same text whichever others share its
    batch (the backends seed each request on its own). Under greedy decoding a retry would return the same text, so
    there is none.
    """
    replies = [Reply(None, [], 0) for _ in message_lists]
    pending = list(range(len(message_lists)))
    for attempt in range(max_attempts):
        if not pending or (attempt and role.sampling.is_greedy):
            break
        results = role.backend.generate([
            GenerationRequest(message_lists[i], replace(role.sampling, seed=request_seed(seed_parts, role.role, attempt,
                                                                                         keys and keys[i])))
            for i in pending])
        still = []
        for i, result in zip(pending, results, strict=True):
            reply = replies[i]
            reply.attempts += 1
            reply.tokens_in += result.tokens_in
            reply.tokens_out += result.tokens_out
            reply.texts.append(result.text if result.ok else f"[backend error] {result.error}")
            value = parse(i, result.text) if result.ok else None
            if value is None:
                still.append(i)
            else:
                reply.value = value
        pending = still
    return replies
