"""Corpus REST API: threads, questions, posts, MCQ cases and imports; filters, cursors, shapes and query counts."""

import pytest
from django.urls import reverse

from corpus.models import MultipleChoiceCase, Split
from jobs.models import Job, JobStatus

from .page_factories import build_corpus, make_mcq, make_thread

THREADS = "/api/corpus/threads/"
QUESTIONS = "/api/corpus/questions/"
POSTS = "/api/corpus/posts/"
MCQS = "/api/corpus/mcqs/"


@pytest.fixture
def corpus(db):
    return build_corpus()


@pytest.fixture
def api(api_client_for, annotator):
    return api_client_for(annotator)


def ids(response, key):
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


# ---- threads -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["t_aaa-0", "t_bbb-0", "t_bbb-1", "t_ccc-0"]),
    ({"q": "headache"}, ["t_bbb-0", "t_bbb-1"]),
    ({"q": 'restaur*"'}, ["t_aaa-0"]),
    ({"q": "pancreatitis"}, []),
    ({"split": "train"}, ["t_bbb-0", "t_bbb-1"]),
    ({"question_type": "Hypotheses testing"}, ["t_aaa-0", "t_bbb-1"]),
    ({"diagnosis": "true"}, ["t_aaa-0", "t_ccc-0"]),
    ({"diagnosis": "false", "credentialed": "false"}, ["t_bbb-0", "t_bbb-1"]),
    ({"credentialed": "true"}, ["t_aaa-0"]),
])
def test_it_filters_threads_like_the_page(api, corpus, params, expected):
    assert ids(api.get(THREADS, params), "thread_id") == expected


@pytest.mark.parametrize("params", [{"split": "nonsense"}, {"question_type": "Other kind"}, {"diagnosis": "maybe"}])
def test_it_rejects_an_invalid_thread_filter(api, corpus, params):
    response = api.get(THREADS, params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_it_lists_threads_with_summary_fields(api, corpus):
    row = api.get(THREADS, {"split": "test"}).json()["results"][0]
    assert row == {
        "thread_id": "t_aaa-0", "url": "http://testserver/api/corpus/threads/t_aaa-0/",
        "page_url": "/corpus/threads/t_aaa-0/", "post_id": "pt_aaa-0", "title": "Yellow diarrhea and cramps",
        "split": "test", "question_count": 2,
        "has_final_diagnosis": True, "has_credentialed_author": True,
    }


def test_it_shows_a_thread_with_comments_questions_and_mcq(api, corpus):
    thread = api.get(f"{THREADS}t_aaa-0/").json()
    assert thread["post"]["body"].startswith("Five days of yellow diarrhea.")
    assert [q["qid"] for q in thread["questions"]] == ["t_aaa-0-c0-q0", "t_aaa-0-c0-q1"]
    assert thread["questions"][0]["comment_id"] == "ct_aaa-00"
    assert thread["questions"][0]["derived"]["hypotheses"] == ["food poisoning"]
    assert [c["comment_id"] for c in thread["comments"]] == ["ct_aaa-00"]
    assert "answer" not in thread["mcqs"][0] and "answer_idx" not in thread["mcqs"][0]  # key: leads only
    assert thread["mcqs"][0]["thread"] == "t_aaa-0"
    assert "known to be broken" in thread["mcqs"][0]["initial_info_note"]
    # LLM-derived thread fields are grouped apart from observed ones
    assert thread["derived"] == {
        "final_diagnosis": "Food poisoning", "has_final_diagnosis": True, "conclusion": "Probably something you ate.",
        "has_conclusion": True, "other": {"refer_to_hospital": 0.0},
    }
    assert "final_diagnosis" not in thread


def test_it_returns_404_for_an_unknown_thread(api, corpus):
    assert api.get(f"{THREADS}t_nope-0/").status_code == 404


def test_it_pages_threads_with_a_cursor(api, db):
    for index in range(7):
        make_thread(f"t_p{index}-0", questions=[{"text": "Any fever?"}])
    first = api.get(THREADS, {"page_size": 3}).json()
    assert [row["thread_id"] for row in first["results"]] == ["t_p0-0", "t_p1-0", "t_p2-0"]
    assert first["previous"] is None
    second = api.get(first["next"]).json()
    assert [row["thread_id"] for row in second["results"]] == ["t_p3-0", "t_p4-0", "t_p5-0"]
    third = api.get(second["next"]).json()
    assert [row["thread_id"] for row in third["results"]] == ["t_p6-0"]
    assert third["next"] is None


# ---- questions, posts, MCQs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "expected"), [
    ({"split": "train"}, ["t_bbb-0-c0-q0", "t_bbb-1-c0-q0"]),
    ({"question_type": "Checklist"}, ["t_ccc-0-c0-q0"]),
    ({"thread": "t_aaa-0"}, ["t_aaa-0-c0-q0", "t_aaa-0-c0-q1"]),
    ({"qid": "t_ccc-0-c0-q0,t_aaa-0-c0-q1"}, ["t_aaa-0-c0-q1", "t_ccc-0-c0-q0"]),
    ({"qid": "t_ccc-0-c0-q0,nope"}, ["t_ccc-0-c0-q0"]),
    ({"split": "test", "question_type": "Followup"}, ["t_aaa-0-c0-q1"]),
])
def test_it_filters_questions(api, corpus, params, expected):
    assert ids(api.get(QUESTIONS, params), "qid") == expected


