"""A lead runs synthesis and verification from the browser through a real worker, then reads pairs and charts."""

import pytest

from synthesis.models import Backend, ModelEndpoint, PreferencePair, Rewrite

from .conftest import make_question

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.usefixtures("catalogue")]


def test_lead_runs_synthesis_watches_it_verifies_and_reads_the_pairs(page, live_server, login, lead,
                                                                       start_worker, tiny_model_dir):
    ModelEndpoint.objects.create(name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu",
                                 batch_size=4, default_sampling={"max_tokens": 8}, is_default_generator=True,
                                 is_default_judge=True)
    for number in (1, 2):
        make_question(number, split="test", turns=1)
    start_worker()
    login(page, lead)
    page.goto(f"{live_server.url}/synthesis/")
    page.click("text=Run synthesis >> nth=0")
    for key in ("clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"):
        page.uncheck(f"input[name=attributes][value={key}]")
    page.check("input[name=attributes][value=overall]")
    page.select_option("select[name=split]", "test")
    page.click("#run-form button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=120_000)
    assert "items_per_s" in page.inner_text("#job-result")
    assert Rewrite.objects.count() == 2 + 2 * 2

    page.goto(f"{live_server.url}/synthesis/verify/")
    page.fill("input[name=max_attempts]", "1")
    page.click("#run-form button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=120_000)

    page.goto(f"{live_server.url}/synthesis/pairs/")
    assert page.locator("#acceptance-table").is_visible() and page.locator("#pair-table tbody tr").count() == 6
    page.click("#pair-table a >> nth=0")
    page.click("text=Provenance >> nth=0")
    assert "Prompt hash" in page.inner_text("main")
    assert PreferencePair.objects.filter(verification__isnull=False).count() == 6
