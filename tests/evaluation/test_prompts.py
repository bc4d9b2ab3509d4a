"""Prompt versions are frozen: a changed text needs a new version string (the hashes below pin the texts)."""

from evaluation.prompts import PROMPTS, question_messages
from tests.evaluation.helpers import make_case

PINNED = {
    "expert-confidence": ("expert-confidence-v1", "a6725dae7c9d1dfa"),
    "expert-letter": ("expert-letter-v1", "c08ca085025548ca"),
    "patient-facts": ("patient-facts-v1", "6fc576da19a5e157"),
    "question-mediq": ("question-mediq-healthq-v1", "1ebdea5c57869ce0"),
    "judge-pairwise": ("judge-pairwise-v1", "8e3f9c257565f1e5"),
}


def test_every_prompt_text_matches_its_pinned_version():
    # If this fails, you changed a prompt: give it a new version string and pin the new hash here.
    assert {key: (prompt.version, prompt.text_hash) for key, prompt in PROMPTS.items()} == PINNED


def test_the_question_generator_sees_the_corpus_rendering_or_the_authors_prompt():
    case = make_case(1)
    history = [("Any fever?", "The patient has had a fever of 39 degrees for three days.")]
    rendered = question_messages(case, history, "rendering", "thread-v1")
    assert rendered[0]["role"] == "system" and rendered[1]["content"] == (
        "Fever and cough (1)\nI have felt hot and tired for a few days.")
    assert [m["role"] for m in rendered[1:]] == ["user", "assistant", "user"]
    authors = question_messages(case, history, "mediq-healthq", "thread-v1")
    assert authors[0]["role"] == "user" and "Patient inquiry: What is the most likely diagnosis?" in authors[0][
        "content"] and "Options: A: Migraine, B: Influenza" in authors[0]["content"]
    assert [m["role"] for m in authors] == ["user", "assistant", "user"]
