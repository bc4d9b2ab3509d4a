"""A lead starts an interactive evaluation from the browser, watches it finish through a real worker, then opens
the leaderboard and one transcript."""

import pytest

from evaluation.models import EvaluationRun
from synthesis.models import Backend, ModelEndpoint

from .helpers import mediq_records, write_jsonl

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_lead_starts_an_evaluation_and_reads_the_leaderboard_and_a_transcript(page, live_server, login, lead,
                                                                               start_worker, tiny_model_dir,
                                                                               tmp_path):
    ModelEndpoint.objects.create(name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu",
                                 batch_size=8)
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(2))
    start_worker()
    login(page, lead)
    page.click("header >> text=Evaluation")
    page.click("text=Launch an evaluation")
    form = "#launch-interactive"
    page.fill(f"{form} input[name=interactive-model]", "tiny")
    page.fill(f"{form} input[name=interactive-cases]", str(cases))
    page.fill(f"{form} input[name=interactive-max_questions]", "1")
    page.fill(f"{form} input[name=interactive-max_attempts]", "1")
    page.select_option(f"{form} select[name=interactive-patient]", "embedding")
    for role in ("expert", "question"):
        page.fill(f"{form} input[name=interactive-{role}_max_tokens]", "6")
    page.click(f"{form} button[type=submit]")

    page.wait_for_url("**/evaluation/runs/*/")
    page.wait_for_selector("#run-status:has-text('succeeded')", timeout=180_000)
    page.wait_for_selector("#accuracy")  # the fragment reloaded the page once the job ended
    run = EvaluationRun.objects.get()
    assert f"/{run.metrics['cases']}" in page.inner_text("#accuracy") and run.metrics["cases"] == 2

    page.click("text=Leaderboard")
    page.wait_for_selector("#leaderboard")
    assert str(tiny_model_dir) in page.inner_text("#leaderboard")
    assert page.locator("#curve-chart").is_visible()
    page.click("#leaderboard tbody a >> nth=0")
    page.wait_for_url(f"**/evaluation/runs/{run.pk}/")
    page.click("#episodes tbody a >> nth=0")
    page.wait_for_url("**/episodes/*/")
    assert page.locator("#transcript .bubble").count() >= 2 and "Expert" in page.inner_text("#transcript")
    assert page.locator("#facts li").count() == 3
