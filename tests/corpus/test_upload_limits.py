"""Upload hardening (issue 13): gzip inflated within caps, a request-size limit, raw uploads 0600 and purged.

The annotation import's gzip tests are in tests/annotation/test_import_limits.py.
"""

import gzip
import io
import os
import stat
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from corpus.actions import do_enqueue_import, store_upload
from corpus.importers import import_path
from corpus.models import ImportRun
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db

IMPORT = reverse("corpus:import")
API_IMPORTS = "/api/corpus/imports/"


def bomb(megabytes, byte=b"\n"):
    """A gzip stream of `megabytes` MB of one repeated byte: a few KB that inflate a thousandfold."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        block = byte * (1 << 20)
        for _ in range(megabytes):
            handle.write(block)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- gzip caps --------------------------------------------------------------------------------------------------


def test_a_gzip_bomb_past_the_size_cap_is_refused_with_a_clear_error(settings, tmp_path):
    settings.ALFA_GZIP_MAX_BYTES = 2 * 2**20
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(bomb(40))
    run = import_path(path)
    assert run.error_count == 1
    reason = run.errors[0]["reason"]
    assert "ALFA_GZIP_MAX_BYTES" in reason and "gzip bomb" in reason


def test_a_gzip_bomb_over_the_ratio_cap_is_refused(settings, tmp_path):
    settings.ALFA_GZIP_RATIO_AFTER_BYTES = 2**20
    settings.ALFA_GZIP_MAX_RATIO = 50
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(bomb(40, byte=b"\0"))
    run = import_path(path)
    reasons = [error["reason"] for error in run.errors]
    assert any("ALFA_GZIP_MAX_RATIO" in reason for reason in reasons), reasons


def test_a_well_compressed_real_file_is_not_taken_for_a_bomb(tmp_path, question_records):
    path = tmp_path / "test_q.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in question_records)))
    run = import_path(path)
    assert run.error_count == 0 and run.created["question"] == 620


def test_a_truncated_gzip_corpus_upload_fails_its_item_with_a_line_error(client_for, lead, tmp_path, media,
                                                                        question_records,
                                                                        django_capture_on_commit_callbacks):
    whole = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in question_records))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(IMPORT, {
            "files": [SimpleUploadedFile("test_q.jsonl.gz", whole[: len(whole) // 2])], "format": "auto", "split": "",
        })
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.errors[-1]["line"] > 1 and run.errors[-1]["reason"].startswith("corrupt gzip data")
    assert Job.objects.get().status == JobStatus.FAILED


# --- request size -----------------------------------------------------------------------------------------------


def test_an_upload_over_the_size_limit_gets_a_413_page(settings, client_for, lead, media):
    settings.ALFA_UPLOAD_MAX_BYTES = 4096
    response = client_for(lead).post(IMPORT, {"files": [SimpleUploadedFile("big.jsonl", b"x" * 8192)],
                                              "format": "auto", "split": ""})
    assert response.status_code == 413
    html = response.content.decode()
    assert "Upload too large" in html and "ALFA_UPLOAD_MAX_BYTES" in html
    assert not Job.objects.exists()


def test_an_api_upload_over_the_size_limit_gets_a_413_json_detail(settings, api_client_for, lead, media):
    settings.ALFA_UPLOAD_MAX_BYTES = 4096
    response = api_client_for(lead).post(API_IMPORTS, {"files": [SimpleUploadedFile("big.jsonl", b"x" * 8192)]},
                                         format="multipart")
    assert response.status_code == 413
    assert "ALFA_UPLOAD_MAX_BYTES" in response.json()["detail"]
    assert not Job.objects.exists()


# --- stored 0600, purged after the retention period ---------------------------------------------------------------


def test_raw_uploads_are_stored_0600_in_a_0700_folder(media):
    old = os.umask(0o022)
    try:
        path = store_upload(SimpleUploadedFile("test_q.jsonl", b"{}\n"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def queued_import(name, owner, status, finished_at=None):
    job = do_enqueue_import([SimpleUploadedFile(name, b"{}\n")], owner=owner)
    Job.objects.filter(pk=job.pk).update(status=status, finished_at=finished_at)
    return Path(job.params["files"][0]["path"])


def test_purge_uploads_deletes_finished_imports_past_retention_and_keeps_the_rest(media, lead, capsys):
    now = timezone.now()
    old_done = queued_import("old.jsonl", lead, JobStatus.SUCCEEDED, now - timedelta(days=31))
    old_failed = queued_import("old_failed.jsonl", lead, JobStatus.FAILED, now - timedelta(days=40))
    recent = queued_import("recent.jsonl", lead, JobStatus.SUCCEEDED, now - timedelta(days=2))
    running = queued_import("running.jsonl", lead, JobStatus.RUNNING)
    ImportRun.objects.create(file_name="old.jsonl", file_sha256="ab" * 32, job=Job.objects.get(
        params__files__0__path=str(old_done)))
    orphan = store_upload(SimpleUploadedFile("case_set.jsonl", b"{}\n"))
    stale = (now - timedelta(days=45)).timestamp()
    os.utime(orphan.parent, (stale, stale))
    call_command("purge_uploads")
    assert not old_done.exists() and not old_done.parent.exists()
    assert not old_failed.exists() and not orphan.parent.exists()
    assert recent.exists() and running.exists()
    assert "3 upload folder(s) deleted, 2 kept." in capsys.readouterr().out
    assert ImportRun.objects.get(file_name="old.jsonl").file_sha256 == "ab" * 32  # the report keeps the hash


def test_purge_uploads_runs_daily_from_beat():
    from alfa_platform.celery import app
    from corpus import tasks

    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "corpus.tasks.purge_uploads")
    assert entry["schedule"] <= 24 * 3600
    assert tasks.purge_uploads.name in app.tasks
    assert django_settings.ALFA_UPLOAD_RETENTION_DAYS == 30
