"""What a prompt or a pair sees of a question: the post, earlier turns, the doctor's reply and the outcome."""

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: GPU benchmarks import this module where Django is not
    from corpus.models import Question

    from .models import Attribute

NOT_RECORDED = "Not recorded"
PREAMBLE = re.compile(
    r"^\s*(?:here(?: is|'s) (?:the |a |my )?(?:rewritten|standalone|revised)? ?questions?[^:\n]*:|"
    r"(?:rewritten|standalone|revised) questions?:)\s*",
    re.IGNORECASE,
)


def format_turns(previous_turns: list[dict[str, Any]] | None) -> str:
    lines = []
    for turn in previous_turns or []:
        lines.append(f"Doctor: {turn.get('question', '').strip()}")
        if answer := (turn.get("patient_answer") or "").strip():
            lines.append(f"Patient: {answer}")
    return "\n".join(lines) or "(none)"


def question_values(question: "Question") -> dict[str, str]:
    """Return the placeholder values a question supplies: post, earlier turns, reply, outcome."""
    thread = question.thread
    post = thread.post
    return {
        "title": post.title,
        "post": post.body,
        "previous_turns": format_turns(question.previous_turns),
        "comment": question.comment.body if question.comment is not None else question.text,
        "final_diagnosis": thread.final_diagnosis.strip() or NOT_RECORDED,
        "conclusion": thread.conclusion.strip() or NOT_RECORDED,
    }


def attribute_values(attribute: "Attribute") -> dict[str, str]:
    return {
        "attribute_name": attribute.name,
        "definition": attribute.definition,
        "scale": attribute.scale_text(),
        "guidance": attribute.guidance,
    }


def clean_generated(text: str) -> str:
    """Strip a leading "Here is the rewritten question:" style preamble, wrapping quotes and NUL bytes."""
    text = PREAMBLE.sub("", (text or "").replace("\x00", "")).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def without_nul(value: Any) -> Any:
    """Return the value with NUL characters removed from every string (PostgreSQL text and jsonb refuse them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def pair_context(question: "Question") -> list[dict[str, str]]:
    """Return the conversation a pair continues (the one rendering in corpus.rendering, without a system prompt)."""
    return question.conversation()
