"""Serving a registered model from its page: a job on a real worker serves it as an HTTP endpoint until cancelled."""

import json
import time
import urllib.request

import pytest
from django.urls import reverse

from jobs.actions import do_cancel_job
from jobs.models import Job, JobStatus
from synthesis.models import Backend, ModelEndpoint
from synthesis.tiny_model import build_tiny_model
from training.actions import SERVE_JOB, TrainingError, do_register_trained_model, do_serve_model
from training.models import ModelKind


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def chat(base_url, text):
    body = json.dumps({"model": "tiny-served", "messages": [{"role": "user", "content": text}],
                       "max_tokens": 4, "temperature": 0}).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def tiny_policy(var_dir):
    folder = var_dir / "models" / "trained" / "tiny-served"
    build_tiny_model(folder, seed=0)
    return do_register_trained_model("tiny-served", folder, base_model="synthesis.tiny_model")


@pytest.mark.worker
def test_the_model_page_serves_it_as_an_endpoint_until_the_job_is_cancelled(
        start_worker, tiny_policy, client_for, lead, settings):
    worker = start_worker(ALFA_VAR_DIR=settings.VAR_DIR, ALFA_MODELS_DIR=settings.MODELS_DIR)
    page = client_for(lead)
    response = page.post(reverse("training:model-serve", args=[tiny_policy.name]), {"port": ""})
    assert response.status_code == 302
    job = Job.objects.get(kind=SERVE_JOB)

    endpoint = wait_for(lambda: ModelEndpoint.objects.filter(name="tiny-served-http", is_active=True).first(), 120,
                        f"the served endpoint\n{worker.output()}")
    assert endpoint.backend == Backend.OPENAI_HTTP and endpoint.base_url.startswith("http://127.0.0.1:")
    status, reply = chat(endpoint.base_url, "Where does it hurt?")
    assert status == 200 and isinstance(reply["choices"][0]["message"]["content"], str)
    shown = page.get(tiny_policy.get_absolute_url()).content.decode()
    assert endpoint.base_url in shown and f"job {job.pk}" in shown

    do_cancel_job(Job.objects.get(pk=job.pk))
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 60, f"the serving job to stop\n{worker.output()}")
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    assert not ModelEndpoint.objects.get(pk=endpoint.pk).is_active
    with pytest.raises(OSError):
        chat(endpoint.base_url, "Still there?")
    assert "Serve it" in page.get(tiny_policy.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_model_is_served_once_and_a_reward_model_not_at_all(tiny_policy):
    job = do_serve_model(tiny_policy)
    assert job.queue == "default" and job.params == {"model_id": tiny_policy.pk, "port": 0}
    with pytest.raises(TrainingError, match=f"already being served by job {job.pk}"):
        do_serve_model(tiny_policy)
    tiny_policy.kind = ModelKind.REWARD
    with pytest.raises(TrainingError, match="reward model"):
        do_serve_model(tiny_policy)


@pytest.mark.django_db
def test_a_bad_port_is_refused_on_the_page(tiny_policy, client_for, lead):
    response = client_for(lead).post(reverse("training:model-serve", args=[tiny_policy.name]), {"port": "70000"},
                                     follow=True)
    assert "less than or equal to 65535" in response.content.decode()
    assert not Job.objects.filter(kind=SERVE_JOB).exists()


@pytest.mark.django_db
def test_annotators_cannot_serve_models(tiny_policy, client_for, annotator):
    response = client_for(annotator).post(reverse("training:model-serve", args=[tiny_policy.name]))
    assert response.status_code in (403, 404)
    assert not Job.objects.filter(kind=SERVE_JOB).exists()


@pytest.mark.django_db
def test_the_api_serves_a_model_and_refuses_a_second_server(tiny_policy, api_client_for, lead):
    api = api_client_for(lead)
    response = api.post(f"/api/training/models/{tiny_policy.name}/serve/", {"port": 8123}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == SERVE_JOB
    again = api.post(f"/api/training/models/{tiny_policy.name}/serve/", {}, format="json")
    assert again.status_code == 400 and "already being served" in again.json()["non_field_errors"][0]
