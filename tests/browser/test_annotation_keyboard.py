"""An annotator judges three pairs with the keyboard only, undoes one, and the stored judgments match."""

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import Assignment, Choice, Judgment
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(lead, annotator, transactional_db):
    campaign = do_create_campaign(name="Keyboard study", created_by=lead, annotators=[annotator], overlap=1,
                                  gold_rate=0.0, guidelines="Prefer the **specific** question.")
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(5)]))
    do_set_campaign_status(campaign, "active")
    return campaign


def current_assignment(page, previous=None):
    """Wait until the page shows an item other than `previous`; return (assignment id, left text, right text)."""
    if previous is None:
        page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    else:
        page.wait_for_function(f"document.getElementById('annotate').dataset.assignment !== '{previous}'")
    assignment = page.get_attribute("#annotate", "data-assignment")
    return int(assignment), page.inner_text("#left"), page.inner_text("#right")


def stored_choice_text(judgment):
    item = judgment.item
    return {Choice.A: item.question_a, Choice.B: item.question_b}.get(judgment.choice, judgment.choice)


def test_annotator_judges_with_the_keyboard_and_undoes_one(page, live_server, login, annotator, campaign):
    login(page, annotator)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    assert "Left better / right better / tie" in page.inner_text(".shortcuts")
    expected = {}
    previous = None
    for key, strength_key in (("1", "q"), ("2", None), ("0", None)):
        assignment, left, right = current_assignment(page, previous)
        page.keyboard.press(key)
        if strength_key:
            page.keyboard.press(strength_key)
            page.keyboard.press("r")
            page.keyboard.type("asks about the trigger")
            page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        expected[assignment] = {"1": left, "2": right, "0": Choice.TIE}[key]
        previous = assignment
    current_assignment(page, previous)
    assert page.inner_text("#progress-text").startswith("3 done")

    page.keyboard.press("u")  # undo the third judgment: that item comes back, prefilled with the tie
    page.wait_for_function(f"document.getElementById('annotate').dataset.assignment === '{previous}'")
    assert page.get_attribute(".judgment button[data-pick=tie]", "aria-pressed") == "true"
    assert page.inner_text("#progress-text").startswith("2 done")
    assignment, left, _right = current_assignment(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expected[assignment] = left
    current_assignment(page, assignment)

    live = Judgment.objects.filter(annotator=annotator, retracted_at__isnull=True).select_related("item")
    assert {j.assignment_id: stored_choice_text(j) for j in live} == expected
    first = live.get(assignment_id=min(expected))
    assert (first.strength, first.rationale, first.side) == ("slightly", "asks about the trigger", "left")
    assert first.time_ms is not None and Assignment.objects.get(pk=first.assignment_id).duration_ms > 0
    assert Judgment.objects.filter(annotator=annotator, retracted_at__isnull=False).get().choice == Choice.TIE

    page.click("text=My judgments")  # navigate away, then back: the work is there, not lost
    page.wait_for_selector("tr.own-judgment")
    assert page.locator("tr.own-judgment").count() == 3
    page.go_back()
    assignment_after, _left, _right = current_assignment(page)
    assert assignment_after not in expected


def test_annotator_skips_with_a_reason_and_opens_the_guidelines(page, live_server, login, annotator, campaign):
    login(page, annotator)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    assignment, _left, _right = current_assignment(page)
    page.keyboard.press("g")
    page.wait_for_selector("#guidelines-dialog[open]")
    assert "specific" in page.inner_text("#guidelines-dialog strong")
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.wait_for_selector("#skip-dialog[open]")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    current_assignment(page, assignment)
    skipped = Assignment.objects.get(pk=assignment)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "identical")
