"""A lead pauses the campaign while an annotator has an item open: Enter is refused with the reason, nothing saved."""

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import Assignment, Judgment
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(lead, annotator, transactional_db):
    campaign = do_create_campaign(name="Paused study", created_by=lead, annotators=[annotator], overlap=1,
                                  gold_rate=0.0)
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(3)]))
    do_set_campaign_status(campaign, "active")
    return campaign


def test_annotator_is_told_the_campaign_was_paused_and_nothing_is_saved(page, live_server, login, annotator,
                                                                         campaign):
    login(page, annotator)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    do_set_campaign_status(campaign, "paused")  # the lead pauses it while the item is on screen
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status.warn")
    assert "This campaign is paused" in page.inner_text("#status")
    assert page.is_hidden("#workspace")  # no item left on screen to judge
    assert not Judgment.objects.exists()
    assert Assignment.objects.get(annotator=annotator).status == "assigned"  # kept for when it resumes

    with page.expect_response(lambda response: "/undo/" in response.url) as undo:
        page.keyboard.press("u")  # undo is refused too
    assert undo.value.status == 409 and "paused" in undo.value.json()["detail"]
    do_set_campaign_status(campaign, "active")
    page.goto(f"{live_server.url}/annotation/")
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status.ok")
    assert Judgment.objects.count() == 1
