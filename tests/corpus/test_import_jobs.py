"""The import as a background job and as a command: per-file items, retry of failed files, exit codes."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from corpus.actions import ImportRequestError, do_enqueue_import, safe_name
from corpus.models import ImportRun, MultipleChoiceCase, Question
from jobs.actions import do_retry_job
from jobs.models import ItemStatus, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def small_files(write_jsonl, question_records):
    good = write_jsonl("test_q.jsonl", question_records[:20])
    bad = write_jsonl("broken_test_q.jsonl", [question_records[20], b"{not json", question_records[21]])
    return good, bad


def run_job(capture, *args, **kwargs):
    with capture(execute=True):
        job = do_enqueue_import(*args, **kwargs)
    job.refresh_from_db()
    return job


def test_the_job_fails_only_the_bad_file_and_a_retry_redoes_only_it(
    django_capture_on_commit_callbacks, small_files, askdocs_mcq, lead
):
    good, bad = small_files
    job = run_job(django_capture_on_commit_callbacks, [good, bad, askdocs_mcq], owner=lead)
    assert job.status == JobStatus.FAILED
    assert "1 of 3 file(s) had problems" in job.error
    items = {item.key: item for item in job.items.all()}
    assert {key: item.status for key, item in items.items()} == {
        "0000 test_q.jsonl": ItemStatus.SUCCEEDED,
        "0001 broken_test_q.jsonl": ItemStatus.FAILED,
        "0002 askdocs_mcq.jsonl": ItemStatus.SUCCEEDED,
    }
    assert "broken_test_q.jsonl:2: -: malformed JSON" in items["0001 broken_test_q.jsonl"].error
    assert items["0000 test_q.jsonl"].result["created"]["question"] == 20
    assert job.result["rejected"] == 1 and job.result["errors"][0]["line"] == 2
    assert job.result["created"]["mcq"] == 302 and job.progress_unit == "bytes"
    assert job.progress_done == job.progress_total > 0
    assert ImportRun.objects.filter(job=job).count() == 3
    assert Question.objects.count() == 22  # the valid records of the bad file are in
    threads_present = Question.objects.values("thread__thread_id")
    assert set(MultipleChoiceCase.objects.filter(thread__isnull=False).values_list("case_id", flat=True)) == set(
        MultipleChoiceCase.objects.filter(case_id__in=threads_present).values_list("case_id", flat=True)
    )

    bad.write_bytes(b"".join(line for i, line in enumerate(bad.read_bytes().splitlines(True)) if i != 1))
    with django_capture_on_commit_callbacks(execute=True):
        do_retry_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    runs = list(ImportRun.objects.filter(job=job).values_list("file_name", flat=True))
    assert sorted(runs) == ["askdocs_mcq.jsonl", "broken_test_q.jsonl", "broken_test_q.jsonl", "test_q.jsonl"]
    assert set(job.items.values_list("status", flat=True)) == {ItemStatus.SUCCEEDED}
    assert job.result["rejected"] == 0 and job.result["files"] == 3


def test_uploads_are_stored_under_media_imports_and_imported(django_capture_on_commit_callbacks, media, test_q, lead):
    upload = SimpleUploadedFile("../../test_q.jsonl", test_q.read_bytes(), content_type="application/jsonl")
    job = run_job(django_capture_on_commit_callbacks, [upload], format="questions", owner=lead)
    assert job.status == JobStatus.SUCCEEDED, job.error
    stored = Path(job.params["files"][0]["path"])
    assert stored.parent.parent == media / "imports" and stored.name == "test_q.jsonl"
    run = ImportRun.objects.get(job=job)
    assert (run.file_name, run.split, run.user, run.records_read) == ("test_q.jsonl", "test", lead, 620)
    assert job.result["created"]["question"] == 620


def test_it_refuses_unknown_formats_splits_and_missing_files(tmp_path):
    with pytest.raises(ImportRequestError, match="Unknown format"):
        do_enqueue_import([tmp_path], format="csv")
    with pytest.raises(ImportRequestError, match="Unknown split"):
        do_enqueue_import([tmp_path], split="holdout")
    with pytest.raises(ImportRequestError, match="no such file"):
        do_enqueue_import([tmp_path / "missing.jsonl"])


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../etc/passwd", "passwd"), ("my corpus (1).jsonl", "my_corpus_1.jsonl"), ("..", "upload.jsonl"),
     ("", "upload.jsonl"), ("x" * 300 + ".jsonl.gz", "x" * 117 + ".gz")],
)
def test_it_makes_upload_names_safe(name, safe):
    assert safe_name(name) == safe


def test_the_command_prints_the_report_and_exits_0_when_all_is_well(test_q, capsys):
    call_command("import_corpus", str(test_q), "--no-progress")
    out = capsys.readouterr().out
    assert "test_q.jsonl: format questions, split test; 620 records read" in out
    assert "created     192 post, 302 thread, 382 comment, 620 question" in out
    assert "normalized  has_final_diagnosis: set from final_diagnosis: 14" in out


def test_the_command_prints_every_error_and_exits_1(small_files, capsys):
    _, bad = small_files
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_corpus", str(bad), "--format", "questions", "--no-progress")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "broken_test_q.jsonl:2: -: malformed JSON" in captured.err
    assert "rejected    1" in captured.out


def test_the_command_exits_1_for_an_empty_file_and_refuses_bad_options(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_corpus", str(empty), "--no-progress")
    assert exit_info.value.code == 1
    assert "empty.jsonl:0: -: empty file: no records" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("import_corpus", str(tmp_path / "missing.jsonl"), "--no-progress")


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_writes_the_same_rows_in_order(test_q, monkeypatch, settings):
    from corpus.importers import import_path, pipeline

    settings.ALFA_IMPORT_WRITER_THREAD = True
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 100)
    modes = []
    submit = pipeline.ChunkSink.submit

    def spy(self, job, threaded):
        modes.append(self.queue is not None)
        return submit(self, job, threaded)

    monkeypatch.setattr(pipeline.ChunkSink, "submit", spy)
    progress = []
    run = import_path(test_q, on_progress=lambda done, total: progress.append((done, total)))
    assert not modes[0] and all(modes[1:])  # no transaction open here: the first chunk starts the writer thread
    assert run.created == {"post": 192, "thread": 302, "comment": 382, "question": 620}
    assert progress[-1][0] == progress[-1][1] == test_q.stat().st_size
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    again = import_path(test_q)
    assert (again.created, again.unchanged) == ({}, 620)


@pytest.mark.django_db(transaction=True)
def test_the_database_and_the_first_chunk_decide_whether_a_writer_thread_is_used(settings):
    from django.db import connection

    from corpus.importers import pipeline

    settings.ALFA_IMPORT_WRITER_THREAD = None
    assert pipeline.use_writer_thread(fresh=True)
    assert pipeline.use_writer_thread(fresh=False) is (connection.vendor == "postgresql")
    settings.ALFA_IMPORT_WRITER_THREAD = False
    assert not pipeline.use_writer_thread(fresh=True)
    settings.ALFA_IMPORT_WRITER_THREAD = True
    assert pipeline.use_writer_thread(fresh=False)


@pytest.mark.django_db(transaction=True)
def test_a_writer_thread_error_stops_the_import(test_q, monkeypatch, settings):
    from corpus.importers import import_path, pipeline, writer

    settings.ALFA_IMPORT_WRITER_THREAD = True
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 100)
    calls = []
    write = writer.ChunkWriter.write

    def crash(self, units, fresh=None):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return write(self, units, fresh)

    monkeypatch.setattr(writer.ChunkWriter, "write", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        import_path(test_q)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED and "disk full" in run.error
    assert Question.objects.count() < 620
