"""The trail is the admins': the page, the CSV export and the API filter it; no one writes to it."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from audit.recording import record_event

pytestmark = pytest.mark.django_db
TRAIL, EXPORT, API = reverse("audit:trail"), reverse("audit:export"), "/api/audit/records/"


@pytest.fixture
def trail(campaign, lead, annotator):
    """The campaign's records (by the lead) and two events by the annotator on their own user row."""
    record_event(annotator, "test.by_annotator", after={"n": 1}, actor=annotator)
    record_event(annotator, "test.by_annotator", after={"n": 2}, actor=annotator)
    return campaign


@pytest.mark.parametrize("persona", ["lead", "reviewer", "annotator", "outsider"])
def test_denies_non_admins_the_trail_its_export_and_api(persona, request, trail, client_for, api_client_for):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(TRAIL).status_code == 403
    assert client_for(user).get(EXPORT).status_code == 403
    assert api_client_for(user).get(API).status_code == 403


def test_sends_anonymous_visitors_to_the_login_page(client):
    assert client.get(TRAIL).status_code == 302
    assert client.get(EXPORT).status_code == 302


def test_allows_admin_to_filter_the_trail_by_user_object_and_time(trail, admin_user, annotator, lead, client_for):
    client = client_for(admin_user)
    by_annotator = client.get(TRAIL, {"user": annotator.username}).context["page"]
    assert {record.actor_username for record in by_annotator} == {annotator.username}
    assert len(by_annotator) == 2
    campaign_only = client.get(TRAIL, {"object_type": "annotation.campaign", "object_id": trail.pk})
    assert {record.object_pk for record in campaign_only.context["page"]} == {str(trail.pk)}
    assert "campaign.import" in campaign_only.content.decode()
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert len(client.get(TRAIL, {"since": later}).context["page"]) == 0
    earlier = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert len(client.get(TRAIL, {"since": earlier, "until": later}).context["page"]) == AuditRecord.objects.count()


def test_the_trail_page_links_the_admin_to_the_restore_page(trail, admin_user, client_for):
    page = client_for(admin_user).get(TRAIL).content.decode()
    assert f'href="{reverse("audit:deleted")}"' in page


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"object_type": "nope.nothing"}, {"object_id": "5"},
                                    {"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"}, {"page": "x"},
                                    {"user": "\x00"}])
def test_it_answers_bad_filters_with_errors_not_a_server_error(params, trail, admin_user, client_for,
                                                                api_client_for):
    answered = 400 if "\x00" in params.get("user", "") else 200  # a NUL in the URL: the platform's 400
    assert client_for(admin_user).get(TRAIL, params).status_code == answered
    assert client_for(admin_user).get(EXPORT, params).status_code == answered
    assert api_client_for(admin_user).get(API, params).status_code in (200, 400, 404)  # DRF: a bad page is 404


def test_it_exports_the_filtered_trail_as_streamed_csv(trail, admin_user, annotator, client_for):
    response = client_for(admin_user).get(EXPORT, {"user": annotator.username})
    assert response.streaming and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["user"] for row in rows] == [annotator.username] * 2
    assert [row["changes"] for row in rows] == ['{"n": [null, 1]}', '{"n": [null, 2]}']
    assert rows[1]["chain"] == rows[0]["chain"] and rows[1]["previous_hash"] == rows[0]["record_hash"]


def test_allows_admin_to_read_the_trail_over_the_api_but_never_write(trail, admin_user, annotator, api_client_for,
                                                                     django_assert_max_num_queries):
    client = api_client_for(admin_user)
    with django_assert_max_num_queries(6):
        body = client.get(API, {"object_type": "auth.user", "user": annotator.username}).json()
    assert [row["event"] for row in body["results"]] == ["test.by_annotator"] * 2
    pk = body["results"][0]["id"]
    assert client.get(f"{API}{pk}/").json()["user"] == annotator.username
    assert client.get(f"{API}abc/").status_code == 404
    assert client.post(API, {"event": "forged"}, format="json").status_code == 405
    assert client.put(f"{API}{pk}/", {"event": "forged"}, format="json").status_code == 405
    assert client.patch(f"{API}{pk}/", {"event": "forged"}, format="json").status_code == 405
    assert client.delete(f"{API}{pk}/").status_code == 405


def test_it_keeps_records_read_only_in_the_django_admin(trail, admin_user, client_for):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = client_for(admin_user)
    record = AuditRecord.objects.order_by("id").first()
    assert client.get(reverse("admin:audit_auditrecord_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditrecord_delete", args=[record.pk])).status_code == 403
    assert client.post(reverse("admin:audit_auditrecord_change", args=[record.pk]),
                       {"object_repr": "forged"}).status_code == 403
    assert AuditRecord.objects.get(pk=record.pk).object_repr == record.object_repr


def test_it_shows_a_campaigns_own_history_on_its_page(trail, lead, annotator, client_for):
    page = client_for(lead).get(reverse("annotation:campaign", args=[trail.pk])).content.decode()
    assert 'id="history"' in page and "campaign.import" in page and "test.by_annotator" not in page
    assert client_for(annotator).get(reverse("annotation:campaign", args=[trail.pk])).status_code in (302, 403)
