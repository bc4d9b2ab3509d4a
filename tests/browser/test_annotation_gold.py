"""A physician gold-labels one MediQ-AskDocs question in the browser, blind answer first."""

import pytest

from annotation.models import GoldStatus
from tests.annotation.factories import create_case

pytestmark = pytest.mark.browser


def test_physician_gold_labels_one_mcq(page, live_server, login, reviewer, transactional_db):
    case = create_case()
    login(page, reviewer)
    page.goto(f"{live_server.url}/annotation/gold/")
    page.click(f"text={case.case_id}")
    page.wait_for_selector("#blind-form")
    assert page.locator(".badge:has-text('key')").count() == 0  # no key before the blind answer
    page.check("#blind-form input[value=B]")
    page.click("#blind-form button[type=submit]")
    page.wait_for_selector("#blind-result")
    assert "matches the key" in page.inner_text("#blind-result")

    for letter in "ABCD":
        page.check(f"#implied-form input[name=implied_{letter}][value={'yes' if letter == 'B' else 'no'}]")
    page.click("#implied-form button[type=submit]")
    page.wait_for_selector("#implied-form.done")

    page.click("#strip-bullets")
    page.click("#drop-meta")
    page.click("#facts-form button[type=submit]")
    page.wait_for_selector(".msg-success")
    page.fill("#initial-info-form textarea", "My calf has been red and warm since yesterday, with a fever.")
    page.click("#initial-info-form button[type=submit]")
    page.wait_for_selector("#sign-off-form button:not([disabled])")
    page.click("#sign-off-form button")
    page.wait_for_selector("#gold-status:has-text('Signed off')")

    case.gold.refresh_from_db()
    gold = case.gold
    assert gold.status == GoldStatus.SIGNED_OFF and gold.signed_off_by == reviewer
    assert gold.atomic_facts == ["The patient has a red, warm calf.", "The patient has a fever of 38.5 C."]
    assert gold.option_implied == {"A": False, "B": True, "C": False, "D": False}
    assert gold.initial_info.startswith("My calf has been red")
    assert [r.kind for r in gold.revisions.order_by("version")] == [
        "created", "implied", "facts", "initial_info", "sign_off"]
    assert gold.blind_answers.get().time_ms > 0
