"""Job pages and API: leads see, cancel and retry jobs; a job's creator may see and cancel it; no absolute paths."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from alfa_platform.roles import Role
from corpus.actions import do_enqueue_import
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_job(lead):
    job = Job.objects.create(kind="test_items", owner=lead, status=JobStatus.FAILED, error="ValueError: boom",
                             log_tail="12:00:00 failed: boom", progress_done=1, progress_total=4)
    job.items.create(key="file-a.jsonl", status="failed", error="line 3: bad json")
    return job


def test_allows_lead_to_list_and_filter_jobs(client_for, lead, failed_job, django_assert_max_num_queries):
    client = client_for(lead)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("jobs:list"), {"status": "failed"})
    assert response.status_code == 200
    assert b"test_items" in response.content and b"ValueError: boom" in response.content
    assert b"No jobs match" in client.get(reverse("jobs:list"), {"status": "running"}).content


def test_allows_lead_to_see_job_detail_with_failed_items_and_log(client_for, lead, failed_job):
    response = client_for(lead).get(failed_job.get_absolute_url())
    body = response.content.decode()
    assert "line 3: bad json" in body and "failed: boom" in body and "Retry 1 failed item" in body


def test_progress_fragment_polls_only_while_running(client_for, lead, failed_job):
    client = client_for(lead)
    assert b"hx-trigger" not in client.get(reverse("jobs:progress", args=[failed_job.pk])).content
    Job.objects.filter(pk=failed_job.pk).update(status=JobStatus.RUNNING)
    assert b'hx-trigger="every 1s"' in client.get(reverse("jobs:progress", args=[failed_job.pk])).content


@pytest.mark.parametrize("persona", ["annotator", "reviewer", "outsider"])
def test_denies_non_leads_the_job_pages(request, client_for, persona, failed_job):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("jobs:list")).status_code == 403
    assert client.get(failed_job.get_absolute_url()).status_code == 403
    assert client.post(reverse("jobs:retry", args=[failed_job.pk])).status_code == 403
    assert client.post(reverse("jobs:cancel", args=[failed_job.pk])).status_code == 403


def test_redirects_anonymous_users_to_login(client, failed_job):
    response = client.get(reverse("jobs:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_allows_lead_to_cancel_a_queued_job_from_the_page(client_for, lead):
    job = Job.objects.create(kind="test_items", owner=lead)
    response = client_for(lead).post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and b"Job cancelled." in response.content


def test_api_lists_and_reads_jobs_for_leads(api_client_for, lead, failed_job, django_assert_max_num_queries):
    client = api_client_for(lead)
    with django_assert_max_num_queries(6):
        listing = client.get("/api/jobs/", {"kind": "test_items"})
    assert listing.status_code == 200 and listing.json()["count"] == 1
    detail = client.get(f"/api/jobs/{failed_job.pk}/").json()
    assert detail["items"]["failed"] == 1 and detail["error"] == "ValueError: boom"


def test_api_cancel_refuses_a_finished_job(api_client_for, lead, failed_job):
    response = api_client_for(lead).post(f"/api/jobs/{failed_job.pk}/cancel/")
    assert response.status_code == 400 and "cannot be cancelled" in response.json()["detail"]


@pytest.mark.parametrize("persona", ["annotator", "reviewer", "outsider"])
def test_denies_non_leads_the_jobs_api(request, api_client_for, persona, failed_job):
    client = api_client_for(request.getfixturevalue(persona))
    assert client.get("/api/jobs/").status_code == 403
    assert client.get(f"/api/jobs/{failed_job.pk}/").status_code == 403
    assert client.post(f"/api/jobs/{failed_job.pk}/retry/").status_code == 403


def test_denies_anonymous_api_access(api_client_for, failed_job):
    assert api_client_for(None).get("/api/jobs/").status_code in (401, 403)


def test_admin_site_is_closed_to_annotators(client_for, annotator):
    response = client_for(annotator).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# Cancel: the job's creator, any lead (one project per installation) and admins -------------------------------

@pytest.fixture
def second_lead(make_user):
    return make_user("leo_lead", Role.LEAD)


@pytest.fixture
def reviewers_job(reviewer):
    """A running job whose creator has only the reviewer role (for example a lead who was moved to reviewing)."""
    return Job.objects.create(kind="test_items", owner=reviewer, status=JobStatus.RUNNING, heartbeat_at=timezone.now())


def test_allows_the_creator_to_see_and_cancel_their_job_from_the_page(client_for, reviewer, reviewers_job):
    client = client_for(reviewer)
    page = client.get(reviewers_job.get_absolute_url())
    assert page.status_code == 200 and b">Cancel</button>" in page.content and b">Retry" not in page.content
    response = client.post(reverse("jobs:cancel", args=[reviewers_job.pk]), follow=True)
    reviewers_job.refresh_from_db()
    assert response.status_code == 200 and reviewers_job.cancel_requested
    assert b"Cancellation requested." in response.content


def test_allows_the_creator_to_cancel_their_job_through_the_api(api_client_for, reviewer, reviewers_job):
    response = api_client_for(reviewer).post(f"/api/jobs/{reviewers_job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True


@pytest.mark.parametrize("persona", ["second_lead", "admin_user"])
def test_allows_leads_and_admins_to_cancel_someone_elses_job(request, api_client_for, persona, reviewers_job):
    response = api_client_for(request.getfixturevalue(persona)).post(f"/api/jobs/{reviewers_job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True


@pytest.mark.parametrize("persona", ["annotator", "second_annotator", "outsider"])
def test_denies_other_staff_to_cancel_or_see_someone_elses_job(request, client_for, api_client_for, persona,
                                                               reviewers_job, annotator):
    Job.objects.filter(pk=reviewers_job.pk).update(owner=annotator if persona == "second_annotator" else None)
    user = request.getfixturevalue(persona)
    assert api_client_for(user).post(f"/api/jobs/{reviewers_job.pk}/cancel/").status_code == 403
    client = client_for(user)
    assert client.post(reverse("jobs:cancel", args=[reviewers_job.pk])).status_code == 403
    assert client.get(reviewers_job.get_absolute_url()).status_code == 403
    reviewers_job.refresh_from_db()
    assert not reviewers_job.cancel_requested


def test_denies_the_creator_to_retry_without_the_lead_role(api_client_for, client_for, reviewer, reviewers_job):
    Job.objects.filter(pk=reviewers_job.pk).update(status=JobStatus.FAILED)
    assert api_client_for(reviewer).post(f"/api/jobs/{reviewers_job.pk}/retry/").status_code == 403
    assert client_for(reviewer).post(reverse("jobs:retry", args=[reviewers_job.pk])).status_code == 403


# Paths: relative to the var directory, never absolute server paths ------------------------------------------

def test_job_pages_and_api_show_paths_relative_to_the_var_dir(client_for, api_client_for, lead, settings,
                                                              django_capture_on_commit_callbacks):
    """An import whose upload vanished fails with the path in its item error, error, params and traceback."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = do_enqueue_import([SimpleUploadedFile("notes.jsonl", b'{"id": "x"}\n')], owner=lead)
    upload = Path(job.params["files"][0]["path"])
    relative = upload.relative_to(Path(settings.VAR_DIR).resolve()).as_posix()
    upload.unlink()
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and str(upload) in job.items.get().error  # the row keeps the real path
    Job.objects.filter(pk=job.pk).update(log_tail=f"{job.log_tail}\n12:00:00 model {settings.VAR_DIR}/models/tiny")
    secret = str(Path(settings.BASE_DIR).resolve())  # the repository; the var dir lies inside it
    client = client_for(lead)
    for url in (job.get_absolute_url(), reverse("jobs:progress", args=[job.pk]), reverse("jobs:list")):
        body = client.get(url).content.decode()
        assert secret not in body, url
    body = client.get(job.get_absolute_url()).content.decode()
    assert relative in body and "models/tiny" in body and "jobs/runner.py" in body  # item error, log, traceback
    api = api_client_for(lead)
    for url in (f"/api/jobs/{job.pk}/", "/api/jobs/"):
        assert secret not in api.get(url).content.decode(), url
    assert api.get(f"/api/jobs/{job.pk}/").json()["params"]["files"][0]["path"] == relative
