"""A post containing <script> and HTML is shown as text on the annotation and adjudication pages."""

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.browser
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'


def test_it_shows_html_in_posts_as_text(page, live_server, login, lead, annotator, transactional_db):
    campaign = do_create_campaign(name="Escaping", created_by=lead, annotators=[annotator], gold_rate=0.0)
    row = comparison_row(0, context={"title": "Title <i>x</i>", "post": HOSTILE,
                                     "turns": [{"question": HOSTILE, "patient_answer": "<em>no</em>"}]},
                         question_a=HOSTILE)
    do_import_items(campaign, jsonl([row]))
    do_set_campaign_status(campaign, "active")
    login(page, annotator)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/annotate/")
    page.wait_for_function("document.getElementById('annotate').dataset.assignment")
    context = page.inner_text("#context")
    assert "<script>window.__pwned = 1</script>" in context and "<em>no</em>" in context
    assert HOSTILE in page.inner_text("#left") + page.inner_text("#right")
    assert page.locator("#context b, #context img, #context em, .pair img").count() == 0
    assert page.evaluate("window.__pwned") is None