def test_it_accepts_repeated_qid_parameters(api, corpus):
    response = api.get(f"{QUESTIONS}?qid=t_ccc-0-c0-q0&qid=t_bbb-0-c0-q0")
    assert ids(response, "qid") == ["t_bbb-0-c0-q0", "t_ccc-0-c0-q0"]


def test_it_shows_a_question(api, corpus):
    question = api.get(f"{QUESTIONS}t_aaa-0-c0-q1/").json()
    assert question["thread"] == "t_aaa-0"
    assert question["split"] == "test"
    assert question["page_url"] == "/corpus/threads/t_aaa-0/?q=t_aaa-0-c0-q1"
    assert question["has_patient_answer"] is False
    assert question["derived"]["additional_context"] == "Hardly any fever at all."


def test_it_lists_and_shows_posts(api, corpus):
    assert ids(api.get(POSTS), "post_id") == ["pbbb", "pt_aaa-0", "pt_ccc-0"]
    assert ids(api.get(POSTS, {"split": Split.TRAIN}), "post_id") == ["pbbb"]
    post = api.get(f"{POSTS}pbbb/").json()
    assert post["threads"] == ["t_bbb-0", "t_bbb-1"]
    assert post["title"] == "Persistent headache after a fall"


def test_it_shows_the_mcq_key_to_leads_only(api, corpus, lead, api_client_for):
    """Reviewers gold-label these cases starting with a blind answer: the published key would unblind them."""
    lead_api = api_client_for(lead)
    assert lead_api.get(f"{THREADS}t_aaa-0/").json()["mcqs"][0]["answer"] == "Hydrate and see a doctor if it persists."
    assert "answer_idx" in lead_api.get(MCQS).json()["results"][0]
    assert "answer_idx" not in api.get(MCQS).json()["results"][0]


def test_it_lists_mcq_cases_by_source(api, corpus):
    make_mcq(None, case_id="medqa-7", source=MultipleChoiceCase.Source.MEDQA, initial_info="A 45-year-old man.")
    assert ids(api.get(MCQS), "case_id") == ["t_aaa-0", "medqa-7"]
    assert ids(api.get(MCQS, {"source": "medqa"}), "case_id") == ["medqa-7"]
    assert ids(api.get(MCQS, {"thread": "t_aaa-0"}), "case_id") == ["t_aaa-0"]
    medqa = api.get(f"{MCQS}{MultipleChoiceCase.objects.get(case_id='medqa-7').pk}/").json()
    assert medqa["thread"] is None
    assert medqa["initial_info_note"] == ""
    assert api.get(MCQS, {"source": "other"}).status_code == 400


# ---- query counts --------------------------------------------------------------------------------------------------


@pytest.fixture
def bigger_corpus(corpus):
    for index in range(60):
        thread = make_thread(f"t_x{index:03d}-0", split=Split.TRAIN, final_diagnosis="Flu", questions=[
            {"text": "Any fever?", "answer": "Yes.", "type": "Followup", "previous_turns": [
                {"question": "Since when?", "patient_answer": "Monday."}]},
            {"text": "Any cough?", "answer": "No.", "type": "Hypotheses testing", "turn": 2},
        ])
        make_mcq(thread)


