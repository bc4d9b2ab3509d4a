"""Who may do what: every annotation page and endpoint, for annotators, reviewers, leads, outsiders and visitors."""

import pytest
from django.urls import reverse

from annotation import gold
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Judgment

pytestmark = pytest.mark.django_db
API = "/api/annotation"


@pytest.fixture
def world(make_campaign, annotator, second_annotator, make_case, lead, reviewer):
    """Two campaigns (the annotator is in `mine` only), a judgment by each annotator, a case and a release."""
    mine = make_campaign(n=3, annotators=[annotator, second_annotator], name="Mine", guidelines="Be kind.")
    other = make_campaign(n=2, annotators=[second_annotator], name="Other")
    own = do_assign_next_item(mine, annotator)
    do_submit_assignment(own, [{"attribute": "clarity", "pick": "left", "rationale": "my own reason"}])
    theirs = do_assign_next_item(mine, second_annotator)
    do_submit_assignment(theirs, [{"attribute": "clarity", "pick": "right", "rationale": "SECRET-OF-BEN"}])
    open_theirs = do_assign_next_item(mine, second_annotator)
    case = make_case()
    label = gold.get_or_create_gold(case, reviewer)
    gold.do_record_blind_answer(label, reviewer, "B")
    label, _ = gold.do_mark_implied(label, reviewer, {"A": False, "B": True, "C": False, "D": False})
    label, _ = gold.do_curate_facts(label, reviewer, ["The calf is red."])
    label, _ = gold.do_set_initial_info(label, reviewer, "Red calf.")
    gold.do_sign_off(label, reviewer)
    release = gold.do_create_release("v1", lead)
    return {"mine": mine, "other": other, "theirs": open_theirs, "case": case, "release": release,
            "item": mine.items.first()}


