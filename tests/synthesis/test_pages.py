"""The synthesis pages: leads only; run, verify, browse variants and pairs, override, edit the catalogue."""

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from synthesis.models import Attribute, ModelEndpoint, PreferencePair, PromptTemplate, Verdict

from .helpers import make_triple

pytestmark = pytest.mark.django_db

PAGES = ["synthesis:index", "synthesis:run", "synthesis:verify", "synthesis:build-pairs", "synthesis:variants",
         "synthesis:pairs", "synthesis:endpoints", "synthesis:endpoint-new"]


@pytest.fixture
def pairs(questions):
    make_triple(questions[0], "clarity", ranks={"enhanced": 1, "original": 2, "corrupted": 3})
    make_triple(questions[1], "clarity", ranks={"enhanced": 2, "original": 1, "corrupted": 3})
    make_triple(questions[2], "focus")
    return PreferencePair.objects.all()


@pytest.mark.parametrize("name", PAGES)
def test_allows_lead_to_open_synthesis_pages(client_for, lead, pairs, name):
    assert client_for(lead).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_denies_annotator_to_open_synthesis_pages(client_for, annotator, name):
    assert client_for(annotator).get(reverse(name)).status_code == 403


def test_denies_reviewer_to_see_a_pair(client_for, reviewer, pairs):
    assert client_for(reviewer).get(reverse("synthesis:pair", args=[pairs.first().pk])).status_code == 403