@pytest.mark.parametrize(("url", "params"), [
    (THREADS, {}),
    (THREADS, {"q": "question", "split": "train", "question_type": "Followup", "diagnosis": "true"}),
    (QUESTIONS, {}),
    (QUESTIONS, {"split": "train", "question_type": "Followup"}),
    (POSTS, {}),
    (MCQS, {"source": "askdocs"}),
    ("/api/corpus/imports/", {}),
])
def test_it_lists_with_a_bounded_number_of_queries(api_client_for, lead, bigger_corpus, url, params,
                                                   django_assert_max_num_queries):
    client = api_client_for(lead)
    with django_assert_max_num_queries(4):
        response = client.get(url, params)
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 50


def test_it_shows_a_thread_with_a_bounded_number_of_queries(api, bigger_corpus, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = api.get(f"{THREADS}t_x001-0/")
    assert len(response.json()["questions"]) == 2


# ---- schema --------------------------------------------------------------------------------------------------------


def test_it_documents_every_corpus_endpoint_without_warnings():
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/corpus/", include("corpus.api_urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS, "drf-spectacular warned about the corpus endpoints"
    assert {"/api/corpus/threads/", "/api/corpus/threads/{thread_id}/", "/api/corpus/questions/{qid}/",
            "/api/corpus/posts/{post_id}/", "/api/corpus/mcqs/{id}/", "/api/corpus/imports/"} <= set(schema["paths"])
    upload = schema["paths"]["/api/corpus/imports/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "202" in upload["responses"]
    assert reverse("corpus-thread-list") == THREADS


# ---- imports -------------------------------------------------------------------------------------------------------


def post_files(client, paths, capture, **fields):
    handles = [open(path, "rb") for path in paths]
    try:
        with capture(execute=True):
            return client.post("/api/corpus/imports/", {"files": handles, **fields}, format="multipart")
    finally:
        for handle in handles:
            handle.close()


def test_allows_lead_to_upload_files_for_import(api_client_for, lead, shared_data,
                                                django_capture_on_commit_callbacks):
    client = api_client_for(lead)
    response = post_files(client, [shared_data / "mediq" / "medqa_dev_convo.jsonl"],
                          django_capture_on_commit_callbacks, format="medqa")
    assert response.status_code == 202, response.content
    body = response.json()
    job = Job.objects.get(pk=body["job_id"])
    assert body["job_url"] == f"http://testserver/api/jobs/{job.pk}/" == response["Location"]
    assert body["page_url"] == f"http://testserver/jobs/{job.pk}/"
    assert body["files"] == ["medqa_dev_convo.jsonl"]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert MultipleChoiceCase.objects.filter(source="medqa").count() == 1272
    reports = client.get("/api/corpus/imports/").json()["results"]
    assert [(r["file_name"], r["job"], r["created"], r["rejected"]) for r in reports] == [
        ("medqa_dev_convo.jsonl", job.pk, {"mcq": 1272}, 0)
    ]
    assert reports[0]["job_page_url"] == body["page_url"]


def test_it_reports_rejected_records_through_the_api(api_client_for, lead, tmp_path,
                                                     django_capture_on_commit_callbacks):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    client = api_client_for(lead)
    assert post_files(client, [bad], django_capture_on_commit_callbacks).status_code == 202
    report = client.get("/api/corpus/imports/").json()["results"][0]
    assert report["error_count"] >= 1
    assert set(report["errors"][0]) == {"file", "line", "field", "reason"}
    assert report["errors"][0]["file"] == "bad.jsonl"


@pytest.mark.parametrize(("fields", "bad"), [({"format": "csv"}, "format"), ({"split": "holdout"}, "split")])
def test_it_rejects_an_invalid_upload(api_client_for, lead, shared_data, django_capture_on_commit_callbacks,
                                      fields, bad):
    response = post_files(api_client_for(lead), [shared_data / "askdocs" / "test_q.jsonl"],
                          django_capture_on_commit_callbacks, **fields)
    assert response.status_code == 400
    assert bad in response.json()
    assert not Job.objects.exists()


def test_it_asks_for_files(api_client_for, lead):
    response = api_client_for(lead).post("/api/corpus/imports/", {"format": "auto"}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()


def test_it_adds_no_schema_warning_to_the_whole_api():
    """Corpus components must not collide with other apps' (names are global in the schema)."""
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    warnings = [message for message in GENERATOR_STATS._warn_cache if "corpus" in message.lower()]
    GENERATOR_STATS.reset()
    assert warnings == []
