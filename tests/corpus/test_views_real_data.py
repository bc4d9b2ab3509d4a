"""Corpus pages on the real shared test split (620 questions, 302 threads) imported by the importer."""

import json
import re

import pytest
from django.urls import reverse

from corpus.importers import import_path

LIST = reverse("corpus:thread-list")


@pytest.fixture
def records(shared_data):
    with open(shared_data / "askdocs" / "test_q.jsonl") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def real_corpus(db, shared_data):
    import_path(shared_data / "askdocs" / "test_q.jsonl", split="test")
    import_path(shared_data / "mediq" / "askdocs_mcq.jsonl")


@pytest.fixture
def browse(client_for, annotator):
    return client_for(annotator)


def total(response):
    return int(re.search(r"([\d,]+) threads?\b", response.content.decode()).group(1).replace(",", ""))


def every_page(client, params):
    """Follow the Next links from the first page; return every thread id listed, in order."""
    ids, url = [], f"{LIST}?{params}"
    while url:
        html = client.get(url).content.decode()
        ids += re.findall(r"<code>(t_[^<]+)</code>", html)
        found = re.search(r'href="(\?[^"]*)" rel="next"', html)
        url = LIST + found.group(1).replace("&amp;", "&") if found else None
    return ids


def test_it_pages_through_every_real_thread_once(browse, real_corpus, records):
    ids = every_page(browse, "")
    assert ids == sorted({record["thread_id"] for record in records})
    assert len(ids) == 302


def test_it_counts_real_threads_by_filter(browse, real_corpus, records, shared_data):
    expert_qids = set((shared_data / "askdocs" / "test_q_expert_qids.txt").read_text().split())
    with_expert = {r["thread_id"] for r in records if r["qid"] in expert_qids}
    with_diagnosis = {r["thread_id"] for r in records if r["final_diagnosis"]}
    checklist = {r["thread_id"] for r in records if r["question_type"].lower() == "checklist"}
    hypotheses = {r["thread_id"] for r in records if r["question_type"].lower() == "hypotheses testing"}
    assert total(browse.get(LIST)) == 302
    assert total(browse.get(LIST, {"split": "test"})) == 302
    assert total(browse.get(LIST, {"split": "train"})) == 0
    assert total(browse.get(LIST, {"credentialed": "true"})) == len(with_expert)
    assert total(browse.get(LIST, {"diagnosis": "true"})) == len(with_diagnosis)
    assert total(browse.get(LIST, {"question_type": "Checklist"})) == len(checklist)
    # the 8 lower-case "hypotheses testing" records are normalized, so they count here
    assert total(browse.get(LIST, {"question_type": "Hypotheses testing"})) == len(hypotheses)
    assert every_page(browse, "question_type=Hypotheses+testing") == sorted(hypotheses)


def test_it_finds_real_threads_by_words(browse, real_corpus, records):
    diarrhea = {r["thread_id"] for r in records if "diarrhea" in (r["title"] + r["post"] + r["question"]).lower()}
    assert set(every_page(browse, "q=diarrhea")) == diarrhea
    assert "t_cc0j7jf-0" in diarrhea


def test_it_shows_a_real_thread_with_its_mcq(browse, real_corpus, django_assert_max_num_queries):
    url = reverse("corpus:thread", args=["t_cc0j7jf-0"]) + "?q=t_cc0j7jf-0-c0-q0"
    with django_assert_max_num_queries(8):
        html = browse.get(url).content.decode()
    assert '<mark class="study">Did you two eat at a restaurant together recently?</mark>' in html
    assert "Yellow diarrhea, cramps, nausea. (No vomiting)" in html
    assert "Maintain hydration and consult a healthcare provider if symptoms persist." in html
    assert "known to be broken" in html
    assert "Unknown virus" in html.split('<div class="observed-label">Derived', 1)[1]
