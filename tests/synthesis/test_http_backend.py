"""The OpenAI-compatible HTTP backend against serve_model on loopback, and against misbehaving servers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from synthesis.backends import BackendError, EndpointSettings
from synthesis.backends.openai_http import OpenAIHTTPBackend
from synthesis.backends.transformers_backend import TransformersBackend
from synthesis.secrets import url_origin
from synthesis.serving import start_server, stop_server

from . import servers
from .contract import BackendContract, ask


def http_settings(base_url, **overrides):
    return EndpointSettings(**{"backend": "openai_http", "model": "tiny", "base_url": base_url, "timeout_s": 10,
                               "max_retries": 3, "backoff_base_s": 0.01, "max_concurrency": 8, **overrides})


@pytest.fixture(scope="module")
def model_server(tiny_model_dir):
    local = TransformersBackend(EndpointSettings(backend="transformers", model=str(tiny_model_dir), device="cpu",
                                                 batch_size=16))
    server = start_server(local, max_batch=16, max_wait_s=0.05, model_name="tiny")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def backend(model_server):
    client = OpenAIHTTPBackend(http_settings(model_server.base_url))
    yield client
    client.close()


@pytest.fixture
def scripted():
    started = []

    def start(behave):
        started.append(servers.ScriptedServer(behave))
        return started[-1]

    yield start
    for server in started:
        server.close()


class TestHTTPBackendAgainstServeModel(BackendContract):
    def test_it_batches_concurrent_requests_on_the_server(self, backend, model_server):
        before = len(model_server.generator.batches)
        results = backend.generate([ask(f"question {n}") for n in range(8)])
        assert all(r.ok for r in results)
        assert max(model_server.generator.batches[before:]) > 1

    def test_it_accounts_tokens_from_the_usage_block(self, backend):
        before = dict(backend.usage)
        (result,) = backend.generate([ask("count me")])
        assert backend.usage["requests"] == before["requests"] + 1
        assert backend.usage["tokens_out"] - before["tokens_out"] == result.tokens_out > 0

    def test_it_answers_a_bad_request_with_400_and_no_retry(self, model_server):
        response = httpx.post(model_server.base_url + "/chat/completions", json={"messages": "nope"})
        assert response.status_code == 400 and "messages" in response.json()["error"]["message"]


def test_it_retries_server_errors_then_succeeds(scripted):
    server = scripted(servers.fail_first(2))
    (result,) = OpenAIHTTPBackend(http_settings(server.base_url)).generate([ask("x")])
    assert result.ok and result.attempts == 3 and server.calls == 3


def test_it_records_a_failure_after_the_last_retry(scripted):
    server = scripted(servers.always(500))
    (result,) = OpenAIHTTPBackend(http_settings(server.base_url, max_retries=2)).generate([ask("x")])
    assert not result.ok and "Gave up after 3 attempts" in result.error and "HTTP 500" in result.error
    assert server.calls == 3


def test_it_times_out_and_retries(scripted):
    server = scripted(servers.sleep_for(1.5))
    started = time.monotonic()
    (result,) = OpenAIHTTPBackend(http_settings(server.base_url, timeout_s=0.3, max_retries=1)).generate([ask("x")])
    assert not result.ok and "Timed out" in result.error and server.calls == 2
    assert time.monotonic() - started < 1.5


def test_it_retries_a_malformed_body(scripted):
    server = scripted(servers.malformed())
    (result,) = OpenAIHTTPBackend(http_settings(server.base_url, max_retries=1)).generate([ask("x")])
    assert not result.ok and "Malformed reply" in result.error and server.calls == 2


def test_it_does_not_retry_a_client_error(scripted):
    server = scripted(servers.always(400))
    (result,) = OpenAIHTTPBackend(http_settings(server.base_url)).generate([ask("x")])
    assert not result.ok and "HTTP 400" in result.error and server.calls == 1


def test_it_keeps_other_requests_when_one_fails(scripted):
    def behave(handler, call, body):
        if "poison" in body["messages"][-1]["content"]:
            handler.reply(400, {"error": "bad"})
        else:
            handler.reply(200, servers.ok_body("fine?"))

    server = scripted(behave)
    results = OpenAIHTTPBackend(http_settings(server.base_url)).generate([ask("a"), ask("poison"), ask("b")])
    assert [r.ok for r in results] == [True, False, True]


def test_it_sends_the_key_from_the_named_environment_variable(scripted, monkeypatch):
    server = scripted(servers.echo())
    monkeypatch.setenv("ALFA_LLM_KEY_TEST", "sk-test-not-real")
    OpenAIHTTPBackend(http_settings(server.base_url, api_key_env="ALFA_LLM_KEY_TEST",
                                    api_key_origin=url_origin(server.base_url))).generate([ask("x")])
    assert server.headers[0]["Authorization"] == "Bearer sk-test-not-real"


def test_it_refuses_to_start_when_the_key_variable_is_missing(monkeypatch):
    monkeypatch.delenv("ALFA_LLM_KEY_TEST", raising=False)
    with pytest.raises(BackendError, match="ALFA_LLM_KEY_TEST"):
        OpenAIHTTPBackend(http_settings("http://127.0.0.1:9/v1", api_key_env="ALFA_LLM_KEY_TEST",
                                        api_key_origin="http://127.0.0.1:9"))


def test_it_rate_limits_requests(scripted):
    server = scripted(servers.echo())
    started = time.monotonic()
    OpenAIHTTPBackend(http_settings(server.base_url, requests_per_minute=600)).generate([ask(str(n)) for n in range(4)])
    assert time.monotonic() - started >= 0.3 and server.calls == 4


def test_it_sends_a_prefill_as_a_continued_assistant_message(scripted):
    server = scripted(servers.echo())
    OpenAIHTTPBackend(http_settings(server.base_url)).generate([ask("rank", prefill='{"ranks": ')])
    body = server.bodies[0]
    assert body["messages"][-1] == {"role": "assistant", "content": '{"ranks": '}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


def test_it_runs_many_requests_concurrently(scripted):
    server = scripted(servers.sleep_for(0.2))
    started = time.monotonic()
    results = OpenAIHTTPBackend(http_settings(server.base_url, max_concurrency=8)).generate(
        [ask(str(n)) for n in range(8)])
    assert all(r.ok for r in results) and time.monotonic() - started < 1.0  # sequential would take 1.6 s


def test_it_serves_a_model_folder_from_the_command_line(tiny_model_dir, tmp_path):
    """`manage.py serve_model PATH --port N` answers chat completions on loopback."""
    port = 18000 + os.getpid() % 1000
    log = tmp_path / "serve.log"
    root = Path(__file__).resolve().parents[2]
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "manage.py", "serve_model", str(tiny_model_dir), "--port",
                                    str(port), "--device", "cpu", "--name", "tiny"], cwd=root, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while b"Serving" not in log.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        (result,) = OpenAIHTTPBackend(http_settings(f"http://127.0.0.1:{port}/v1")).generate([ask("hello")])
        assert result.ok and result.tokens_out > 0
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        assert models["data"][0]["id"] == "tiny"
    finally:
        process.terminate()
        process.wait(timeout=20)
