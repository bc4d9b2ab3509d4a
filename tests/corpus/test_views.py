"""Corpus pages: who may see them, search, filters, keyset pages, the chat view, escaping and query counts."""

import re

import pytest
from django.urls import reverse

from corpus.models import ImportRun, Split
from corpus.views import PAGE_SIZE

from .page_factories import build_corpus, make_thread

LIST = reverse("corpus:thread-list")


def thread_url(thread_id, qid=None):
    return reverse("corpus:thread", args=[thread_id]) + (f"?q={qid}" if qid else "")


def listed(response):
    """Return the thread ids a list page shows, in order."""
    return re.findall(r"<code>(t_[^<]+)</code>", response.content.decode())


@pytest.fixture
def corpus(db):
    return build_corpus()


@pytest.fixture
def browse(client_for, annotator):
    return client_for(annotator)


# ---- who may see what ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, thread_url("t_aaa-0"), reverse("corpus:import")])
def test_it_redirects_anonymous_users_to_login(client, corpus, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url", [LIST, thread_url("t_aaa-0"), reverse("corpus:import")])
def test_denies_outsider_to_browse_corpus(client_for, outsider, corpus, url):
    assert client_for(outsider).get(url).status_code == 403


@pytest.mark.parametrize("persona", ["annotator", "reviewer", "lead", "admin_user"])
def test_allows_every_role_to_browse_corpus(client_for, corpus, persona, request):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 200
    assert client.get(thread_url("t_aaa-0")).status_code == 200


@pytest.mark.parametrize("persona", ["annotator", "reviewer"])
def test_denies_non_leads_to_import(client_for, persona, request, shared_data):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("corpus:import")).status_code == 403
    with open(shared_data / "askdocs" / "test_q.jsonl", "rb") as handle:
        response = client.post(reverse("corpus:import"), {"files": handle, "format": "auto", "split": "test"})
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


# ---- the list: search, filters, pages ------------------------------------------------------------------------------


def test_it_lists_threads_with_their_facts(browse, corpus):
    response = browse.get(LIST)
    html = response.content.decode()
    assert listed(response) == ["t_aaa-0", "t_bbb-0", "t_bbb-1", "t_ccc-0"]
    assert "4 threads" in html
    assert "Yellow diarrhea and cramps" in html
    assert 'title="Final diagnosis (derived): Food poisoning"' in html
    assert html.count(">credentialed</span>") == 1
    assert ">Validation</span>" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("diarrhea", ["t_aaa-0"]),
    ("DIARRHEA cramps", ["t_aaa-0"]),
    ("diarr", ["t_aaa-0"]),  # the last word is a prefix, so results appear while typing
    ("restaurant", ["t_aaa-0"]),  # question text is searched too
    ("headache", ["t_bbb-0", "t_bbb-1"]),
    ("headache consciousness", ["t_bbb-1"]),
    ("pancreatitis", []),
])
def test_it_searches_title_post_and_questions(browse, corpus, query, expected):
    assert listed(browse.get(LIST, {"q": query})) == expected


@pytest.mark.parametrize("query", [
    '"', '""', "*", "diarrhea*", '"diarrhea', "NEAR(a b)", "a AND OR NOT", "(((", "-cramps", "col:diarrhea",
    "^", "'; DROP TABLE corpus_thread; --", "%_", "é ü ß", "\\", "a" * 200,
])
def test_it_survives_special_characters_in_search(browse, corpus, query):
    response = browse.get(LIST, {"q": query})
    assert response.status_code == 200


def test_it_treats_search_operators_as_words(browse, corpus):
    assert listed(browse.get(LIST, {"q": '"yellow" OR pancreatitis'})) == []
    assert listed(browse.get(LIST, {"q": 'yellow* "cramps"'})) == ["t_aaa-0"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"split": "train"}, ["t_bbb-0", "t_bbb-1"]),
    ({"split": "validation"}, ["t_ccc-0"]),
    ({"question_type": "Hypotheses testing"}, ["t_aaa-0", "t_bbb-1"]),
    ({"question_type": "Checklist"}, ["t_ccc-0"]),
    ({"diagnosis": "true"}, ["t_aaa-0", "t_ccc-0"]),
    ({"diagnosis": "false"}, ["t_bbb-0", "t_bbb-1"]),
    ({"credentialed": "true"}, ["t_aaa-0"]),
    ({"credentialed": "false"}, ["t_bbb-0", "t_bbb-1", "t_ccc-0"]),
    ({"split": "train", "question_type": "Hypotheses testing"}, ["t_bbb-1"]),
    ({"q": "rash", "diagnosis": "true", "split": "validation"}, ["t_ccc-0"]),
    ({"q": "rash", "split": "test"}, []),
])
def test_it_filters_threads(browse, corpus, params, expected):
    assert listed(browse.get(LIST, params)) == expected


