"""Who may do what with the corpus: every page and endpoint against every persona."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from corpus.models import ImportRun, MultipleChoiceCase

from .corpus.page_factories import build_corpus

READERS = ["annotator", "reviewer", "lead", "admin_user"]
NON_LEADS = ["annotator", "second_annotator", "reviewer"]
LEADS = ["lead", "admin_user"]


@pytest.fixture
def corpus(db):
    build_corpus()
    run = ImportRun.objects.create(file_name="test_q.jsonl", format="questions", records_read=3)
    return {"mcq": MultipleChoiceCase.objects.get().pk, "run": run.pk}


def read_endpoints(corpus):
    return [
        "/api/corpus/threads/", "/api/corpus/threads/t_aaa-0/", "/api/corpus/questions/",
        "/api/corpus/questions/t_aaa-0-c0-q0/", "/api/corpus/posts/", "/api/corpus/posts/pbbb/",
        "/api/corpus/mcqs/", f"/api/corpus/mcqs/{corpus['mcq']}/",
    ]


def lead_endpoints(corpus):
    return ["/api/corpus/imports/", f"/api/corpus/imports/{corpus['run']}/"]


PAGES = [reverse("corpus:thread-list"), reverse("corpus:thread", args=["t_aaa-0"])]


def test_denies_anonymous_to_use_the_corpus_api(corpus):
    client = APIClient()
    for url in read_endpoints(corpus) + lead_endpoints(corpus):
        assert client.get(url).status_code in {401, 403}, url
    assert client.post("/api/corpus/imports/", {}).status_code in {401, 403}


def test_denies_outsider_to_use_the_corpus(corpus, outsider, api_client_for, client_for):
    api = api_client_for(outsider)
    for url in read_endpoints(corpus) + lead_endpoints(corpus):
        assert api.get(url).status_code == 403, url
    pages = client_for(outsider)
    for url in [*PAGES, reverse("corpus:import")]:
        assert pages.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", READERS)
def test_allows_every_role_to_read_the_corpus(corpus, persona, request, api_client_for, client_for):
    user = request.getfixturevalue(persona)
    api = api_client_for(user)
    for url in read_endpoints(corpus):
        assert api.get(url).status_code == 200, url
    pages = client_for(user)
    for url in PAGES:
        assert pages.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", NON_LEADS)
def test_denies_non_leads_to_see_imports_or_jobs(corpus, persona, request, api_client_for, client_for):
    user = request.getfixturevalue(persona)
    api = api_client_for(user)
    for url in [*lead_endpoints(corpus), "/api/jobs/"]:
        assert api.get(url).status_code == 403, url
    pages = client_for(user)
    for url in [reverse("corpus:import"), reverse("jobs:list")]:
        assert pages.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", NON_LEADS)
def test_denies_non_leads_to_import(corpus, persona, request, api_client_for, shared_data):
    api = api_client_for(request.getfixturevalue(persona))
    with open(shared_data / "askdocs" / "test_q.jsonl", "rb") as handle:
        response = api.post("/api/corpus/imports/", {"files": [handle], "format": "auto"}, format="multipart")
    assert response.status_code == 403
    assert ImportRun.objects.count() == 1


@pytest.mark.parametrize("persona", LEADS)
def test_allows_leads_to_read_import_reports(corpus, persona, request, api_client_for, client_for):
    api = api_client_for(request.getfixturevalue(persona))
    for url in lead_endpoints(corpus):
        assert api.get(url).status_code == 200, url
    assert client_for(request.getfixturevalue(persona)).get(reverse("corpus:import")).status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_denies_anyone_to_write_corpus_records_through_the_api(corpus, lead, admin_user, api_client_for, method):
    for user in (lead, admin_user):
        api = api_client_for(user)
        for url in read_endpoints(corpus):
            assert getattr(api, method)(url, {}).status_code == 405, (method, url)


def test_allows_annotator_to_read_with_a_token(corpus, annotator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    assert client.get("/api/corpus/threads/").status_code == 200
    assert client.get("/api/corpus/imports/").status_code == 403
