"""Endpoint keys: only ALFA_LLM_KEY_* variables, only to the registered origin, outside hosts for admins only."""

import pytest
from django.urls import reverse

from synthesis.actions import do_save_endpoint
from synthesis.backends import BackendError, EndpointSettings
from synthesis.backends.openai_http import OpenAIHTTPBackend
from synthesis.models import ModelEndpoint

from . import servers
from .contract import ask

SERVER_SECRETS = ["DJANGO_SECRET_KEY", "DATABASE_URL", "ALFA_PSEUDONYM_KEY"]


def endpoint_payload(**overrides):
    return {"name": "hosted", "backend": "openai_http", "model": "m", "base_url": "http://127.0.0.1:8001/v1",
            "api_key_env": "ALFA_LLM_KEY_HOSTED", "default_sampling": {}, **overrides}


@pytest.fixture
def recording_server():
    server = servers.ScriptedServer(servers.echo())
    yield server
    server.close()


@pytest.mark.parametrize("variable", SERVER_SECRETS)
def test_denies_lead_to_name_a_server_secret_as_key_variable(api_client_for, lead, variable):
    response = api_client_for(lead).post("/api/synthesis/endpoints/", endpoint_payload(api_key_env=variable),
                                         format="json")
    assert response.status_code == 400
    assert "ALFA_LLM_KEY_" in response.json()["api_key_env"][0]
    assert not ModelEndpoint.objects.exists()


def test_denies_lead_to_name_a_server_secret_in_the_form(client_for, lead):
    response = client_for(lead).post(reverse("synthesis:endpoint-new"), {
        **endpoint_payload(api_key_env="DJANGO_SECRET_KEY", default_sampling="{}"), "device": "auto",
        "batch_size": 8, "max_concurrency": 4, "timeout_s": 60, "max_retries": 3, "backoff_base_s": 0.5,
        "requests_per_minute": 0})
    assert response.status_code == 200 and "ALFA_LLM_KEY_" in response.content.decode()
    assert not ModelEndpoint.objects.exists()


def test_allows_lead_to_register_a_loopback_endpoint(api_client_for, lead):
    response = api_client_for(lead).post("/api/synthesis/endpoints/", endpoint_payload(), format="json")
    assert response.status_code == 201, response.json()
    assert ModelEndpoint.objects.get().api_key_origin == "http://127.0.0.1:8001"


def test_denies_lead_to_point_an_endpoint_at_an_outside_host(api_client_for, lead):
    response = api_client_for(lead).post(
        "/api/synthesis/endpoints/", endpoint_payload(base_url="https://collector.example.net/v1"), format="json")
    assert response.status_code == 400 and "Only an admin" in response.json()["base_url"][0]


def test_denies_lead_to_edit_an_admins_outside_endpoint(api_client_for, lead, admin_user):
    created = api_client_for(admin_user).post(
        "/api/synthesis/endpoints/", endpoint_payload(base_url="https://api.example.org/v1"), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    edit = api_client_for(lead).patch(f"/api/synthesis/endpoints/{pk}/", {"model": "other"}, format="json")
    assert edit.status_code == 400 and "Only an admin" in edit.json()["base_url"][0]
    assert ModelEndpoint.objects.get(pk=pk).model == "m"


def test_it_never_shows_the_key_value(api_client_for, client_for, lead, monkeypatch):
    monkeypatch.setenv("ALFA_LLM_KEY_HOSTED", "sk-very-secret-value")
    api_client_for(lead).post("/api/synthesis/endpoints/", endpoint_payload(), format="json")
    pk = ModelEndpoint.objects.get().pk
    responses = [api_client_for(lead).get("/api/synthesis/endpoints/"),
                 api_client_for(lead).get(f"/api/synthesis/endpoints/{pk}/"),
                 client_for(lead).get(reverse("synthesis:endpoints")),
                 client_for(lead).get(reverse("synthesis:endpoint", args=[pk]))]
    for response in responses:
        assert response.status_code == 200
        assert "sk-very-secret-value" not in response.content.decode()


@pytest.mark.parametrize("variable", SERVER_SECRETS)
def test_worker_sends_no_unprefixed_variable_from_an_endpoint_edited_in_the_database(
        db, recording_server, monkeypatch, variable):
    monkeypatch.setenv(variable, "server-secret-value")
    endpoint = do_save_endpoint(ModelEndpoint(name="local", backend="openai_http", model="m",
                                              base_url=recording_server.base_url,
                                              api_key_env="ALFA_LLM_KEY_LOCAL"), actor=None)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(api_key_env=variable)  # bypasses every form and serializer
    endpoint.refresh_from_db()
    with pytest.raises(BackendError, match="ALFA_LLM_KEY_"):
        OpenAIHTTPBackend(EndpointSettings.from_endpoint(endpoint)).generate([ask("x")])
    assert recording_server.calls == 0


def test_worker_sends_the_key_only_to_the_origin_it_was_registered_for(db, recording_server, monkeypatch):
    monkeypatch.setenv("ALFA_LLM_KEY_LOCAL", "sk-local")
    endpoint = do_save_endpoint(ModelEndpoint(name="local", backend="openai_http", model="m",
                                              base_url="http://127.0.0.1:9/v1", api_key_env="ALFA_LLM_KEY_LOCAL"),
                                actor=None)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(base_url=recording_server.base_url)
    endpoint.refresh_from_db()
    with pytest.raises(BackendError, match=r"registered for http://127\.0\.0\.1:9"):
        OpenAIHTTPBackend(EndpointSettings.from_endpoint(endpoint))
    assert recording_server.calls == 0
    do_save_endpoint(endpoint, actor=None)  # saving again re-registers the key for the new origin
    OpenAIHTTPBackend(EndpointSettings.from_endpoint(endpoint)).generate([ask("x")])
    assert [h["Authorization"] for h in recording_server.headers] == ["Bearer sk-local"]
