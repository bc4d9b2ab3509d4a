"""Where an endpoint's API key may come from and where it may go: prefixed variables, registered hosts only."""

import os
import re
from urllib.parse import urlsplit

from django.conf import settings


class KeyRefused(Exception):
    """An endpoint asks for a variable or a host that its key may not be read or sent for."""


def key_env_problem(name: str) -> str:
    """Return why `name` may not hold an endpoint's key ("" if it may)."""
    prefix = settings.LLM_KEY_ENV_PREFIX
    if not re.fullmatch(re.escape(prefix) + r"[A-Z0-9_]+", name or ""):
        return (f"The key's environment variable must be named {prefix}<NAME> (upper case, e.g. {prefix}OPENAI); "
                f"{name!r} is not, and other variables hold the server's own secrets.")
    return ""


def url_host(url: str | None) -> str:
    """Return the lower-cased host of an http(s) URL ("" when there is none)."""
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


def url_origin(url: str) -> str:
    """Return scheme://host:port of a URL, the unit a key is registered to."""
    parts = urlsplit(url or "")
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        return ""
    return f"{parts.scheme}://{url_host(url)}:{port}" if parts.scheme else ""


def is_allowed_host(url: str | None) -> bool:
    """Return whether a lead (not only an admin) may point an endpoint at this URL's host."""
    host = url_host(url)
    return not host or host in {h.lower() for h in settings.ENDPOINT_ALLOWED_HOSTS}


def api_key_for(api_key_env: str, base_url: str, registered_origin: str) -> str:
    """Return the key to send to `base_url`, checked again right before the call; raise KeyRefused otherwise."""
    if problem := key_env_problem(api_key_env):
        raise KeyRefused(problem)
    if not registered_origin or url_origin(base_url) != registered_origin:
        raise KeyRefused(f"The key in {api_key_env} was registered for {registered_origin or 'no host'} and is never "
                         f"sent to {url_origin(base_url) or base_url}; save the endpoint again to register it.")
    key = os.environ.get(api_key_env)
    if not key:
        raise KeyRefused(f"The environment variable {api_key_env} holding the API key is not set.")
    return key
