"""Show server paths relative to the var directory (or to the code, in tracebacks), never as absolute paths."""

import os
import re
import sys
import sysconfig
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

# An absolute POSIX path inside free text: starts with "/" that does not continue a word, URL or relative path.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/\\-])/[^\s'\"`<>|,;:()\[\]{}]+")
HIDDEN_FOLDER = "…"


@cache
def top_level_folders() -> frozenset[str]:
    """Return the names directly under "/"; a "/x/..." string is a server path only when /x exists."""
    try:
        return frozenset(os.listdir("/"))
    except OSError:
        return frozenset()


def code_roots() -> list[str]:
    """Return the folders source files live under (the repository, stdlib, site-packages), longest first."""
    roots = {str(Path(settings.BASE_DIR).resolve())}
    roots.update(sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib"))
    roots.update(entry for entry in sys.path if entry and os.path.isabs(entry))
    return sorted((os.path.normpath(root) for root in roots), key=len, reverse=True)


def display_path(path: str | os.PathLike[str]) -> str:
    """Return an absolute path relative to the var directory, to a code root for source files, else '…/name'."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    normal = os.path.normpath(text)
    var_dir = os.path.normpath(Path(settings.VAR_DIR).resolve())
    # The var directory comes first: it lies inside the repository in the default layout.
    for root in [var_dir, *code_roots()]:
        if normal == root:
            return "."
        if normal.startswith(root.rstrip("/") + "/"):
            return os.path.relpath(normal, root)
    return f"{HIDDEN_FOLDER}/{os.path.basename(normal)}"


def redact_paths(value: Any) -> Any:
    """Return a JSON-like value (or text) with every absolute server path in its strings shown by display_path."""
    if isinstance(value, str):
        return ABSOLUTE_PATH.sub(display_match, value)
    if isinstance(value, dict):
        return {key: redact_paths(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_paths(item) for item in value]
    return value


def display_match(match: re.Match[str]) -> str:
    path = match.group(0)
    # "/v1/chat/completions" or "/api/jobs/" in a message is a URL path, not a file on this server.
    if path.split("/", 2)[1] not in top_level_folders():
        return path
    return display_path(path)
