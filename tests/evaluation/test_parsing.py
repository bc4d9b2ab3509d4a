"""The strict reply parsers: confidence with negations, letters, questions, patient facts and judge verdicts."""

import pytest

from evaluation.parsing import (
    CANNOT_ANSWER,
    JudgeReplyError,
    parse_confidence,
    parse_fact_selection,
    parse_judge_reply,
    parse_letter,
    parse_question,
)


@pytest.mark.parametrize(("reply", "expected"), [
    ("DECISION: Very Confident", 5),
    ("REASON: The fever and cough point to one option.\nDECISION: Somewhat Confident", 4),
    ("DECISION: Neither Confident or Unconfident", 3),
    ("decision: neither confident nor unconfident", 3),
    ("DECISION: Somewhat Unconfident", 2),
    ("DECISION: Very Unconfident", 1),
    ("DECISION: 4", 4),
    ("I would say I am very unconfident here.", 1),
    ("REASON: I am not very confident without the duration.\nDECISION: Somewhat Unconfident", 2),
    ("REASON: Not very confident at all; I need the history.", None),
    ("I'm not very confident.", None),
    ("DECISION: not very confident", None),
    ("REASON: Somewhat confident? No.\nDECISION: Very Unconfident", 1),
    ("Somewhat confident or very confident, hard to say", None),
    ("No, I am somewhat confident", 4),
    ("", None),
    ("confident", None),
])
def test_it_reads_the_confidence_scale_and_its_negations(reply, expected):
    assert parse_confidence(reply) == expected


def test_it_never_reads_not_very_confident_as_very_confident():
    assert parse_confidence("REASON: I am not very confident.") != 5
    assert parse_confidence("I don't feel very confident") is None


OPTIONS = {"A": "Migraine", "B": "Influenza", "C": "Appendicitis", "D": "Gout"}


@pytest.mark.parametrize(("reply", "expected"), [
    ("LETTER CHOICE: B", "B"),
    ("B", "B"),
    ("C. Appendicitis", "C"),
    ("The answer is (D)", "D"),
    ("I think it is influenza.", "B"),
    ("Either A) or B) could fit", None),
    ("(B) is my choice, not (C)... LETTER CHOICE: C", "C"),
    ("A patient with these symptoms", None),
    ("E", None),
    ("", None),
])
def test_it_reads_a_letter_choice(reply, expected):
    assert parse_letter(reply, OPTIONS) == expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("How long have you had the fever?", "How long have you had the fever?"),
    ("Sure.\nQuestion: \"Do you have a cough?\"", "Do you have a cough?"),
    ("Thanks for sharing. Have you measured your temperature? Let me know.",
     "Thanks for sharing. Have you measured your temperature?"),
    ("1. Any rash?", "Any rash?"),
    ("I would like to know more.", None),
    ("", None),
])
def test_it_parses_a_question(reply, expected):
    assert parse_question(reply) == expected


FACTS = ["The patient has a fever.", "The patient is 34 years old.", "The patient has a dry cough."]


def test_it_selects_facts_by_number_or_verbatim_text():
    assert parse_fact_selection("1. The patient has a fever.\n3. The patient has a dry cough.", FACTS).facts == (0, 2)
    assert parse_fact_selection("- The patient is 34 years old.", FACTS).facts == (1,)
    assert parse_fact_selection("[2]", FACTS).facts == (1,)


def test_it_tells_cannot_answer_from_an_unparseable_reply():
    cannot = parse_fact_selection(CANNOT_ANSWER, FACTS)
    assert cannot.cannot_answer and cannot.parsed and cannot.facts == ()
    junk = parse_fact_selection("zzq blorp", FACTS)
    assert junk.cannot_answer and not junk.parsed
    assert parse_fact_selection("7. out of range", FACTS).parsed is False


@pytest.mark.parametrize(("reply", "winner"), [
    ('{"explanation": "More focused.", "winner": "1"}', "1"),
    ('Sure:\n```json\n{"explanation": "x", "winner": 2}\n```', "2"),
    ('{"explanation": "Equal.", "winner": "TIE"}', "tie"),
    ('{"explanation": "x", "winner": "Question 2"}', "2"),
])
def test_it_reads_a_structured_judge_verdict(reply, winner):
    assert parse_judge_reply(reply).winner == winner


@pytest.mark.parametrize("reply", [
    "Question 1 is better.", '{"explanation": "x"}', '{"explanation": "x", "winner": "m"}',
    '{"explanation": "x", "winner": "M"}', '{"winner": "1", "explanation": 3}', "{not json}", "", "[1, 2]",
    '{"explanation": "x", "winner": true}',
])
def test_it_rejects_a_judge_reply_naming_no_valid_winner(reply):
    with pytest.raises(JudgeReplyError):
        parse_judge_reply(reply)
