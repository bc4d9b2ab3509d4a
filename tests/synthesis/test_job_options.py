"""The synthesis job options: one declaration, so the form, the API and the commands accept and refuse alike."""

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from jobs.models import Job
from synthesis.models import PreferencePair

from .helpers import make_triple

pytestmark = pytest.mark.django_db

TOO_MANY = "sampling.max_tokens must be at most 32768."


def test_it_refuses_too_many_new_tokens_with_the_same_message_from_the_form_the_api_and_the_command(
        client_for, api_client_for, lead, tiny_endpoint, questions):
    form = client_for(lead).post(reverse("synthesis:run"), {
        "endpoint": "tiny", "attributes": ["focus"], "directions": ["corrupt"], "max_tokens": 40000})
    assert form.status_code == 200 and form.context["form"].errors["max_tokens"] == [TOO_MANY]
    api = api_client_for(lead).post("/api/synthesis/jobs/synthesize/", {
        "endpoint": "tiny", "attributes": ["focus"], "sampling": {"max_tokens": 40000}}, format="json")
    assert api.status_code == 400 and api.json() == {"sampling": {"max_tokens": [TOO_MANY]}}
    with pytest.raises(CommandError, match=f"^{re.escape(TOO_MANY)}$"):
        call_command("synthesize", "--attributes", "focus", "--max-tokens", "40000")
    assert not Job.objects.exists()


def test_it_accepts_from_the_form_what_the_api_accepts(client_for, lead, tiny_endpoint, questions):
    """The form used to cap max_tokens at 4096 while the API and the worker allowed 32768."""
    form = client_for(lead).get(reverse("synthesis:run")).context["form"]
    bound = type(form)({"endpoint": "tiny", "attributes": ["focus"], "directions": ["corrupt"], "max_tokens": 5000})
    assert bound.is_valid(), bound.errors
    assert bound.config().sampling == {"max_tokens": 5000}


def test_it_refuses_an_unknown_option_with_the_same_message_from_the_api_and_a_config_file(
        api_client_for, lead, tiny_endpoint, questions, tmp_path):
    message = "Unknown SynthesisConfig option(s): temprature."
    api = api_client_for(lead).post("/api/synthesis/jobs/synthesize/", {"endpoint": "tiny", "temprature": 0.5},
                                    format="json")
    assert api.status_code == 400 and api.json() == {"non_field_errors": [message]}
    path = tmp_path / "synthesis.json"
    path.write_text(json.dumps({"endpoint": "tiny", "temprature": 0.5}))
    with pytest.raises(CommandError, match=f"^{re.escape(message)}$"):
        call_command("synthesize", "--config-file", str(path))


def test_it_runs_a_job_again_from_its_stored_options(tiny_endpoint, questions, tmp_path,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("synthesize", "--attributes", "focus", "--qids", "t1-c1-q0", "--max-tokens", "6",
                     "--no-build-pairs", "--inline")
    first = Job.objects.get()
    assert first.params["config"]["build_pairs"] is False and not PreferencePair.objects.exists()
    path = tmp_path / "again.json"
    path.write_text(json.dumps(first.params["config"]))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("synthesize", "--config-file", str(path), "--seed", "7", "--inline")
    second = Job.objects.exclude(pk=first.pk).get()
    assert second.params["config"] == {**first.params["config"], "sampling": {"max_tokens": 6, "seed": 7}}


def test_the_verification_form_starts_from_the_judges_greedy_sampling(client_for, lead, tiny_endpoint):
    html = client_for(lead).get(reverse("synthesis:verify")).content.decode()
    assert 'name="judge_temperature" value="0.0"' in html and 'name="judge_max_tokens" value="64"' in html
    assert "Default: the endpoint&#x27;s default_sampling." in html  # judge_top_p, judge_seed


def test_allows_lead_to_build_pairs_from_the_form(client_for, lead, questions, django_capture_on_commit_callbacks):
    make_triple(questions[0], "focus")
    PreferencePair.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(reverse("synthesis:build-pairs"), {
            "attributes": ["focus"], "enhanced_direction": "enhance_hindsight"})
    job = lead.job_set.get(kind="build_pairs")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.result == {"created": 3, "updated": 0} and PreferencePair.objects.count() == 3


def test_denies_annotator_to_build_pairs_from_the_form(client_for, annotator):
    assert client_for(annotator).post(reverse("synthesis:build-pairs"), {}).status_code == 403
