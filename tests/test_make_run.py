"""`make run`'s script serves the demo: the web answers, the demo users log in, and a real worker runs jobs."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def log_in(client, base, username, password):
    client.get(f"{base}/login/")
    response = client.post(f"{base}/login/", data={
        "username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"],
    }, headers={"Referer": f"{base}/login/"})
    return response


def test_run_script_serves_the_demo_with_working_logins_and_worker(tmp_path):
    port = free_port()
    env = {**os.environ, "ALFA_VAR_DIR": str(tmp_path), "ALFA_MODELS_DIR": str(settings.MODELS_DIR),
           "ALFA_PORT": str(port), "PY": str(ROOT / ".venv" / "bin" / "python")}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(f"{base}/health/", process), (tmp_path / "run.log").read_text()[-3000:]
        credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
        output = (tmp_path / "run.log").read_text()
        assert all(info["password"] in output for info in credentials.values())
        for username, info in credentials.items():
            with httpx.Client(follow_redirects=False) as client:
                response = log_in(client, base, username, info["password"])
                assert response.status_code == 302 and response.headers["location"] == "/", username
                home = client.get(f"{base}/")
                assert home.status_code == 200 and username in home.text
        with httpx.Client() as client:
            log_in(client, base, "lead", credentials["lead"]["password"])
            threads = client.get(f"{base}/api/corpus/threads/").json()
            assert len(threads["results"]) >= 10
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=90)
        log.close()
