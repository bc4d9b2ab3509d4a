"""Server secrets: the per-installation files under var/, and the check that production never runs on a weak key.

Imported by settings.py, so it imports nothing from Django that needs settings.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_LENGTH = 50
# The values .env.example ships and Django's startproject prefix: a key that starts so was never set for real.
PLACEHOLDER_PREFIXES = ("change-me", "changeme", "django-insecure")


def read_or_create_secret(path: Path) -> str:
    """Return the secret kept in `path`, creating it first with a fresh random value.

    The file is written 0600 under a temporary name and then linked into place, so it is never readable by others
    (not even between a write and a chmod), and two processes starting at once agree on one value: os.link fails
    when the name exists, and the loser reads the winner's file.
    """
    path = Path(path)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process created it first: use its value
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def check_secret(name: str, value: str, debug: bool) -> None:
    """Refuse to start (ImproperlyConfigured) with DEBUG off and a placeholder or short secret."""
    if debug:
        return
    if value.strip().lower().startswith(PLACEHOLDER_PREFIXES):
        raise ImproperlyConfigured(
            f"{name} is a placeholder; set a random value of at least {MIN_SECRET_LENGTH} "
            f"characters, or unset it to use the one generated under var/."
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"{name} is {len(value)} characters; with DEBUG off it must be at least {MIN_SECRET_LENGTH} "
            f"(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or unset to use the one under var/."
        )


def secret_from_environment(name: str) -> str:
    """Return the secret in variable `name`, or read from the file that `name`_FILE names (Docker/Kubernetes secrets).

    Setting both is refused: which one wins would otherwise be a guess.
    """
    value, path = os.environ.get(name, ""), os.environ.get(f"{name}_FILE", "")
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return value
