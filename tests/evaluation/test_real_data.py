"""Case sets and question selection on the real shared files (read in place from ../shared/data, never copied)."""

import json
from collections import Counter

import pytest

from corpus.importers import import_path
from evaluation.casesets import get_case_set
from evaluation.models import InitialInfo
from evaluation.winrate import select_questions

pytestmark = pytest.mark.django_db


def test_it_snapshots_the_askdocs_mcq_file_with_the_original_post(shared_data):
    path = shared_data / "mediq" / "askdocs_mcq.jsonl"
    case_set = get_case_set(str(path))
    assert case_set.size == 302 and case_set.initial_info == InitialInfo.ORIGINAL_POST
    items = list(case_set.items.order_by("position"))
    records = [json.loads(line) for line in path.open()]
    assert [item.case_id for item in items] == [record["id"] for record in records]
    assert items[0].initial_info == records[0]["original_post"].strip()  # not the broken published initial_info
    assert not any(fact.startswith("- ") for item in items for fact in item.facts)
    assert Counter(item.answer_idx for item in items)["C"] == 157  # the key skew of method.md §2.7
    assert get_case_set(str(path)) == case_set  # the same cases: the same snapshot


def test_it_snapshots_medqa_cases_with_their_first_sentence(shared_data):
    path = shared_data / "mediq" / "medqa_dev_convo.jsonl"
    case_set = get_case_set(str(path))
    first = json.loads(path.open().readline())
    item = case_set.items.get(position=0)
    # three dev records are knowledge questions with no patient context or facts: left out, and said so
    assert case_set.size == 1272 - 3 and case_set.initial_info == InitialInfo.FIRST_SENTENCE
    assert "3 record(s) without patient information left out" in case_set.description
    assert item.initial_info == first["context"][0]
    assert item.facts[0] == "A culture of the joint fluid shows a bacteria."  # "1. " numbering gone


def test_it_builds_the_corpus_case_sets_from_imported_cases(shared_data):
    import_path(shared_data / "mediq" / "askdocs_mcq.jsonl")
    original, published = get_case_set("askdocs"), get_case_set("askdocs-published")
    assert original.size == published.size == 302 and original.sha256 != published.sha256
    item = published.items.get(position=0)
    assert item.mcq is not None and item.initial_info == item.mcq.initial_info


def test_it_selects_the_620_test_questions_with_the_one_rendering(shared_data):
    import_path(shared_data / "askdocs" / "test_q.jsonl")
    questions = select_questions("test", [], 0)
    assert len(questions) == 620
    messages = questions[0].prompt_messages("thread-v1")
    assert messages[0]["role"] == "system" and messages[1]["content"].startswith(questions[0].thread.post.title)
