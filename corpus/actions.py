"""Corpus state changes with side effects: queue an import of uploaded or server-side files as a background job."""

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from jobs.actions import do_enqueue_job

from .importers import FORMATS_BY_NAME
from .models import Split

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from jobs.models import Job

IMPORT_JOB = "import_corpus"
MAX_NAME = 120


class ImportRequestError(ValueError):
    """An import request that cannot be queued (unknown format or split, missing file)."""


def safe_name(name: str | None) -> str:
    """Return a file name safe to store: no directories, only [-_.A-Za-z0-9], at most MAX_NAME characters."""
    base = Path(str(name or "")).name
    try:
        cleaned = get_valid_filename(base)
    except Exception:  # SuspiciousFileOperation for names like ".." or ""
        cleaned = ""
    if not cleaned or cleaned.startswith("."):
        cleaned = "upload.jsonl"
    stem, dot, ext = cleaned.rpartition(".")
    if dot and len(cleaned) > MAX_NAME:
        return stem[: MAX_NAME - len(ext) - 1] + "." + ext
    return cleaned[:MAX_NAME]


def uploads_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def store_upload(upload: UploadedFile) -> Path:
    """Save an uploaded file under MEDIA_ROOT/imports/<uuid>/<safe name> and return its path.

    Raw uploads hold forum usernames: the folder is 0700 and the file is created 0600 (never readable by others,
    whatever the umask); manage.py purge_uploads deletes them once the retention period is over.
    """
    folder = uploads_root() / uuid.uuid4().hex
    folder.mkdir(mode=0o700, parents=True, exist_ok=False)
    folder.chmod(0o700)  # mkdir's mode is masked by the umask
    path = folder / safe_name(upload.name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def do_enqueue_import(
    files: Sequence[str | Path | UploadedFile], *, format: str | None = None,  # noqa: A002 - the importers' word
    split: str | None = None, owner: "User | None" = None,
) -> "Job":
    """Queue an import_corpus job with one item per file; files are uploads or paths on the server."""
    file_format = None if format in (None, "", "auto") else format
    if file_format is not None and file_format not in FORMATS_BY_NAME:
        raise ImportRequestError(f"Unknown format {format!r}; choose one of auto, {', '.join(FORMATS_BY_NAME)}.")
    if split not in (None, "") and split not in Split.values:
        raise ImportRequestError(f"Unknown split {split!r}; choose one of {', '.join(Split.values)}.")
    if not files:
        raise ImportRequestError("No files to import.")
    entries: list[dict[str, Any]] = []
    for item in files:
        if isinstance(item, str | Path):
            path = Path(item).resolve()
            if not path.is_file():
                raise ImportRequestError(f"{item}: no such file.")
            entries.append({"path": str(path), "name": path.name})
        else:
            entries.append({"path": str(store_upload(item)), "name": safe_name(item.name)})
    params = {"files": entries, "format": file_format or "auto", "split": split or None}
    keys = [item_key(index, entry["name"]) for index, entry in enumerate(entries)]
    return do_enqueue_job(IMPORT_JOB, params=params, owner=owner, items=keys)


def item_key(index: int, name: str) -> str:
    """Return a job item's key: the file's position in params["files"] and its name ("0003 test_q.jsonl")."""
    return f"{index:04d} {name}"[:255]


def item_index(key: str) -> int:
    return int(key.split(" ", 1)[0])
