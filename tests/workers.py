"""Start real Celery worker processes against the test database, for tests marked `worker`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from alfa_platform.celery import app

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_tests():
    """Return a DATABASE_URL pointing at the test database pytest-django created."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def use_broker_dir(broker_dir):
    """Point this process's Celery producer at a private filesystem queue (no-op for Redis/RabbitMQ)."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return {}
    for sub in ("queue", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "control_folder": str(broker_dir / "control"),
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
    }
    app.conf.broker_transport_options = options
    # Drop the cached connection and producer pools so the next send uses the new folder.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    return {"ALFA_BROKER_DIR": str(broker_dir)}


class WorkerProcess:
    """A `celery worker` subprocess; start, kill (any signal) and restart it like an operator would."""

    def __init__(self, log_path, env, queues="default,gpu", include=""):
        self.log_path = log_path
        self.env = env
        self.queues = queues
        self.include = include  # extra modules to import, e.g. test-only job kinds
        self.process = None

    def start(self, timeout=60):
        self.log = open(self.log_path, "ab")  # closed in stop()
        command = [sys.executable, "-m", "celery", "-A", "alfa_platform", "worker", "--pool=solo",
                   "-Q", self.queues, "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.include:
            command += ["--include", self.include]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in Path(self.log_path).read_bytes():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.output()}")

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        self.process.wait(timeout=60)

    def send(self, sig):
        """Send a signal without waiting for an exit (SIGSTOP/SIGCONT pause and wake the worker)."""
        self.process.send_signal(sig)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused worker cannot act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def output(self):
        return Path(self.log_path).read_text(errors="replace")[-5000:]


def worker_env(broker_env, **extra):
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), **broker_env}
    env.update({key: str(value) for key, value in extra.items()})
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env
