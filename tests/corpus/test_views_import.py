"""The import page: leads upload files, the import runs as a job, and the page reports what each file did."""

import pytest
from django.urls import reverse

from corpus.models import ImportRun, MultipleChoiceCase, Thread
from jobs.models import Job, JobStatus

IMPORT = reverse("corpus:import")


@pytest.fixture
def lead_client(client_for, lead):
    return client_for(lead)


def upload(client, paths, capture, **fields):
    handles = [open(path, "rb") for path in paths]
    try:
        with capture(execute=True):
            return client.post(IMPORT, {"files": handles, "format": "auto", "split": "", **fields})
    finally:
        for handle in handles:
            handle.close()


def test_allows_lead_to_import_files_as_a_job(lead_client, lead, shared_data, django_capture_on_commit_callbacks):
    files = [shared_data / "askdocs" / "test_q.jsonl", shared_data / "mediq" / "askdocs_mcq.jsonl"]
    response = upload(lead_client, files, django_capture_on_commit_callbacks, split="test")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("jobs:detail", args=[job.pk])
    job.refresh_from_db()
    assert (job.kind, job.owner, job.status) == ("import_corpus", lead, JobStatus.SUCCEEDED)
    assert job.items.count() == 2
    assert Thread.objects.count() == 302
    assert MultipleChoiceCase.objects.filter(thread__isnull=False).count() == 302
    runs = {run.file_name: run for run in ImportRun.objects.filter(job=job)}
    assert runs["test_q.jsonl"].created["question"] == 620
    assert runs["test_q.jsonl"].split == "test"
    assert lead_client.get(response.url).status_code == 200


def test_it_reports_each_import_on_the_page(lead_client, shared_data, django_capture_on_commit_callbacks):
    upload(lead_client, [shared_data / "askdocs" / "test_q.jsonl"], django_capture_on_commit_callbacks)
    html = lead_client.get(IMPORT).content.decode()
    assert "test_q.jsonl" in html
    assert "post 192" in html and "thread 302" in html and "question 620" in html
    assert "has_final_diagnosis: set from final_diagnosis 14" in html  # normalizations are counted


def test_it_shows_rejected_records_with_file_line_field_and_reason(lead_client, tmp_path, shared_data,
                                                                  django_capture_on_commit_callbacks):
    good = (shared_data / "askdocs" / "test_q.jsonl").read_text().splitlines()[0]
    bad = tmp_path / "broken_test_q.jsonl"
    bad.write_text(good + "\n{not json\n" + good.replace('"qid": "', '"qid": 7, "x": "') + "\n")
    upload(lead_client, [bad], django_capture_on_commit_callbacks)
    run = ImportRun.objects.get()
    assert run.rejected == 2
    assert Job.objects.get().status == JobStatus.FAILED  # a file with rejected records fails its item
    html = lead_client.get(IMPORT).content.decode()
    for error in run.errors:
        assert f"{error['file']}:{error['line']}:{error['field']}: " in html
    assert "broken_test_q.jsonl:2:" in html


def test_it_asks_for_at_least_one_file(lead_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(IMPORT, {"format": "auto"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Job.objects.exists()


def test_it_rejects_an_unknown_format(lead_client, shared_data, django_capture_on_commit_callbacks):
    response = upload(lead_client, [shared_data / "askdocs" / "test_q.jsonl"], django_capture_on_commit_callbacks,
                      format="csv")
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not Job.objects.exists()


def test_it_offers_every_format_and_split(lead_client):
    html = lead_client.get(IMPORT).content.decode()
    for value in ("auto", "questions", "askdocs_mcq", "medqa", "threads", "train", "validation", "test"):
        assert f'value="{value}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "csrfmiddlewaretoken" in html
