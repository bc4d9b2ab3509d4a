"""Full-text search over threads (FTS5 on SQLite, GIN tsvector on PostgreSQL) and the shared thread filters."""

import pytest

from corpus.models import Thread
from corpus.search import MAX_WORDS, filter_threads, search_words

from .page_factories import build_corpus


@pytest.fixture
def corpus(db):
    return build_corpus()


def found(query, **filters):
    threads = filter_threads(Thread.objects.order_by("thread_id"), q=query, **filters)
    return list(threads.values_list("thread_id", flat=True))


def test_it_splits_a_query_into_words_without_operators():
    assert search_words('"Yellow" diarrhea* AND (cramps) -x col:y _z') == [
        "yellow", "diarrhea", "and", "cramps", "x", "col", "y", "z",
    ]
    assert search_words(" ".join(["w"] * 50)) == ["w"] * MAX_WORDS
    assert search_words("") == search_words(None) == []


@pytest.mark.parametrize(("query", "expected"), [
    ("diarrhea", ["t_aaa-0"]),
    ("Diarrhea CRAMPS", ["t_aaa-0"]),
    ("cramps diarrhea", ["t_aaa-0"]),  # every word, any order
    ("diarrhea headache", []),  # every word must match, not any
    ("diarr", ["t_aaa-0"]),  # the last word is a prefix
    ("restaurant", ["t_aaa-0"]),  # questions are searched
    ("detergents", ["t_ccc-0"]),
    ("bike", ["t_bbb-0", "t_bbb-1"]),  # both threads under the post
    ("pancreatitis", []),
])
def test_it_matches_threads_having_every_word(corpus, query, expected):
    assert found(query) == expected


def test_it_returns_every_thread_for_a_query_without_words(corpus):
    assert found("") == found("  ") == found('"*()') == ["t_aaa-0", "t_bbb-0", "t_bbb-1", "t_ccc-0"]


@pytest.mark.parametrize("query", [
    '"', "'", "*", "**", "diarrhea*", '"diarrhea', "NEAR(a b, 2)", "a AND OR NOT", "(((", ")", "-cramps",
    "col:diarrhea", "^a", "a:*", "a & b | !c", "<->", "'; DROP TABLE corpus_thread; --", "%", "_", "\\", "\x00",
    "é ü ß 中文", "a" * 300,
])
def test_it_survives_special_characters(corpus, query):
    assert isinstance(found(query), list)


def test_it_searches_operators_as_plain_words(corpus):
    # As an operator OR would match the yellow thread; as words (or a PostgreSQL stop word) it narrows instead.
    assert found("yellow OR pancreatitis") == []
    assert found("yellow -diarrhea") == ["t_aaa-0"]  # no exclusion operator either


def test_it_follows_changes_to_the_search_text(corpus):
    Thread.objects.filter(thread_id="t_ccc-0").update(search_text="eczema on both arms")
    assert found("eczema") == ["t_ccc-0"]
    assert found("detergents") == []
    Thread.objects.filter(thread_id="t_ccc-0").delete()
    assert found("eczema") == []


@pytest.mark.parametrize(("query", "filters", "expected"), [
    ("", {"split": "train"}, ["t_bbb-0", "t_bbb-1"]),
    ("", {"question_type": "Hypotheses testing"}, ["t_aaa-0", "t_bbb-1"]),
    ("", {"diagnosis": True}, ["t_aaa-0", "t_ccc-0"]),
    ("", {"diagnosis": False}, ["t_bbb-0", "t_bbb-1"]),
    ("", {"credentialed": True}, ["t_aaa-0"]),
    ("", {"credentialed": False, "question_type": "Clarification"}, ["t_bbb-0"]),
    ("headache", {"question_type": "Hypotheses testing"}, ["t_bbb-1"]),
    ("headache", {"split": "test"}, []),
    ("rash", {"diagnosis": True, "credentialed": False, "split": "validation"}, ["t_ccc-0"]),
])
def test_it_combines_search_and_filters(corpus, query, filters, expected):
    assert found(query, **filters) == expected


def test_it_counts_a_thread_once_whatever_number_of_questions_match(corpus):
    threads = filter_threads(Thread.objects.all(), question_type="Hypotheses testing")
    assert threads.count() == 2
