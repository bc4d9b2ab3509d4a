"""A lead imports a file from the browser, watches the job finish through a real worker, and opens a thread."""

import pytest

from corpus.models import Question

pytestmark = [pytest.mark.worker, pytest.mark.browser]


def test_lead_uploads_watches_the_import_job_and_opens_a_thread(
    page, live_server, login, lead, start_worker, shared_data
):
    start_worker()
    login(page, lead)
    page.click("header >> text=Import")
    page.set_input_files("input[type=file]", str(shared_data / "askdocs" / "test_q.jsonl"))
    page.select_option("select[name=split]", "test")
    page.click("main form button[type=submit]")

    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=120_000)
    assert int(page.inner_text("#job-done")) > 0  # the live fragment replaced the queued state with real progress
    assert Question.objects.count() == 620

    page.goto(f"{live_server.url}/corpus/?q=diarrhea")
    page.click("text=Yellow diarrhea, cramps, nausea")
    page.wait_for_url("**/corpus/threads/t_cc0j7jf-0/**")
    assert "Did you two eat at a restaurant together recently?" in page.inner_text("main")
