"""What prompts and pairs see of a question, and the cleaning of generated text."""

import pytest

from synthesis.contexts import clean_generated, format_turns, pair_context, question_values, without_nul
from synthesis.diffs import change_ratio, word_diff

from .conftest import make_question


def test_it_strips_preambles_quotes_and_nul_bytes():
    assert clean_generated('Here is the rewritten question: "Do you see spots?"') == "Do you see spots?"
    assert clean_generated("Standalone question:\nAny fever?\x00") == "Any fever?"
    assert clean_generated("   ") == ""


def test_it_removes_nul_from_nested_values_for_postgresql():
    """Regression: random-weight models emit NUL, which PostgreSQL jsonb and text refuse."""
    assert without_nul({"a": ["x\x00y", {"b": "\x00"}], "n": 3}) == {"a": ["xy", {"b": ""}], "n": 3}


def test_it_formats_earlier_turns_and_says_when_there_are_none():
    assert format_turns([]) == "(none)"
    assert format_turns([{"question": "Age?", "patient_answer": "34"}, {"question": "Fever?"}]) == (
        "Doctor: Age?\nPatient: 34\nDoctor: Fever?")


@pytest.mark.django_db
def test_it_gives_prompts_the_outcome_and_pairs_the_earlier_turns():
    question = make_question(7, turns=2, diagnosis="")
    values = question_values(question)
    assert values["final_diagnosis"] == "Not recorded" and values["conclusion"] == "Seen by a neurologist."
    assert "vision changes" in values["comment"]
    context = pair_context(question)
    assert [m["role"] for m in context] == ["user", "assistant", "user", "assistant", "user"]
    assert context[0]["content"].startswith("Headache for 7 days\n")


def test_it_diffs_words_for_the_side_by_side_view():
    assert word_diff("Any fever?", "Any high fever?") == [("equal", "Any"), ("insert", " high"),
                                                          ("equal", " fever?")]
    assert change_ratio("a b c d", "a b c d") == 0 and change_ratio("a b", "c d") == 1
