"""Server paths are shown relative to the var directory (or the code), never as absolute paths."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from alfa_platform.paths import display_path, redact_paths
from corpus.models import ImportRun
from synthesis.models import Backend, ModelEndpoint


def var(*parts):
    return Path(settings.VAR_DIR).resolve().joinpath(*parts)


def test_it_shows_paths_under_the_var_dir_relative_to_it():
    assert display_path(var("media", "imports", "ab12", "notes.jsonl")) == "media/imports/ab12/notes.jsonl"
    assert display_path(str(var())) == "."


def test_it_shows_source_files_relative_to_their_code_root():
    assert display_path(Path(settings.BASE_DIR) / "jobs" / "runner.py") == "jobs/runner.py"
    import django

    assert display_path(django.__file__) == "django/__init__.py"


def test_it_hides_the_folder_of_other_absolute_paths_and_keeps_relative_ones():
    assert display_path("/srv/elsewhere/data/test_q.jsonl") == "…/test_q.jsonl"
    assert display_path("models/tiny") == "models/tiny"


def test_it_rewrites_paths_inside_text_and_json_values_but_not_url_paths():
    upload = var("media", "imports", "ab12", "notes.jsonl")
    value = {
        "files": [{"path": str(upload), "name": "notes.jsonl"}],
        "error": f"[Errno 2] No such file or directory: '{upload}'",
        "log": f"12:00:00 generator tiny (transformers, {var('models', 'tiny')})",
        "url": "http://127.0.0.1:8000/v1/chat/completions returned 500 for POST /v1/chat/completions",
        "ratio": "3 / 4 items · 2.5 items/s",
        "count": 3,
    }
    shown = redact_paths(value)
    assert shown == {
        "files": [{"path": "media/imports/ab12/notes.jsonl", "name": "notes.jsonl"}],
        "error": "[Errno 2] No such file or directory: 'media/imports/ab12/notes.jsonl'",
        "log": "12:00:00 generator tiny (transformers, models/tiny)",
        "url": value["url"],
        "ratio": value["ratio"],
        "count": 3,
    }
    assert str(settings.BASE_DIR) not in str(shown)


@pytest.mark.django_db
def test_synthesis_and_import_pages_show_model_folders_and_errors_relative_to_the_var_dir(client_for, lead):
    folder = var("models", "tiny-chat")
    ModelEndpoint.objects.create(name="local", backend=Backend.TRANSFORMERS, model=str(folder), device="cpu")
    ImportRun.objects.create(file_name="notes.jsonl", status=ImportRun.Status.FAILED,
                             error=f"PermissionError: [Errno 13] Permission denied: '{var('media', 'notes.jsonl')}'")
    client = client_for(lead)
    pages = [("synthesis:endpoints", "models/tiny-chat"), ("synthesis:index", "models/tiny-chat"),
             ("corpus:import", "media/notes.jsonl")]
    for name, shown in pages:
        url = reverse(name)
        body = client.get(url).content.decode()
        assert shown in body and str(settings.BASE_DIR) not in body, url