def test_it_ignores_an_invalid_filter_and_says_so(browse, corpus):
    response = browse.get(LIST, {"split": "nonsense", "diagnosis": "true"})
    assert response.status_code == 200
    assert listed(response) == ["t_aaa-0", "t_ccc-0"]
    assert "(ignored)" in response.content.decode()


def test_it_keeps_filter_choices_selected(browse, corpus):
    html = browse.get(LIST, {"split": "train", "q": "head"}).content.decode()
    assert '<option value="train" selected>' in html
    assert 'value="head"' in html


@pytest.fixture
def many_threads(db):
    for index in range(2 * PAGE_SIZE + 7):
        split = Split.TRAIN if index % 2 else Split.TEST
        make_thread(f"t_m{index:04d}-0", title=f"Thread number {index}", split=split,
                    questions=[{"text": "Any fever?", "answer": "No."}])


def test_it_pages_through_threads_by_key(browse, many_threads):
    first = browse.get(LIST)
    assert listed(first) == [f"t_m{i:04d}-0" for i in range(PAGE_SIZE)]
    assert f"{2 * PAGE_SIZE + 7} threads" in first.content.decode()
    second = browse.get(LIST, {"after": f"t_m{PAGE_SIZE - 1:04d}-0"})
    assert listed(second) == [f"t_m{i:04d}-0" for i in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    last = browse.get(LIST, {"after": f"t_m{2 * PAGE_SIZE - 1:04d}-0"})
    assert listed(last) == [f"t_m{i:04d}-0" for i in range(2 * PAGE_SIZE, 2 * PAGE_SIZE + 7)]
    assert 'rel="next"' not in last.content.decode()
    back = browse.get(LIST, {"before": f"t_m{PAGE_SIZE:04d}-0"})
    assert listed(back) == listed(first)
    assert 'rel="prev"' not in back.content.decode()


def test_it_keeps_filters_in_page_links(browse, many_threads):
    html = browse.get(LIST, {"split": "train"}).content.decode()
    assert f'href="?split=train&amp;after=t_m{2 * PAGE_SIZE - 1:04d}-0"' in html
    after = browse.get(LIST, {"split": "train", "after": f"t_m{2 * PAGE_SIZE - 1:04d}-0"})
    assert listed(after) == [f"t_m{i:04d}-0" for i in range(2 * PAGE_SIZE + 1, 2 * PAGE_SIZE + 7, 2)]


def test_it_lists_with_a_bounded_number_of_queries(browse, many_threads, django_assert_max_num_queries):
    browse.get(LIST)  # warm the session
    with django_assert_max_num_queries(6):
        response = browse.get(LIST, {"q": "thread", "split": "train", "question_type": "Followup",
                                     "diagnosis": "false"})
    assert len(listed(response)) == PAGE_SIZE


# ---- the thread page -----------------------------------------------------------------------------------------------


def bubbles(html):
    """Return (side, text) of each chat bubble in order."""
    found = re.findall(r'<article class="bubble (patient|doctor)[^"]*">(.*?)</article>', html, re.S)
    return [(side, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()) for side, body in found]


def test_it_shows_the_thread_as_a_chat_in_order(browse, corpus):
    html = browse.get(thread_url("t_aaa-0")).content.decode()
    chat = bubbles(html)
    assert [side for side, _ in chat] == ["patient", "doctor", "patient"]
    assert "Yellow diarrhea and cramps" in chat[0][1]
    assert "Five days of yellow diarrhea." in chat[0][1]
    assert chat[1][1].startswith("Doctor · Physician credentialed Food poisoning? Did you eat at a restaurant")
    assert "No, we cooked chicken at home." in chat[2][1]
    assert "no answer observed" in chat[1][1]  # "Any fever?" was never answered


def test_it_highlights_the_question_under_study(browse, corpus):
    html = browse.get(thread_url("t_aaa-0", "t_aaa-0-c0-q0")).content.decode()
    assert '<mark class="study">Did you eat at a restaurant recently?</mark>' in html
    assert html.count('class="bubble doctor study"') == 1
    assert 'class="bubble patient study"' in html  # its answer too
    assert 'id="study-panel"' in html
    assert '<script src="/static/corpus/thread.js" defer></script>' in html  # scrolls it into view (no inline script)


def test_it_warns_when_the_question_is_not_in_the_thread(browse, corpus):
    html = browse.get(thread_url("t_aaa-0", "t_bbb-0-c0-q0")).content.decode()
    assert "is not in this thread" in html
    assert '<mark class="study">' not in html


def test_it_labels_derived_fields_apart_from_observed_text(browse, corpus):
    html = browse.get(thread_url("t_aaa-0", "t_aaa-0-c0-q1")).content.decode()
    facts = html.split('<div class="observed-label">Derived', 1)[1]
    assert "Food poisoning" in facts and "Probably something you ate." in facts
    assert "refer_to_hospital" in facts
    # additional_context is invented when the patient never answered: it is flagged as such
    assert "Hardly any fever at all." in facts
    assert "Invented: the patient never answered." in facts
    assert "Hardly any fever at all." not in "".join(text for _, text in bubbles(html))


def test_it_shows_the_mcq_and_its_broken_initial_info(browse, corpus):
    html = browse.get(thread_url("t_aaa-0")).content.decode()
    assert "Which action is most appropriate?" in html
    assert "<li>C. Hydrate and see a doctor if it persists.</li>" in html and "✓" not in html  # no key: blind
    assert "known to be broken" in html
    assert "2 atomic facts" in html


def test_it_marks_the_mcq_key_for_leads_only(client_for, lead, corpus):
    html = client_for(lead).get(thread_url("t_aaa-0")).content.decode()
    assert '<li class="answer">C. Hydrate and see a doctor if it persists. ✓</li>' in html


def test_it_shows_earlier_turns_that_are_not_questions_of_the_thread(browse, db):
    make_thread("t_ddd-0", questions=[{
        "text": "Is it worse at night?", "answer": "Yes.", "turn": 2,
        "previous_turns": [{"question": "When did it start?", "patient_answer": "Last Monday."}],
    }])
    chat = bubbles(browse.get(thread_url("t_ddd-0")).content.decode())
    texts = [text for _, text in chat]
    assert [side for side, _ in chat] == ["patient", "doctor", "patient", "doctor", "patient"]
    assert "When did it start?" in texts[1] and "earlier turn" in texts[1]
    assert "Last Monday." in texts[2]
    assert "Is it worse at night?" in texts[3]


def test_it_escapes_user_content(browse, db):
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    make_thread("t_eee-0", title=f"Title {evil}", body=f"Body {evil}", final_diagnosis=f"Dx {evil}",
                flair=f"Flair {evil}", credentialed=True, questions=[
                    {"text": f"Question {evil}?", "answer": f"Answer {evil}", "comment": f"Comment {evil}",
                     "derived": {"hypotheses": [f"Hypo {evil}"], "additional_context": f"Context {evil}"}},
                ])
    for url in (thread_url("t_eee-0", "t_eee-0-c0-q0"), f"{LIST}?q=title", f"{LIST}?q={evil}"):
        html = browse.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
    html = browse.get(thread_url("t_eee-0", "t_eee-0-c0-q0")).content.decode()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8


def test_it_returns_404_for_an_unknown_thread(browse, corpus):
    assert browse.get(thread_url("t_nope-0")).status_code == 404


def test_it_shows_a_thread_with_a_bounded_number_of_queries(browse, corpus, django_assert_max_num_queries):
    browse.get(LIST)
    with django_assert_max_num_queries(8):
        response = browse.get(thread_url("t_aaa-0", "t_aaa-0-c0-q0"))
    assert response.status_code == 200

