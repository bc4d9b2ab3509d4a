"""Evaluation API, leads only: reading runs, episodes and the leaderboard, launching; fixed query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.models import EvaluationRun

from .helpers import make_finished_runs, mediq_records, write_jsonl

pytestmark = pytest.mark.django_db
API = "/api/evaluation"


@pytest.fixture
def runs(lead):
    return make_finished_runs(lead)


def test_allows_lead_to_list_and_read_runs(api_client_for, lead, runs):
    client = api_client_for(lead)
    listed = client.get(f"{API}/runs/").json()
    assert listed["count"] == 2 and {row["kind"] for row in listed["results"]} == {"interactive", "winrate"}
    interactive, _ = runs
    detail = client.get(f"{API}/runs/{interactive.pk}/").json()
    assert detail["metrics"]["correct"] == 2 and "provenance" in detail and detail["case_set"] == "demo-cases"
    episodes = client.get(f"{API}/runs/{interactive.pk}/episodes/").json()
    assert episodes["count"] == 3 and "transcript" not in episodes["results"][0]
    episode = client.get(f"{API}/episodes/{episodes['results'][0]['id']}/").json()
    assert episode["transcript"][1]["question"] == "Do you have a fever?"
    assert client.get(f"{API}/runs/{interactive.pk}/export/").json()["episodes"][0]["case_id"] == "t_case0"
    assert client.get(f"{API}/case-sets/").json()["results"][0]["size"] == 3
    board = client.get(f"{API}/leaderboard/").json()
    assert board["rows"][0]["winrate"]["vs human"]["win_rate"] == 0.75


def test_lists_runs_in_a_fixed_number_of_queries(api_client_for, runs, lead):
    client = api_client_for(lead)
    client.get(f"{API}/runs/")  # the first request also looks up the lead's roles
    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/runs/")
    make_finished_runs(lead, first_question=200)
    with CaptureQueriesContext(connection) as more:
        assert client.get(f"{API}/runs/").json()["count"] == 4
    assert len(more) == len(few)


@pytest.mark.parametrize("user_fixture", ["annotator", "reviewer", "outsider"])
def test_denies_annotators_reviewers_and_outsiders_the_api(api_client_for, request, runs, user_fixture):
    client = api_client_for(request.getfixturevalue(user_fixture))
    for url in [f"{API}/runs/", f"{API}/leaderboard/", f"{API}/episodes/", f"{API}/case-sets/",
                f"{API}/runs/{runs[0].pk}/export/"]:
        assert client.get(url).status_code == 403, url


def test_denies_reviewer_to_launch(api_client_for, reviewer):
    response = api_client_for(reviewer).post(f"{API}/runs/interactive/", {"model": "tiny"}, format="json")
    assert response.status_code == 403


def test_allows_lead_to_launch_runs(api_client_for, lead, tiny_endpoint, tmp_path, catalogue):
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(2))
    client = api_client_for(lead)
    response = client.post(f"{API}/runs/interactive/", {"model": "tiny", "cases": str(cases), "repeats": 2,
                                                        "patient": "embedding"}, format="json")
    assert response.status_code == 201, response.json()
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    assert run.config["repeats"] == 2 and run.config["max_questions"] == 15 and run.provenance["seeds"] == [0, 1]
    assert client.post(f"{API}/runs/interactive/", {"model": "tiny", "patient": "oracle"},
                       format="json").status_code == 400
    refused = client.post(f"{API}/runs/interactive/", {"model": "missing"}, format="json")
    assert refused.status_code == 400 and "neither an active endpoint" in refused.json()["detail"]
    no_questions = client.post(f"{API}/runs/winrate/", {"model": "tiny"}, format="json")
    assert no_questions.status_code == 400 and "No questions selected" in no_questions.json()["detail"]
    no_run = client.post(f"{API}/runs/expert_check/", {"candidate": 999}, format="json")
    assert no_run.status_code == 400 and "No generation run 999" in no_run.json()["detail"]
