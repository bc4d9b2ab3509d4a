"""Start the test OpenID Connect provider in its own process on a free loopback port, seed it, stop it."""

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT_ID = "alfa-platform"
CLIENT_SECRET = "provider-test-secret-" + "s" * 20  # the test provider's client, on loopback only


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ProviderProcess:
    """django-oidc-provider behind `manage.py runserver`, with its own SQLite file under `folder`."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    signing_key: dict = field(default_factory=dict)  # {"kid", "private_key"}: to craft tokens the tests refuse

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    @property
    def environment(self) -> dict[str, str]:
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings", "PYTHONPATH": str(REPOSITORY),
                "OIDC_PROVIDER_URL": self.url, "OIDC_PROVIDER_DB": str(self.folder / "provider.sqlite3")}

    def manage(self, *arguments: str) -> str:
        command = [sys.executable, "-m", "django", *arguments]
        done = subprocess.run(command, env=self.environment, cwd=REPOSITORY, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"provider {' '.join(arguments)} failed:\n{done.stderr}")
        return done.stdout

    def start(self) -> "ProviderProcess":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput", "-v", "0")
        self.seed()
        log = (self.folder / "provider.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            env=self.environment, cwd=REPOSITORY, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the test provider did not start:\n{(self.folder / 'provider.log').read_text()}")

    def seed(self, redirect_uris: tuple[str, ...] = (), post_logout_uris: tuple[str, ...] = (),
             users: tuple[tuple[str, str, tuple[str, ...]], ...] = ()) -> None:
        """Register the platform's client (adding redirect URIs) and create or update users and their groups."""
        arguments = ["seed_provider", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        arguments += [f"--redirect-uri={uri}" for uri in redirect_uris]
        arguments += [f"--post-logout-redirect-uri={uri}" for uri in post_logout_uris]
        arguments += [f"--user={name}:{password}:{'+'.join(groups)}" for name, password, groups in users]
        self.signing_key = json.loads(self.manage(*arguments).strip().splitlines()[-1])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