def test_denies_anonymous_visitors_and_sends_them_to_log_in(client):
    response = client.get(reverse("synthesis:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_shows_acceptance_rates_as_a_table_and_a_local_chart(client_for, lead, pairs):
    html = client_for(lead).get(reverse("synthesis:index")).content.decode()
    assert 'id="acceptance-table"' in html and 'id="acceptance-chart"' in html
    assert "/static/alfa_platform/vendor/chart-4.6.1.umd.min.js" in html and "cdn" not in html.lower()
    # clarity, enhanced > corrupted: both judged and accepted; enhanced > original: one of two accepted
    assert "100.0%" in html and "50.0%" in html


def test_it_shows_variants_beside_the_original_with_an_escaped_diff(client_for, lead, pairs):
    html = client_for(lead).get(reverse("synthesis:variants") + "?attribute=clarity").content.decode()
    assert "<ins>" in html and "<del>" in html
    assert "&lt;b&gt;maybe&lt;/b&gt;" in html and "<b>maybe</b>" not in html
    assert "Normalized original" in html and "t3-c1-q0" not in html  # focus filtered out


def test_it_filters_variants_by_verdict_and_model(client_for, lead, pairs):
    client = client_for(lead)
    rejected = client.get(reverse("synthesis:variants") + "?verdict=rejected").content.decode()
    assert "t2-c0-q0" in rejected and "t1-c1-q0" not in rejected
    assert "t1-c1-q0" not in client.get(reverse("synthesis:variants") + "?model=other").content.decode()


def test_it_filters_pairs_by_attribute_verdict_and_type(client_for, lead, pairs):
    client = client_for(lead)
    html = client.get(reverse("synthesis:pairs") + "?attribute=clarity&verdict=rejected").content.decode()
    assert "t2-c0-q0_clarity_enhanced_original" in html and "t1-c1-q0" not in html
    html = client.get(reverse("synthesis:pairs") + "?pair_type=original_corrupted&attribute=focus").content.decode()
    assert "t3-c1-q0_focus_original_corrupted" in html and "enhanced" not in html.split('id="pair-table"')[1]


def test_allows_lead_to_override_a_verdict_with_a_reason(client_for, lead, pairs):
    pair = pairs.get(pair_id="t2-c0-q0_clarity_enhanced_original")
    client = client_for(lead)
    response = client.post(reverse("synthesis:pair", args=[pair.pk]), {"verdict": "accepted", "reason": ""})
    assert response.status_code == 200 and "Say why" in response.content.decode()
    client.post(reverse("synthesis:pair", args=[pair.pk]), {"verdict": "accepted", "reason": "The judge missed it."})
    pair.refresh_from_db()
    assert (pair.verdict, pair.judge_verdict, pair.overridden_by, pair.override_reason) == (
        Verdict.ACCEPTED, Verdict.REJECTED, lead, "The judge missed it.")
    html = client.get(reverse("synthesis:pair", args=[pair.pk])).content.decode()
    assert "Overridden to accepted by lena_lead" in html and "Provenance" in html


def test_it_keeps_an_override_when_pairs_are_rebuilt(lead, pairs):
    from synthesis.actions import do_build_pairs, do_override_verdict
    from synthesis.configs import PairConfig

    pair = pairs.get(pair_id="t2-c0-q0_clarity_enhanced_original")
    do_override_verdict(pair, Verdict.ACCEPTED, lead, "checked by hand")
    do_build_pairs(PairConfig())
    pair.refresh_from_db()
    assert pair.verdict == Verdict.ACCEPTED and pair.judge_verdict == Verdict.REJECTED


def test_allows_lead_to_run_synthesis_from_the_browser_form(client_for, lead, tiny_endpoint, questions,
                                                           django_capture_on_commit_callbacks):
    client = client_for(lead)
    form = client.get(reverse("synthesis:run")).content.decode()
    assert 'value="tiny" selected' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("synthesis:run"), {
            "endpoint": "tiny", "attributes": ["clarity"], "directions": ["enhance_hindsight", "corrupt"],
            "split": "train", "max_tokens": 8, "seed": 1, "limit": 2})
    job = lead.job_set.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.params["config"]["sampling"] == {"max_tokens": 8, "seed": 1}
    summary = client.get(reverse("synthesis:job", args=[job.pk])).content.decode()
    assert "Items per second" in summary and str(job.result["items_per_s"]) in summary
    assert "Tokens per second" in summary


def test_it_shows_a_form_error_instead_of_queueing_an_empty_selection(client_for, lead, tiny_endpoint, questions):
    response = client_for(lead).post(reverse("synthesis:run"), {
        "endpoint": "tiny", "attributes": ["clarity"], "directions": ["corrupt"], "split": "test"})
    assert response.status_code == 200 and "no questions" in response.content.decode()


def test_allows_lead_to_queue_verification_from_the_form(client_for, lead, tiny_endpoint, pairs,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(reverse("synthesis:verify"), {
            "endpoint": "tiny", "attributes": ["focus"], "enhanced_direction": "enhance_hindsight",
            "max_attempts": 1})
    assert response.status_code == 302
    assert lead.job_set.get().items.count() == 1


def test_allows_lead_to_edit_an_attribute(client_for, lead):
    client = client_for(lead)
    response = client.post(reverse("synthesis:attribute", args=["focus"]), {
        "name": "Focus", "group": "general", "definition": "New words.", "guidance": "", "is_active": "on",
        "scale_text": "a\nb\nc\nd\ne"})
    assert response.status_code == 302
    focus = Attribute.objects.get(key="focus")
    assert focus.definition == "New words." and focus.scale == list("abcde") and focus.updated_by == lead
    bad = client.post(reverse("synthesis:attribute", args=["focus"]), {
        "name": "Focus", "group": "general", "definition": "x", "scale_text": "a\nb"})
    assert bad.status_code == 200 and "exactly 5" in bad.content.decode()


def test_allows_lead_to_supersede_a_template_that_produced_data(client_for, lead, pairs):
    template = PromptTemplate.objects.get(kind="corrupt", attribute__key="clarity", status="active")
    client = client_for(lead)
    page = client.get(template.get_absolute_url()).content.decode()
    assert "frozen" in page
    response = client.post(template.get_absolute_url(), {
        "system_text": template.system_text, "user_text": template.user_text + "\nKeep it short.",
        "placeholders": ", ".join(template.placeholders), "notes": "shorter"})
    new = PromptTemplate.objects.get(kind="corrupt", attribute__key="clarity", status="active")
    assert new.version == template.version + 1 and response["Location"] == new.get_absolute_url()
    bad = client.post(new.get_absolute_url(), {"user_text": "{question} {oops}", "placeholders": "question"})
    assert bad.status_code == 200 and "not declared" in bad.content.decode()


def test_allows_lead_to_add_an_http_endpoint_naming_its_key_variable(client_for, lead):
    response = client_for(lead).post(reverse("synthesis:endpoint-new"), {
        "name": "vllm", "backend": "openai_http", "model": "meta-llama/Llama-3.1-8B-Instruct",
        "base_url": "http://vllm:8000/v1", "api_key_env": "ALFA_LLM_KEY_VLLM", "default_sampling": "{}",
        "device": "auto", "batch_size": 8, "max_concurrency": 32, "timeout_s": 60, "max_retries": 3,
        "backoff_base_s": 0.5, "requests_per_minute": 0, "supports_prefill": "on", "is_active": "on"})
    assert response.status_code == 302
    assert ModelEndpoint.objects.get(name="vllm").api_key_env == "ALFA_LLM_KEY_VLLM"
    bad = client_for(lead).post(reverse("synthesis:endpoint-new"), {
        "name": "bad", "backend": "openai_http", "model": "m", "base_url": "http://x/v1",
        "api_key_env": "sk-live-123", "default_sampling": "{}", "device": "auto", "batch_size": 8,
        "max_concurrency": 4, "timeout_s": 60, "max_retries": 3, "backoff_base_s": 0.5,
        "requests_per_minute": 0})
    assert bad.status_code == 200 and not ModelEndpoint.objects.filter(name="bad").exists()
