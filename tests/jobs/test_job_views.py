"""Job pages and API: leads see, cancel and retry jobs; nobody else can."""

import pytest
from django.urls import reverse

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
