"""docker-compose.yml describes the production services, and every command they run exists in the project."""

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_words(service):
    command = service["command"]
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].replace("&&", " ; "))
    return words


def test_it_declares_the_production_services(compose):
    assert set(compose["services"]) >= {"postgres", "redis", "web", "worker", "beat", "gpu-worker", "vllm"}
    for name in ("postgres-data", "redis-data", "alfa-var", "hf-cache"):
        assert name in compose["volumes"]


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        assert service["healthcheck"]["test"], name


def test_app_services_read_secrets_from_an_env_file(compose):
    for name in ("web", "worker", "beat", "gpu-worker"):
        assert compose["services"][name]["env_file"] == ".env"
    assert "SECRET" not in yaml.safe_dump(compose).replace("POSTGRES_PASSWORD", "")
    assert (ROOT / ".env.example").exists()


def test_workers_consume_their_queues(compose):
    worker, gpu = command_words(compose["services"]["worker"]), command_words(compose["services"]["gpu-worker"])
    assert worker[worker.index("-Q") + 1] == "default"
    assert gpu[gpu.index("-Q") + 1] == "gpu"
    assert compose["services"]["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_the_commands_services_run_exist(compose):
    management_commands = set(get_commands())
    for name, service in compose["services"].items():
        if "command" not in service or name in {"postgres", "redis", "vllm"}:
            continue
        words = command_words(service)
        if "manage.py" in words:
            assert words[words.index("manage.py") + 1] in management_commands, name
        if "gunicorn" in words:
            module, _, attr = words[words.index("gunicorn") + 1].partition(":")
            assert hasattr(__import__(module, fromlist=["application"]), attr or "application")
        if "celery" in words:
            app_module = words[words.index("-A") + 1]
            assert __import__(app_module).celery_app.main == "alfa_platform"


def test_the_image_installs_the_cpu_torch_and_gpu_requirements_exist():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "torch.version.cuda is None" in dockerfile
    gpu = (ROOT / "requirements-gpu.txt").read_text()
    assert re.search(r"^vllm==", gpu, re.M)


def test_gpu_synthesis_uses_the_vllm_server_by_default(compose):
    gpu = compose["services"]["gpu-worker"]
    words = command_words(gpu)
    assert "register_endpoint" in words and "http://vllm:8000/v1" in words and "--default" in words
    assert gpu["depends_on"]["vllm"]["condition"] == "service_healthy"
    vllm = compose["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    pinned = re.search(r"^vllm==(\S+)", (ROOT / "requirements-gpu.txt").read_text(), re.M)[1]
    assert vllm["image"].endswith(pinned)


def test_exactly_one_service_schedules_the_watchdog(compose):
    schedulers = [name for name, service in compose["services"].items()
                  if "command" in service and ("beat" in command_words(service) or "-B" in command_words(service))]
    assert schedulers == ["beat"]
