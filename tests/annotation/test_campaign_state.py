"""Campaign state: paused, closed and removed-from refuse work with a 409; updates are all or nothing; what a user
may not see answers exactly as what does not exist.

The annotation loop is driven with a token client sending JSON, as the page's API clients do, so that on
PostgreSQL the lean views (annotation/fast_api.py) answer, and on SQLite the DRF actions.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from annotation.actions import do_set_campaign_status, do_set_members
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Assignment, AssignmentStatus, Campaign, CampaignMember, Judgment

pytestmark = pytest.mark.django_db
API = "/api/annotation"
MISSING = 987_654


def token_client(user):
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")


def post(client, url, body=None):
    return client.post(url, json.dumps(body if body is not None else {}), content_type="application/json")


def clarity(pick="left", want_next=False):
    return {"judgments": [{"attribute": "clarity", "pick": pick}], "next": want_next}


@pytest.fixture
def working(make_campaign, annotator, second_annotator):
    """An annotator with one submitted item (to undo) and one open item (to submit or skip)."""
    campaign = make_campaign(n=4, annotators=[annotator, second_annotator])
    do_submit_assignment(do_assign_next_item(campaign, annotator), clarity()["judgments"])
    open_item = do_assign_next_item(campaign, annotator)
    return campaign, open_item


def state(campaign, user):
    """Everything submit, skip and undo could change for this annotator."""
    assignments = sorted(Assignment.objects.filter(campaign=campaign, annotator=user).values_list("pk", "status"))
    live = Judgment.objects.filter(campaign=campaign, annotator=user, retracted_at__isnull=True).count()
    member = CampaignMember.objects.filter(campaign=campaign, user=user).values_list("done_count", "skipped_count")
    items = sorted(campaign.items.values_list("pk", "active_count", "submitted_count"))
    return assignments, live, list(member), items


def refusals(client, campaign, open_item):
    return {
        "submit": post(client, f"{API}/assignments/{open_item.pk}/submit/", clarity()),
        "submit and next": post(client, f"{API}/assignments/{open_item.pk}/submit/", clarity(want_next=True)),
        "skip": post(client, f"{API}/assignments/{open_item.pk}/skip/", {"reason": "other", "next": True}),
        "undo": post(client, f"{API}/campaigns/{campaign.pk}/undo/"),
    }


@pytest.mark.parametrize("status", ["paused", "closed"])
def test_it_refuses_submit_skip_and_undo_in_a_paused_or_closed_campaign(working, annotator, status):
    campaign, open_item = working
    do_set_campaign_status(campaign, status)
    before = state(campaign, annotator)
    for action, response in refusals(token_client(annotator), campaign, open_item).items():
        assert response.status_code == 409, (action, response.status_code, response.content)
        assert f"This campaign is {status}" in response.json()["detail"], action
    assert state(campaign, annotator) == before
    next_item = post(token_client(annotator), f"{API}/campaigns/{campaign.pk}/next/")
    assert next_item.status_code == 409 and f"is {status}" in next_item.json()["detail"]


def test_it_refuses_submit_skip_and_undo_for_an_annotator_removed_from_the_campaign(
        working, annotator, second_annotator):
    campaign, open_item = working
    do_set_members(campaign, [second_annotator])
    open_item.item.refresh_from_db()
    assert open_item.item.active_count == 0  # the removed annotator's open item went back to the pool
    before = state(campaign, annotator)
    for action, response in refusals(token_client(annotator), campaign, open_item).items():
        assert response.status_code == 409, (action, response.status_code, response.content)
        assert "no longer an annotator of this campaign" in response.json()["detail"], action
    assert state(campaign, annotator) == before
    assert Assignment.objects.get(pk=open_item.pk).status == AssignmentStatus.EXPIRED


def test_it_accepts_work_again_once_the_campaign_is_resumed(working, annotator):
    campaign, open_item = working
    do_set_campaign_status(campaign, "paused")
    do_set_campaign_status(campaign, "active")
    response = post(token_client(annotator), f"{API}/assignments/{open_item.pk}/submit/", clarity())
    assert response.status_code == 200 and response.json()["progress"]["done"] == 2


def hidden_and_missing(world):
    """(user, method, hidden url, the same url for an id that does not exist) for objects a role may not see."""
    draft, paused, member, stranger = world["draft"], world["paused"], world["member"], world["stranger"]
    requests = []
    for user, campaign in ((member, draft), (stranger, paused), (stranger, world["active"])):
        for method, path in (("post", "next/"), ("post", "undo/"), ("get", "progress/"), ("get", "")):
            requests.append((user, method, f"{API}/campaigns/{campaign.pk}/{path}",
                             f"{API}/campaigns/{MISSING}/{path}"))
        for name in ("annotate", "guidelines"):
            requests.append((user, "get", reverse(f"annotation:{name}", args=[campaign.pk]),
                             reverse(f"annotation:{name}", args=[MISSING])))
    theirs = world["theirs"]
    for path in ("submit/", "skip/"):
        for method in ("post", "post-bad"):  # a valid body (the lean view), and one only DRF answers
            requests.append((stranger, method, f"{API}/assignments/{theirs.pk}/{path}",
                             f"{API}/assignments/{MISSING}/{path}"))
    return requests


@pytest.fixture
def world(make_campaign, make_user, annotator, second_annotator):
    """A draft campaign the annotator is invited to; an active and a paused one of someone else; their item."""
    from alfa_platform.roles import Role

    draft = make_campaign(n=1, annotators=[annotator], name="Draft")
    Campaign.objects.filter(pk=draft.pk).update(status="draft")  # back to draft after it was served (leads can)
    active = make_campaign(n=2, annotators=[second_annotator], name="Active")
    paused = make_campaign(n=1, annotators=[second_annotator], name="Paused")
    do_set_campaign_status(paused, "paused")
    return {"draft": draft, "active": active, "paused": paused, "member": annotator,
            "stranger": make_user("carl_annotator", Role.ANNOTATOR),
            "theirs": do_assign_next_item(active, second_annotator)}


def test_objects_a_role_may_not_see_answer_as_if_they_did_not_exist(world):
    """A draft campaign to its invited member, another's campaign or assignment: the same answer as a missing id."""
    for user, method, hidden, missing in hidden_and_missing(world):
        client = token_client(user)
        if not hidden.startswith("/api/"):  # the pages: a session
            client = Client()
            client.force_login(user)
        if method == "get":
            answers = [client.get(url) for url in (hidden, missing)]
        else:
            body = {"judgments": "not a list"} if method == "post-bad" else clarity()
            answers = [post(client, url, body) for url in (hidden, missing)]
        assert answers[0].status_code == answers[1].status_code == 404, (user.username, method, hidden,
                                                                        [a.status_code for a in answers])
        assert answers[0].content == answers[1].content, (user.username, method, hidden)
    assert not Judgment.objects.exists() and not Assignment.objects.filter(annotator=world["stranger"]).exists()