def call(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def api_requests(w):
    """(method, url, body, minimum role) for every annotation endpoint."""
    mine, other, case, release = w["mine"].pk, w["other"].pk, w["case"].pk, w["release"].pk
    return [
        ("post", f"{API}/campaigns/", {"name": "New"}, "lead"),
        ("patch", f"{API}/campaigns/{mine}/", {"description": "x"}, "lead"),
        ("post", f"{API}/campaigns/{mine}/import/", {}, "lead"),
        ("post", f"{API}/campaigns/{mine}/status/", {"status": "paused"}, "lead"),
        ("post", f"{API}/campaigns/{mine}/add-pairs/", {}, "lead"),
        ("get", f"{API}/campaigns/{mine}/quality/", None, "lead"),
        ("get", f"{API}/campaigns/{mine}/disagreements/", None, "reviewer"),
        ("get", f"{API}/adjudications/", None, "reviewer"),
        ("post", f"{API}/adjudications/", {"item": w["item"].pk, "attribute": "clarity", "choice": "a",
                                           "note": "n"}, "reviewer"),
        ("get", f"{API}/gold/", None, "reviewer"),
        ("get", f"{API}/gold/{case}/", None, "reviewer"),
        ("post", f"{API}/gold/{case}/blind-answer/", {"letter": "A"}, "reviewer"),
        ("post", f"{API}/gold/{case}/edit/", {"stem": "x"}, "reviewer"),
        ("post", f"{API}/gold/{case}/implied/", {"marks": {}}, "reviewer"),
        ("post", f"{API}/gold/{case}/facts/", {"atomic_facts": ["x"]}, "reviewer"),
        ("post", f"{API}/gold/{case}/initial-info/", {"initial_info": "x"}, "reviewer"),
        ("post", f"{API}/gold/{case}/sign-off/", {}, "reviewer"),
        ("post", f"{API}/gold/{case}/reopen/", {}, "reviewer"),
        ("get", f"{API}/gold/{case}/revisions/", None, "reviewer"),
        ("get", f"{API}/gold/balance/", None, "lead"),
        ("post", f"{API}/gold/rebalance/", {}, "lead"),
        ("get", f"{API}/releases/", None, "lead"),
        ("post", f"{API}/releases/", {"name": "v2"}, "lead"),
        ("get", f"{API}/releases/{release}/", None, "lead"),
        ("get", f"{API}/releases/{release}/export/", None, "lead"),
        ("get", f"{API}/campaigns/{other}/", None, "member"),
        ("post", f"{API}/campaigns/{other}/next/", None, "member"),
        ("post", f"{API}/campaigns/{other}/undo/", None, "member"),
        ("get", f"{API}/campaigns/{other}/progress/", None, "member"),
        ("post", f"{API}/assignments/{w['theirs'].pk}/submit/", {"judgments": []}, "owner"),
        ("post", f"{API}/assignments/{w['theirs'].pk}/skip/", {"reason": "other"}, "owner"),
    ]


def test_denies_annotator_every_endpoint_above_their_role(world, annotator, api_client_for):
    client = api_client_for(annotator)
    for method, url, body, _role in api_requests(world):
        response = call(client, method, url, body)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    assert not world["release"].items.filter(case_id="x").exists()
    assert Judgment.objects.filter(annotator__username="ben_annotator").count() == 1  # nothing was submitted for ben


def test_denies_outsider_and_visitor_every_endpoint(world, outsider, api_client_for, annotator):
    everything = [*api_requests(world), ("get", f"{API}/campaigns/", None, ""), ("get", f"{API}/judgments/", None, ""),
                  ("post", f"{API}/campaigns/{world['mine'].pk}/next/", None, "")]
    for user, allowed in ((outsider, (403, 404)), (None, (401, 403))):
        client = api_client_for(user)
        for method, url, body, _role in everything:
            response = call(client, method, url, body)
            assert response.status_code in allowed, (user, method, url, response.status_code)


def test_denies_reviewer_the_lead_endpoints(world, reviewer, api_client_for):
    client = api_client_for(reviewer)
    for method, url, body, role in api_requests(world):
        if role != "lead":
            continue
        response = call(client, method, url, body)
        assert response.status_code == 403, (method, url, response.status_code)


def test_allows_lead_the_lead_endpoints(world, lead, api_client_for):
    client = api_client_for(lead)
    assert client.get(f"{API}/campaigns/{world['mine'].pk}/quality/").status_code == 200
    assert client.get(f"{API}/releases/{world['release'].pk}/export/").status_code == 200
    assert client.get(f"{API}/gold/balance/").status_code == 200
    assert {row["name"] for row in client.get(f"{API}/campaigns/").json()["results"]} == {"Mine", "Other"}


def test_allows_annotator_only_their_own_campaigns_and_judgments(world, annotator, api_client_for):
    client = api_client_for(annotator)
    campaigns = client.get(f"{API}/campaigns/").json()["results"]
    assert [row["name"] for row in campaigns] == ["Mine"]
    assert "guidelines" not in campaigns[0] and "overlap" not in campaigns[0]
    judgments = client.get(f"{API}/judgments/").json()
    assert judgments["count"] == 1 and judgments["results"][0]["rationale"] == "my own reason"
    filtered = client.get(f"{API}/judgments/?annotator=ben_annotator&campaign={world['mine'].pk}").json()
    assert [row["rationale"] for row in filtered["results"]] == ["my own reason"]  # the filter cannot widen it


def test_allows_reviewer_to_read_everyones_judgments(world, reviewer, api_client_for):
    rows = api_client_for(reviewer).get(f"{API}/judgments/?annotator=ben_annotator").json()["results"]
    assert [row["rationale"] for row in rows] == ["SECRET-OF-BEN"]


def pages(w):
    """(url, minimum role) for every annotation page."""
    return [
        (reverse("annotation:campaign-create"), "lead"),
        (reverse("annotation:campaign", args=[w["mine"].pk]), "lead"),
        (reverse("annotation:dashboard", args=[w["mine"].pk]), "lead"),
        (reverse("annotation:balance"), "lead"),
        (reverse("annotation:releases"), "lead"),
        (reverse("annotation:release", args=[w["release"].pk]), "lead"),
        (reverse("annotation:release-export", args=[w["release"].pk]), "lead"),
        (reverse("annotation:adjudication"), "reviewer"),
        (reverse("annotation:adjudicate", args=[w["item"].pk]), "reviewer"),
        (reverse("annotation:gold-list"), "reviewer"),
        (reverse("annotation:gold-label", args=[w["case"].pk]), "reviewer"),
        (reverse("annotation:annotate", args=[w["other"].pk]), "member"),
        (reverse("annotation:guidelines", args=[w["other"].pk]), "member"),
    ]


def test_denies_annotator_every_page_above_their_role(world, annotator, client_for):
    client = client_for(annotator)
    for url, _role in pages(world):
        assert client.get(url).status_code in (403, 404), url
    for url in (reverse("annotation:campaign-import", args=[world["mine"].pk]),
                reverse("annotation:campaign-status", args=[world["mine"].pk]),
                reverse("annotation:campaign-add-pairs", args=[world["mine"].pk])):
        assert client.post(url, {"status": "closed"}).status_code == 403
    world["mine"].refresh_from_db()
    assert world["mine"].status == "active"


def test_denies_annotator_the_admin(world, annotator, client_for):
    response = client_for(annotator).get("/admin/annotation/judgment/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_denies_visitor_and_outsider_the_pages(world, outsider, client, client_for):
    for url, _role in [*pages(world), (reverse("annotation:index"), ""), (reverse("annotation:my-judgments"), "")]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    outsider_client = client_for(outsider)
    for url, _role in [*pages(world), (reverse("annotation:index"), "")]:
        assert outsider_client.get(url).status_code in (403, 404), url


def test_allows_annotator_their_own_pages_without_others_work(world, annotator, client_for):
    client = client_for(annotator)
    home = client.get(reverse("annotation:index")).content.decode()
    assert "Mine" in home and "Other" not in home and "Dashboard" not in home
    mine = client.get(reverse("annotation:my-judgments")).content.decode()
    assert "my own reason" in mine and "SECRET-OF-BEN" not in mine
    assert client.get(reverse("annotation:annotate", args=[world["mine"].pk])).status_code == 200
    assert "Be kind." in client.get(reverse("annotation:guidelines", args=[world["mine"].pk])).content.decode()


def test_allows_reviewer_to_adjudicate_and_lead_to_see_the_dashboard(world, reviewer, lead, client_for):
    assert client_for(reviewer).get(reverse("annotation:adjudicate", args=[world["item"].pk])).status_code == 200
    page = client_for(lead).get(reverse("annotation:dashboard", args=[world["mine"].pk]))
    assert page.status_code == 200 and b"Krippendorff" in page.content
