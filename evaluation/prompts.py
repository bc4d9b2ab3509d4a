"""Versioned prompts of the evaluation roles: the expert (confidence, letter), the patient, the question generator
and the pairwise judge. A run records the version and text hash of every prompt it used; a changed text gets a new
version, never an edit in place (tests/evaluation/test_prompts.py pins the hashes)."""

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from corpus.rendering import conversation_messages, render_messages

from .parsing import CANNOT_ANSWER, SCALE

if TYPE_CHECKING:
    from synthesis.models import Attribute


class CaseView(Protocol):
    """What the prompts read of a case: interactive.Case (which imports this module, so is not imported here)."""

    @property
    def case_id(self) -> str: ...
    @property
    def stem(self) -> str: ...
    @property
    def options(self) -> dict: ...
    @property
    def initial_info(self) -> str: ...
    @property
    def facts(self) -> tuple: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...


@dataclass(frozen=True)
class Prompt:
    key: str
    version: str
    system: str
    user: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(json.dumps([self.system, self.user]).encode()).hexdigest()[:16]

    def provenance(self) -> dict:
        return {"key": self.key, "version": self.version, "hash": self.text_hash}

    def messages(self, **values: object) -> list[dict]:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return [*messages, {"role": "user", "content": self.user.format(**values)}]


EXPERT_SYSTEM = (
    "You are an experienced doctor reasoning through a real-life clinical case. You have met the patient and may ask "
    "them questions before you make a decision; you answer only when you have the information you need."
)
CASE_BLOCK = (
    "PATIENT INFORMATION:\n{initial_info}\n\n"
    "CONVERSATION LOG:\n{conversation}\n\n"
    "QUESTION: {stem}\n"
    "OPTIONS:\n{options}\n\n"
)
EXPERT_CONFIDENCE = Prompt(
    "expert-confidence", "expert-confidence-v1", EXPERT_SYSTEM,
    CASE_BLOCK + "YOUR TASK: Consider the medical specialty of the case, the features you need to choose the correct "
    "option, and whether the patient information and the conversation already give them. Then rate how confident "
    "you are that you can choose the correct option now, with exactly one of: "
    + ", ".join(f'"{SCALE[score]}"' for score in sorted(SCALE, reverse=True)) + ".\n"
    "Reply in this format:\nREASON: <one or two sentences>\nDECISION: <one of the five ratings>",
)
EXPERT_LETTER = Prompt(
    "expert-letter", "expert-letter-v1", EXPERT_SYSTEM,
    CASE_BLOCK + "YOUR TASK: Assume the information above is enough to answer. Choose the correct option.\n"
    "Reply with the letter of the option only, in this format:\nLETTER CHOICE: <letter>",
)
PATIENT_FACTS = Prompt(
    "patient-facts", "patient-facts-v1",
    "You are a truthful assistant who knows the patient's record and answers a doctor's question about the patient "
    "using the record's statements only.",
    "The patient's record, one numbered statement per line:\n{facts}\n\n"
    "The doctor asks: {question}\n\n"
    "Return, verbatim and with their numbers, the statements that answer the question, one per line. If no "
    f'statement answers it, reply exactly: "{CANNOT_ANSWER}"\n\n'
    "Statements that answer the question:",
)
# The authors' interactive question prompt (method.md §3.7): initial info, the inquiry and the options, no system
# message. Kept to reproduce their setting; the default is the corpus rendering the models were trained on.
QUESTION_MEDIQ = Prompt(
    "question-mediq", "question-mediq-healthq-v1", "",
    "{initial_info}\nPatient inquiry: {stem}\nOptions: {options}",
)
QUESTION_PROMPTS = ("rendering", "mediq-healthq")
JUDGE_SYSTEM = (
    "You rank the quality of doctors' follow-up questions in a clinical consultation, using basic and clinical "
    "science and current guidelines."
)
JUDGE_PAIRWISE = Prompt(
    "judge-pairwise", "judge-pairwise-v1", JUDGE_SYSTEM,
    "Below is a conversation between a patient and a doctor, and two candidate follow-up questions the doctor could "
    "ask next. Decide which question human clinicians would prefer{focus}: the purpose of the follow-up question is "
    "to gather information for a better-informed diagnosis and better patient care.\n\n"
    "## Conversation\n\"\"\"\n{conversation}\n\"\"\"\n\n"
    "## Question 1\n{first}\n\n## Question 2\n{second}\n\n"
    "## Task\nThink about what makes a clinical follow-up question effective, then reply with one JSON object and "
    'nothing else: {{"explanation": "<one sentence>", "winner": "1" | "2" | "tie"}}. Use "tie" only when neither '
    "question is better.",
)
PROMPTS = {prompt.key: prompt for prompt in (EXPERT_CONFIDENCE, EXPERT_LETTER, PATIENT_FACTS, QUESTION_MEDIQ,
                                              JUDGE_PAIRWISE)}


def options_block(options: dict[str, str]) -> str:
    return "\n".join(f"{letter}: {text}" for letter, text in sorted(options.items()))


def conversation_log(history: list[tuple[str, str]]) -> str:
    if not history:
        return "(no questions asked yet)"
    return "\n".join(f"Doctor Question: {question}\nPatient Response: {answer}" for question, answer in history)


def expert_messages(prompt: Prompt, case: CaseView, history: list[tuple[str, str]]) -> list[dict]:
    """Return the expert's messages (confidence or letter) for a case and its conversation so far."""
    return prompt.messages(initial_info=case.initial_info, conversation=conversation_log(history), stem=case.stem,
                           options=options_block(case.options))


def patient_messages(case: CaseView, question: str) -> list[dict]:
    facts = "\n".join(f"{number}. {fact}" for number, fact in enumerate(case.facts, start=1))
    return PATIENT_FACTS.messages(facts=facts, question=question)


def question_messages(case: CaseView, history: list[tuple[str, str]], prompt: str, rendering: str) -> list[dict]:
    """Return the question generator's messages: the corpus rendering (title and post, then the turns) or the
    authors' MediQ prompt, each followed by the conversation so far as assistant/user turns."""
    turns = [{"question": question, "patient_answer": answer} for question, answer in history]
    if prompt == "rendering":
        return render_messages(conversation_messages(case.title, case.body, turns), rendering)
    options = ", ".join(f"{letter}: {text}" for letter, text in sorted(case.options.items()))
    first = QUESTION_MEDIQ.messages(initial_info=case.initial_info, stem=case.stem, options=options)
    return [*first, *conversation_messages("", "", turns)[1:]]


def judge_messages(conversation: str, first: str, second: str, attribute: "Attribute | None" = None) -> list[dict]:
    """Return the judge's messages; with an attribute, the judge is asked about that attribute only."""
    focus = f", judging only their {attribute.name.lower()} ({attribute.definition.strip()})" if attribute else ""
    return JUDGE_PAIRWISE.messages(conversation=conversation, first=first or "(no question)",
                                   second=second or "(no question)", focus=focus)


def question_prompt_provenance(prompt: str, rendering: str) -> dict:
    if prompt == "rendering":
        return {"key": "rendering", "version": rendering}
    return QUESTION_MEDIQ.provenance()