def test_a_half_valid_campaign_update_changes_nothing(make_campaign, annotator, second_annotator, outsider, lead,
                                                      api_client_for, client_for):
    """Valid settings with an invalid member list: a 400 and the campaign exactly as it was (one transaction)."""
    campaign = make_campaign(n=1, annotators=[annotator], description="Before")

    def snapshot():
        row = Campaign.objects.values("description", "overlap", "gold_rate").get(pk=campaign.pk)
        return row, sorted(CampaignMember.objects.filter(campaign=campaign).values_list("user__username", "invited"))

    before = snapshot()
    response = api_client_for(lead).patch(f"{API}/campaigns/{campaign.pk}/", {
        "description": "After", "overlap": 5, "annotators": [second_annotator.username, outsider.username],
    }, format="json")
    assert response.status_code == 400 and "oscar_outsider" in response.json()["detail"]
    assert snapshot() == before
    page = client_for(lead).post(reverse("annotation:campaign", args=[campaign.pk]), {
        "name": campaign.name, "description": "After", "guidelines": "", "judgment_mode": "per_attribute",
        "overlap": 5, "gold_rate": 0.0, "items_per_annotator": "", "annotators": [second_annotator.pk, outsider.pk],
    })
    assert page.status_code == 200  # the form again, with the error
    assert snapshot() == before
