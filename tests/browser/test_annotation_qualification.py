"""A physician passes a qualification round with the keyboard: feedback after each item, Enter to go on, then work."""

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import screen_pick
from annotation.models import Assignment, CampaignMember, Judgment
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.browser
KEYS = {"left": "1", "right": "2"}


@pytest.fixture
def campaign(lead, annotator, transactional_db):
    campaign = do_create_campaign(name="Qualified study", created_by=lead, annotators=[annotator], overlap=1,
                                  gold_rate=0.0, guidelines="Prefer the **specific** question.",
                                  qualification_required=True, qualification_items=2, qualification_pass_mark=0.5)
    rows = [comparison_row(i) for i in range(2)]
    rows += [comparison_row(100, gold="a", qualification=True, explanation="Ask about the **trigger** first."),
             comparison_row(101, gold="a", qualification=True)]
    do_import_items(campaign, jsonl(rows))
    do_set_campaign_status(campaign, "active")
    return campaign


def shown_assignment(page, previous=None):
    if previous is None:
        page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    else:
        page.wait_for_function(f"document.getElementById('annotate').dataset.assignment !== '{previous}'")
    return Assignment.objects.select_related("item").get(pk=int(page.get_attribute("#annotate", "data-assignment")))


def expected_key(assignment, right=True):
    pick = screen_pick(assignment.item.gold_choice, assignment.left_is_a)
    return KEYS[pick] if right else KEYS["right" if pick == "left" else "left"]


def test_annotator_passes_a_qualification_round_with_feedback_then_judges(page, live_server, login, annotator,
                                                                          campaign):
    login(page, annotator)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    first = shown_assignment(page)
    assert first.item.is_qualification
    assert "Qualification round 1: item 1 of 2" in page.inner_text("#qualification-banner")

    page.keyboard.press(expected_key(first))
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback:not([hidden])")
    assert page.inner_text("#feedback-verdict") == "As expected"
    assert first.item.question_a in page.inner_text("#feedback-expected")
    assert page.inner_text("#feedback-explanation strong") == "trigger"  # the item's own guideline passage
    assert "1 of 1 as expected so far" in page.inner_text("#feedback-standing")
    page.keyboard.press("1")  # keys other than Enter do nothing while the feedback is shown
    assert page.is_visible("#feedback")

    page.keyboard.press("Enter")
    second = shown_assignment(page, first.pk)
    assert second.item.is_qualification and page.is_hidden("#feedback")
    page.keyboard.press(expected_key(second, right=False))
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback:not([hidden])")
    assert page.inner_text("#feedback-verdict") == "Not the expected answer"
    assert page.inner_text("#feedback-explanation strong") == "specific"  # no passage: the campaign's guidelines
    assert "You passed the qualification round." in page.inner_text("#feedback-standing")
    assert page.is_visible(f"#{screen_pick('a', second.left_is_a)}-card.expected")

    page.keyboard.press("Enter")
    real = shown_assignment(page, second.pk)
    assert not real.item.is_gold and page.is_hidden("#qualification-banner")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('progress-text').textContent.startsWith('1 done')")
    assert page.is_hidden("#feedback")
    assert CampaignMember.objects.get(campaign=campaign, user=annotator).qualification_status == "passed"
    assert Judgment.objects.filter(annotator=annotator, item__is_qualification=False).count() == 1
    assert Judgment.objects.filter(annotator=annotator, item__is_qualification=True).count() == 2
