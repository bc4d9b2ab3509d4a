"""Qualification rounds: known-answer items shown first with feedback, a pass mark, no real items until passed.

Every API test runs twice: through a token client (on PostgreSQL the lean views of fast_api.py answer it, with the
hand-written SQL of assignment.py) and through DRF's test client (the DRF actions, the ORM), so the gate is checked
on both paths; on SQLite both reach the DRF actions.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from annotation.actions import do_import_items
from annotation.assignment import screen_pick
from annotation.models import Assignment, CampaignMember, ComparisonItem, Judgment
from annotation.quality import compute_quality, disagreements
from dataversions.building import judgments_order
from dataversions.selection import Selection
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db
API = "/api/annotation"
GUIDELINES = "Prefer the **specific** question."
EXPLANATIONS = ["A **red flag** question comes first.", "", "<script>alert(1)</script>Ask about *onset*.", "", ""]


class JsonClient:
    """POST JSON and read JSON, whichever client is underneath."""

    def __init__(self, client, drf):
        self.client, self.drf = client, drf

    def post(self, url, body=None):
        if self.drf:
            return self.client.post(url, body or {}, format="json")
        return self.client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture(params=["token", "drf"])
def client_of(request, api_client_for):
    def make(user):
        if request.param == "drf":
            return JsonClient(api_client_for(user), drf=True)
        key = Token.objects.get_or_create(user=user)[0].key
        return JsonClient(Client(HTTP_AUTHORIZATION=f"Token {key}"), drf=False)

    return make


@pytest.fixture
def campaign(make_campaign, annotator):
    """4 real items; a pool of 5 qualification items (gold A); rounds of 3, 60% to pass (2 of 3)."""
    campaign = make_campaign(n=4, annotators=[annotator], qualification_required=True, qualification_items=3,
                             qualification_pass_mark=0.6, guidelines=GUIDELINES, overlap=1)
    rows = [comparison_row(2000 + i, gold="a", qualification=True, explanation=text)
            for i, text in enumerate(EXPLANATIONS)]
    report = do_import_items(campaign, jsonl(rows))
    assert report.qualification == 5
    campaign.refresh_from_db()
    return campaign


def expected_pick(item):
    assignment = Assignment.objects.select_related("item").get(pk=item["assignment"])
    return screen_pick(assignment.item.gold_choice, assignment.left_is_a)


def wrong_pick(item):
    return "right" if expected_pick(item) == "left" else "left"


def answer(client, item, pick, want_next=True):
    body = {"judgments": [{"attribute": j["attribute"], "pick": pick, "time_ms": 900} for j in item["judgments"]],
            "duration_ms": 1500, "next": want_next}
    return client.post(f"{API}/assignments/{item['assignment']}/submit/", body)


def test_an_unqualified_annotator_gets_qualification_items_with_feedback_then_real_items(campaign, annotator,
                                                                                         client_of):
    client = client_of(annotator)
    served = client.post(f"{API}/campaigns/{campaign.pk}/next/")
    assert served.status_code == 200
    item = served.json()["item"]
    assert item["qualification"] == {"round": 1, "position": 1, "of": 3}
    first = Assignment.objects.get(pk=item["assignment"])
    assert first.item.is_qualification and first.item.position == 1  # the pool is served in file order

    right = expected_pick(item)
    response = answer(client, item, right)
    assert response.status_code == 200
    feedback = response.json()["feedback"]
    assert feedback["correct"] is True and feedback["expected"] == right and feedback["your_pick"] == right
    assert feedback["expected_text"] == first.item.question_a  # gold "a": question A, wherever it was shown
    assert "<strong>red flag</strong>" in feedback["explanation_html"] and feedback["explanation_from"] == "item"
    assert feedback["qualification"] == {"status": "pending", "round": 1, "seen": 1, "correct": 1, "items": 3,
                                         "pass_mark": 0.6, "needed": 2}
    assert response.json()["progress"]["done"] == 0  # qualification items are not the campaign's work

    item = response.json()["item"]
    assert item["qualification"]["position"] == 2
    response = answer(client, item, wrong_pick(item))
    feedback = response.json()["feedback"]
    assert feedback["correct"] is False and feedback["expected"] == expected_pick(item)
    assert feedback["explanation_from"] == "guidelines" and "<strong>specific</strong>" in feedback["explanation_html"]

    item = response.json()["item"]
    response = answer(client, item, expected_pick(item))
    feedback = response.json()["feedback"]
    assert "<script>" not in feedback["explanation_html"] and "<em>onset</em>" in feedback["explanation_html"]
    assert feedback["qualification"]["status"] == "passed" and feedback["qualification"]["correct"] == 2
    real = response.json()["item"]
    assert real is not None and "qualification" not in real
    assert not Assignment.objects.get(pk=real["assignment"]).item.is_gold
    member = CampaignMember.objects.get(campaign=campaign, user=annotator)
    assert (member.qualification_status, member.done_count, member.served_count) == ("passed", 0, 1)

    response = answer(client, real, "left")  # a real item: no feedback, counted as done
    assert "feedback" not in response.json() and response.json()["progress"]["done"] == 1


def test_a_failed_round_refuses_real_items_until_a_lead_allows_a_retry(campaign, annotator, lead, client_of,
                                                                       api_client_for, client_for):
    client = client_of(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    for _ in range(3):
        response = answer(client, item, wrong_pick(item))
        item = response.json()["item"]
    body = response.json()
    assert body["item"] is None  # no next item after a failed round, and the submit itself succeeded
    assert body["feedback"]["qualification"]["status"] == "failed"
    assert "did not pass" in body["feedback"]["message"] and "0 of 3" in body["feedback"]["message"]

    refused = client.post(f"{API}/campaigns/{campaign.pk}/next/")
    assert refused.status_code == 409
    assert "did not pass" in refused.json()["detail"]
    assert refused.json()["qualification"]["status"] == "failed" and refused.json()["qualification"]["seen"] == 3
    assert not Assignment.objects.filter(annotator=annotator, item__is_qualification=False).exists()
    assert "qualification not passed" in client_for(annotator).get(reverse("annotation:index")).content.decode()

    lead_api = api_client_for(lead)
    url = f"{API}/campaigns/{campaign.pk}/members/{annotator.username}/"
    assert api_client_for(annotator).post(url, {"retry_qualification": True}, format="json").status_code == 403
    retried = lead_api.post(url, {"retry_qualification": True}, format="json")
    assert retried.status_code == 200
    assert retried.json()["qualification_status"] == "pending" and retried.json()["qualification_round"] == 2
    assert lead_api.post(url, {"retry_qualification": True}, format="json").status_code == 400  # not failed now

    # The second round serves the two items not seen yet; the pool then runs out, so the round is graded on them.
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    assert item["qualification"] == {"round": 2, "position": 1, "of": 3}
    assert Assignment.objects.get(pk=item["assignment"]).item.position == 4
    response = answer(client, item, expected_pick(item))
    item = response.json()["item"]
    response = answer(client, item, expected_pick(item))
    assert response.json()["feedback"]["qualification"]["status"] == "passed"
    assert response.json()["item"] is not None and "qualification" not in response.json()["item"]
    # The first round's judgments are kept, never deleted.
    assert Judgment.objects.filter(annotator=annotator, item__is_qualification=True).count() == 5


def test_submitting_without_next_also_returns_the_feedback(campaign, annotator, client_of):
    client = client_of(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    response = answer(client, item, expected_pick(item), want_next=False)
    assert response.status_code == 200
    assert response.json()["item"] is None and response.json()["feedback"]["correct"] is True


def test_qualification_items_cannot_be_skipped_or_undone(campaign, annotator, client_of):
    client = client_of(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    skipped = client.post(f"{API}/assignments/{item['assignment']}/skip/", {"reason": "other"})
    assert skipped.status_code == 400 and "cannot be skipped" in skipped.json()["detail"]
    answer(client, item, expected_pick(item))
    undone = client.post(f"{API}/campaigns/{campaign.pk}/undo/")
    assert undone.status_code == 400 and "nothing to undo" in undone.json()["detail"]
    assert Judgment.objects.filter(annotator=annotator, retracted_at__isnull=True).count() == 1


def test_a_campaign_without_qualification_never_serves_its_qualification_items(make_campaign, annotator, client_of):
    campaign = make_campaign(n=3, annotators=[annotator], gold=1, gold_rate=0.5, overlap=1)
    do_import_items(campaign, jsonl([comparison_row(3000 + i, gold="b", qualification=True) for i in range(3)]))
    client = client_of(annotator)
    served = []
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    while item is not None:
        served.append(Assignment.objects.get(pk=item["assignment"]).item)
        assert "qualification" not in item
        item = answer(client, item, "left").json()["item"]
    assert len(served) == 4 and sum(item.is_gold for item in served) == 1  # the hidden gold item, not the others
    assert not any(item.is_qualification for item in served)


def test_qualification_judgments_never_count_in_agreement_adjudication_or_datasets(campaign, annotator, client_of):
    client = client_of(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    for _ in range(3):
        response = answer(client, item, expected_pick(item))
        item = response.json()["item"]
    answer(client, item, "left")  # one real judgment
    assert Judgment.objects.filter(campaign=campaign).count() == 4
    quality = compute_quality(campaign, n_boot=50)
    assert quality["judgments"] == 1
    assert quality["annotators"][0]["gold_judged"] == 0  # qualification answers are not hidden-gold accuracy
    assert not disagreements(campaign).filter(item__is_qualification=True).exists()
    keys = judgments_order(Selection(kind="judgments", campaigns=[campaign.pk]), [])
    kept = {pk for (kind, pk) in keys if kind == "judgment"}
    assert kept == set(Judgment.objects.filter(item__is_qualification=False).values_list("pk", flat=True))


def test_the_gate_holds_for_an_open_item_served_before_the_campaign_required_qualification(make_campaign, annotator,
                                                                                           client_of):
    campaign = make_campaign(n=3, annotators=[annotator], overlap=1)
    client = client_of(annotator)
    real = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    do_import_items(campaign, jsonl([comparison_row(4000, gold="a", qualification=True)]))
    campaign.qualification_required, campaign.qualification_items = True, 1
    campaign.save()
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    assert item["qualification"]["position"] == 1 and item["assignment"] != real["assignment"]
    response = answer(client, item, expected_pick(item))
    assert response.json()["feedback"]["qualification"]["status"] == "passed"
    assert response.json()["item"]["assignment"] == real["assignment"]  # the open real item comes back


def test_leads_set_the_qualification_settings_through_the_api_and_the_form(make_campaign, lead, api_client_for,
                                                                           client_for):
    campaign = make_campaign(n=1)
    api = api_client_for(lead)
    changed = api.patch(f"{API}/campaigns/{campaign.pk}/", {
        "qualification_required": True, "qualification_items": 5, "qualification_pass_mark": 0.75,
        "gold_alert_accuracy": 0.6, "gold_alert_min_judged": 4,
    }, format="json")
    assert changed.status_code == 200
    assert changed.json()["qualification_required"] is True and changed.json()["qualification_pass_mark"] == 0.75
    for bad in ({"qualification_pass_mark": 1.5}, {"gold_alert_accuracy": -0.1}, {"qualification_items": 0}):
        refused = api.patch(f"{API}/campaigns/{campaign.pk}/", bad, format="json")
        assert refused.status_code == 400, bad
    campaign.refresh_from_db()
    assert (campaign.qualification_items, campaign.gold_alert_min_judged) == (5, 4)

    page = client_for(lead).get(reverse("annotation:campaign", args=[campaign.pk]))
    for name in ("qualification_required", "qualification_items", "qualification_pass_mark", "gold_alert_accuracy",
                 "gold_alert_min_judged"):
        assert f'name="{name}"' in page.content.decode()
    posted = client_for(lead).post(reverse("annotation:campaign", args=[campaign.pk]), {
        "name": campaign.name, "description": "", "guidelines": "", "judgment_mode": "per_attribute", "overlap": 2,
        "gold_rate": 0.0, "items_per_annotator": "", "qualification_items": 7, "qualification_pass_mark": 0.9,
    })
    assert posted.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.qualification_required, campaign.qualification_items, campaign.gold_alert_accuracy) == (
        False, 7, 0.6)


def test_a_qualification_row_needs_its_known_answer(make_campaign, lead, api_client_for):
    campaign = make_campaign(n=1)
    upload = jsonl([comparison_row(1, qualification=True), comparison_row(2, gold="a", qualification="yes")])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api_client_for(lead).post(f"{API}/campaigns/{campaign.pk}/import/",
                                         {"file": SimpleUploadedFile("q.jsonl", upload)}, format="multipart")
    assert response.status_code == 400
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(1, "gold"), (2, "qualification")]
    assert not ComparisonItem.objects.filter(is_qualification=True).exists()
