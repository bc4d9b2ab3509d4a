"""GET /api/annotation/campaigns/{id}/items/: a campaign's items for its leads, by cursor; never for annotators."""

import pytest

from annotation.assignment import do_assign_next_item, do_submit_assignment

pytestmark = pytest.mark.django_db
API = "/api/annotation/campaigns"


def test_leads_page_through_every_item_with_its_counters(make_campaign, annotator, lead, api_client_for):
    campaign = make_campaign(n=7, gold=2, annotators=[annotator])
    served = do_assign_next_item(campaign, annotator)
    do_submit_assignment(served, [{"attribute": "clarity", "pick": "left"}])
    client = api_client_for(lead)
    seen, url = [], f"{API}/{campaign.pk}/items/?page_size=3"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        assert len(page.data["results"]) <= 3
        seen += page.data["results"]
        url = page.data["next"]
    assert [row["id"] for row in seen] == sorted(campaign.items.values_list("pk", flat=True))
    judged = next(row for row in seen if row["id"] == served.item_id)
    assert (judged["submitted_count"], judged["active_count"]) == (1, 1)
    assert {"question_a", "question_b", "source_a", "gold_choice"} <= set(judged)
    assert [row["id"] for row in client.get(f"{API}/{campaign.pk}/items/?judged=true").data["results"]] == [
        served.item_id]
    assert len(client.get(f"{API}/{campaign.pk}/items/?gold=true").data["results"]) == 2
    assert len(client.get(f"{API}/{campaign.pk}/items/?gold=no&judged=false").data["results"]) == 6


def test_it_refuses_a_flag_it_cannot_read(make_campaign, lead, api_client_for):
    campaign = make_campaign(n=2)
    response = api_client_for(lead).get(f"{API}/{campaign.pk}/items/?gold=maybe")
    assert response.status_code == 400 and response.data == {"gold": ["Use true or false."]}


def test_denies_annotators_and_reviewers_the_item_list(make_campaign, annotator, reviewer, api_client_for):
    campaign = make_campaign(n=2, annotators=[annotator])
    for user in (annotator, reviewer):
        assert api_client_for(user).get(f"{API}/{campaign.pk}/items/").status_code == 403
