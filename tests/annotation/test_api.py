"""The annotation loop and lead endpoints through the REST API."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Adjudication, Assignment, Campaign, Choice, Judgment
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db
API = "/api/annotation"


def submit_body(payload, pick="left", **extra):
    return {"judgments": [{"attribute": j["attribute"], "pick": pick, **extra} for j in payload["judgments"]],
            "duration_ms": 900, "next": True}


def test_it_serves_an_item_without_its_sources_or_answers(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=2, annotators=[annotator])
    response = api_client_for(annotator).post(f"{API}/campaigns/{campaign.pk}/next/")
    assert response.status_code == 200
    item = response.json()["item"]
    questions = {"Did the rash appear after a new soap or detergent? (0)", "Anything else? (0)"}
    assert {item["left"], item["right"]} == questions
    assert item["context"]["messages"][1:] == [{"role": "assistant", "content": "Is it raised?"},
                                               {"role": "user", "content": "Yes, a little."}]
    assert [(j["attribute"], j["name"]) for j in item["judgments"]] == [("clarity", "Clarity")]
    text = json.dumps(response.json())
    for hidden in ("enhanced", "corrupted", "source", "gold", "judge", "expected", "left_is_a"):
        assert hidden not in text
    assert item["progress"] == {"done": 0, "assigned": 2, "skipped": 0}


def test_it_submits_and_returns_the_next_item_in_one_round_trip(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=2, annotators=[annotator])
    client = api_client_for(annotator)
    first = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    response = client.post(f"{API}/assignments/{first['assignment']}/submit/",
                           submit_body(first, strength="slightly", rationale="clearer"), format="json")
    assert response.status_code == 200
    second = response.json()["item"]
    assert second["assignment"] != first["assignment"]
    assert response.json()["progress"]["done"] == 1
    judgment = Judgment.objects.get()
    assert (judgment.side, judgment.strength, judgment.rationale) == ("left", "slightly", "clearer")
    again = client.post(f"{API}/assignments/{first['assignment']}/submit/", submit_body(first), format="json")
    assert again.status_code == 409
    assert Judgment.objects.count() == 1


def test_it_rejects_an_incomplete_submission(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=1, annotators=[annotator], judgment_mode="both")
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    body = {"judgments": [{"attribute": "clarity", "pick": "left"}]}
    response = client.post(f"{API}/assignments/{item['assignment']}/submit/", body, format="json")
    assert response.status_code == 400 and "overall" in response.json()["detail"]
    bad = {"judgments": [{"attribute": "clarity", "pick": "sideways"}, {"attribute": "overall", "pick": "tie"}]}
    assert client.post(f"{API}/assignments/{item['assignment']}/submit/", bad, format="json").status_code == 400


def test_it_undoes_through_the_api_and_prefills_the_previous_answer(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=3, annotators=[annotator])
    client = api_client_for(annotator)
    first = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    client.post(f"{API}/assignments/{first['assignment']}/submit/", submit_body(first, pick="right"), format="json")
    undone = client.post(f"{API}/campaigns/{campaign.pk}/undo/").json()
    assert undone["item"]["assignment"] == first["assignment"]
    assert undone["item"]["previous"]["clarity"]["pick"] == "right"
    assert undone["progress"]["done"] == 0
    assert not Judgment.objects.filter(retracted_at__isnull=True).exists()


def test_it_skips_with_a_reason_and_serves_the_next(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=2, annotators=[annotator])
    client = api_client_for(annotator)
    first = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    response = client.post(f"{API}/assignments/{first['assignment']}/skip/", {"reason": "phi", "next": True},
                           format="json")
    assert response.status_code == 200 and response.json()["progress"]["skipped"] == 1
    assert response.json()["item"]["assignment"] != first["assignment"]
    assert client.post(f"{API}/assignments/{first['assignment']}/skip/", {"reason": "nope"},
                       format="json").status_code == 400


def test_it_reports_done_when_nothing_is_left(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=1, annotators=[annotator])
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    done = client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item), format="json").json()
    assert done["item"] is None and done["progress"]["done"] == 1


def test_allows_lead_to_create_import_and_start_a_campaign(lead, annotator, api_client_for):
    client = api_client_for(lead)
    created = client.post(f"{API}/campaigns/", {
        "name": "Expert study", "judgment_mode": "both", "overlap": 3, "gold_rate": 0.1,
        "guidelines": "# Read me", "annotators": [annotator.username], "attribute_keys": ["clarity", "focus"],
    }, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    upload = SimpleUploadedFile("pairs.jsonl", jsonl([comparison_row(i) for i in range(4)]))
    imported = client.post(f"{API}/campaigns/{pk}/import/", {"file": upload}, format="multipart")
    assert imported.status_code == 201 and imported.json()["created"] == 4
    bad = SimpleUploadedFile("bad.jsonl", b'{"context": "x"}\n')
    rejected = client.post(f"{API}/campaigns/{pk}/import/", {"file": bad}, format="multipart")
    assert rejected.status_code == 400 and rejected.json()["errors"][0]["line"] == 1
    assert client.post(f"{API}/campaigns/{pk}/status/", {"status": "active"}, format="json").status_code == 200
    campaign = Campaign.objects.get(pk=pk)
    assert campaign.judgment_keys_for("clarity") == ["clarity", "focus", "overall"]
    assert campaign.members.get().user == annotator


def test_it_refuses_unknown_attributes_in_a_campaign(lead, api_client_for):
    response = api_client_for(lead).post(f"{API}/campaigns/", {"name": "X", "attribute_keys": ["beauty"]},
                                         format="json")
    assert response.status_code == 400


def test_allows_reviewer_to_list_disagreements_and_adjudicate(make_campaign, annotator, second_annotator, reviewer,
                                                              api_client_for):
    campaign = make_campaign(n=1, annotators=[annotator, second_annotator])
    for user, wanted in ((annotator, Choice.A), (second_annotator, Choice.B)):
        client = api_client_for(user)
        item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
        left_is_a = Assignment.objects.get(pk=item["assignment"]).left_is_a
        pick = "left" if (wanted == Choice.A) == left_is_a else "right"
        client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item, pick=pick), format="json")
    review = api_client_for(reviewer)
    queue = review.get(f"{API}/campaigns/{campaign.pk}/disagreements/").json()
    item_id = campaign.items.get().pk
    assert queue["results"] == [{"item_id": item_id, "attribute": "clarity", "n": 2, "kinds": 2}]
    created = review.post(f"{API}/adjudications/", {"item": item_id, "attribute": "clarity", "choice": Choice.A,
                                                     "note": "A asks about the trigger."}, format="json")
    assert created.status_code == 201 and created.json()["author"] == reviewer.username
    assert review.get(f"{API}/campaigns/{campaign.pk}/disagreements/").json()["count"] == 0
    assert Judgment.objects.filter(retracted_at__isnull=True).count() == 2  # raw judgments untouched
    assert Adjudication.objects.get().choice == Choice.A


def test_it_lists_own_judgments_with_a_bounded_number_of_queries(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=6, annotators=[annotator])
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    while item:
        item = client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item),
                           format="json").json()["item"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/judgments/")
    assert response.json()["count"] == 6
    assert {row["pick"] for row in response.json()["results"]} == {"left"}
    assert len(queries) <= 6


def test_it_lists_campaigns_with_a_bounded_number_of_queries(make_campaign, annotator, api_client_for):
    for index in range(5):
        make_campaign(n=1, annotators=[annotator], name=f"Campaign {index}")
    with CaptureQueriesContext(connection) as queries:
        response = api_client_for(annotator).get(f"{API}/campaigns/")
    assert response.json()["count"] == 5
    assert len(queries) <= 4
