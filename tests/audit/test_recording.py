"""Every change that matters leaves one record: who, when, what, and the values before and after."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role
from annotation import gold as gold_actions
from annotation.models import Assignment, Campaign
from audit.models import AuditRecord
from jobs.actions import do_enqueue_job
from jobs.models import Job, JobStatus
from synthesis.models import PromptTemplate
from tests.annotation.conftest import comparison_row, jsonl
from tests.annotation.factories import create_case
from tests.audit.conftest import records, submit_body

pytestmark = pytest.mark.django_db
API = "/api/annotation"


def test_it_records_who_created_a_campaign_and_changed_its_settings(lead, annotator, api_client_for):
    client = api_client_for(lead)
    before = timezone.now()
    created = client.post(f"{API}/campaigns/", {"name": "Expert study", "overlap": 3, "gold_rate": 0.1,
                                                "annotators": [annotator.username]}, format="json")
    pk = created.json()["id"]
    assert client.patch(f"{API}/campaigns/{pk}/", {"overlap": 5}, format="json").status_code == 200
    create, members, update = records(content_type__model="campaign", object_pk=str(pk))
    assert create.action == AuditRecord.Action.CREATE and create.actor == lead and create.timestamp >= before
    assert create.changes["name"] == [None, "Expert study"]
    assert members.event == "campaign.members" and members.changes == {"annotators": [[], [annotator.username]]}
    assert update.actor_username == lead.username and update.changes == {"overlap": [3, 5]}


def test_it_records_an_import_as_one_record_however_many_rows(campaign, lead, api_client_for):
    upload = SimpleUploadedFile("pairs.jsonl", jsonl([comparison_row(100 + i) for i in range(40)]))
    response = api_client_for(lead).post(f"{API}/campaigns/{campaign.pk}/import/", {"file": upload},
                                         format="multipart")
    assert response.status_code == 201
    imported = records("campaign.import", object_pk=str(campaign.pk))
    assert len(imported) == 2  # the fixture's import of 3 rows, then this one of 40
    assert imported[-1].actor == lead and imported[-1].changes == {"item_count": [3, 43]}
    assert imported[-1].additional_data == {"rows": 40, "created": 40}


def test_it_records_a_submission_and_its_undo(campaign, annotator, api_client_for):
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    assert client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item),
                       format="json").status_code == 200
    assert client.post(f"{API}/campaigns/{campaign.pk}/undo/").status_code == 200
    (submitted,) = records("judgment.submit")
    (undone,) = records("judgment.undo")
    assignment = Assignment.objects.get(pk=item["assignment"])
    left_is_a = assignment.left_is_a
    assert submitted.actor == annotator and submitted.object_pk == str(item["assignment"])
    assert submitted.changes["status"] == ["assigned", "submitted"]
    assert submitted.changes["judgments"][1] == [{"attribute": "clarity", "choice": "a" if left_is_a else "b",
                                                  "strength": "", "reasons": [], "rationale": "",
                                                  "time_ms": 900}]
    assert submitted.additional_data == {"campaign": campaign.pk, "item": assignment.item_id}
    assert undone.actor == annotator and undone.changes == {"status": ["submitted", "assigned"]}
    assert undone.additional_data["retracted_judgments"] == 1
    call_command("verify_audit")  # on PostgreSQL the submission's record was appended by the hot path's SQL


def test_it_records_submissions_through_the_lean_endpoint_with_a_token(campaign, annotator):
    """The page's hot path (one statement on PostgreSQL, token authentication) records as the ORM path does."""
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    served = client.post(f"{API}/campaigns/{campaign.pk}/next/", content_type="application/json").json()
    for _ in range(2):
        item = served["item"]
        served = client.post(f"{API}/assignments/{item['assignment']}/submit/",
                             {**submit_body(item), "next": True}, content_type="application/json").json()
    submitted = records("judgment.submit")
    assert [record.actor_username for record in submitted] == [annotator.username] * 2
    assert len({record.object_pk for record in submitted}) == 2
    call_command("verify_audit")


def test_it_records_an_adjudication(campaign, annotator, reviewer, api_client_for):
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item), format="json")
    item_id = Assignment.objects.get(pk=item["assignment"]).item_id
    created = api_client_for(reviewer).post(f"{API}/adjudications/", {
        "item": item_id, "attribute": "clarity", "choice": "tie", "note": "Both ask the same."}, format="json")
    assert created.status_code == 201
    (record,) = records(content_type__model="adjudication")
    assert record.actor == reviewer and record.changes["choice"] == [None, "tie"]


def test_it_records_a_gold_label_edit(reviewer, client_for):
    case = create_case()
    label = gold_actions.get_or_create_gold(case, reviewer)
    gold_actions.do_record_blind_answer(label, reviewer, "B")
    response = client_for(reviewer).post(f"{API}/gold/{case.pk}/edit/", {"stem": "What is the safest step?"},
                                         content_type="application/json")
    assert response.status_code == 200, response.content
    edited = records(content_type__model="goldlabel", action=AuditRecord.Action.UPDATE)
    assert edited[-1].actor == reviewer
    assert edited[-1].changes["stem"] == ["What should the patient do next?", "What is the safest step?"]


def test_it_records_prompt_templates_and_endpoints(lead, api_client_for):
    client = api_client_for(lead)
    current = PromptTemplate.objects.get(kind="enhance", attribute__key="focus", status="active")
    response = client.post("/api/synthesis/templates/", {
        "kind": "enhance", "attribute": "focus", "system_text": current.system_text,
        "user_text": current.user_text + "\nOne sentence.", "placeholders": current.placeholders}, format="json")
    assert response.status_code == 201
    endpoint = client.post("/api/synthesis/endpoints/", {"name": "local", "backend": "openai_http", "model": "m",
                                                         "base_url": "http://127.0.0.1:8001/v1"}, format="json")
    assert endpoint.status_code == 201, endpoint.json()
    client.patch(f"/api/synthesis/endpoints/{endpoint.json()['id']}/", {"model": "m2"}, format="json")
    new_template = records(content_type__model="prompttemplate", object_pk=str(response.json()["id"]))
    assert new_template[0].action == AuditRecord.Action.CREATE and new_template[0].actor == lead
    (superseded,) = records("template.supersede", object_pk=str(current.pk))
    assert superseded.actor == lead and superseded.changes == {"status": ["active", "superseded"]}
    changed = records(content_type__model="modelendpoint")[-1]
    assert changed.actor == lead and changed.changes["model"] == ["m", "m2"]


def test_it_records_a_dataset_version(lead, api_client_for, pair_corpus):
    response = api_client_for(lead).post("/api/datasets/versions/", {"name": "pairs", "selection": {
        "kind": "preference", "verdict": "unfiltered"}}, format="json")
    assert response.status_code in (201, 202), response.json()
    created = records(content_type__model="datasetversion", action=AuditRecord.Action.CREATE)
    assert created and created[0].actor == lead


def test_it_records_a_job_launched_cancelled_and_retried(lead, api_client_for):
    job = do_enqueue_job("import_corpus", params={"path": "x.jsonl"}, owner=lead)
    client = api_client_for(lead)
    assert client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 200
    assert client.post(f"/api/jobs/{job.pk}/retry/").status_code == 200
    launched = records(content_type__model="job", action=AuditRecord.Action.CREATE)
    (cancelled,) = records("job.cancel")
    (retried,) = records("job.retry")
    assert launched[0].object_pk == str(job.pk)
    assert cancelled.actor == lead and cancelled.changes["status"] == [JobStatus.QUEUED, JobStatus.CANCELLED]
    assert retried.actor == lead and retried.changes == {"status": [JobStatus.CANCELLED, JobStatus.QUEUED],
                                                         "version": [1, 2]}
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_it_records_role_grants(admin_user, client_for):
    user = create_user_with_role("nina_new", Role.ANNOTATOR)
    client = client_for(admin_user)
    reviewer_group = user.groups.model.objects.get(name=Role.REVIEWER)
    response = client.post(f"/admin/auth/user/{user.pk}/change/", {
        "username": user.username, "is_active": "on", "groups": [reviewer_group.pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00"})
    assert response.status_code == 302, response.content.decode()[:2000]
    grants = [r for r in records(content_type__model="user", object_pk=str(user.pk)) if "groups" in r.changes]
    assert grants[0].changes["groups"]["objects"] == [Role.ANNOTATOR] and grants[0].actor is None
    removed, added = grants[-2:]
    assert removed.actor == admin_user and removed.changes["groups"] == {
        "type": "m2m", "operation": "delete", "objects": [Role.ANNOTATOR]}
    assert added.actor == admin_user and added.changes["groups"]["objects"] == [Role.REVIEWER]


def test_it_records_nothing_with_the_trail_switched_off(settings, campaign, annotator, api_client_for):
    """ALFA_AUDIT=0 exists for the benchmark's side-by-side figures: explicit records stop too."""
    settings.AUDIT_ENABLED = False
    before = AuditRecord.objects.count()
    client = api_client_for(annotator)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    client.post(f"{API}/assignments/{item['assignment']}/submit/", submit_body(item), format="json")
    assert AuditRecord.objects.count() == before
    assert Campaign.objects.get(pk=campaign.pk).items.count() == 3


def test_it_records_a_lead_pausing_and_excluding_an_annotator(campaign, lead, annotator, api_client_for):
    response = api_client_for(lead).post(f"{API}/campaigns/{campaign.pk}/members/{annotator.username}/",
                                         {"paused": True, "excluded": True}, format="json")
    assert response.status_code == 200
    (change,) = records(content_type__model="campaignmember", action=AuditRecord.Action.UPDATE)
    assert change.actor == lead and change.changes == {"paused": [False, True], "excluded": [False, True]}


def test_it_records_a_corpus_import_as_one_run_not_one_record_per_row(api_client_for, lead, shared_data,
                                                                     django_capture_on_commit_callbacks):
    """1,272 cases are bulk-inserted: the trail holds the import run (started, finished) and its job."""
    from tests.corpus.test_api import post_files

    response = post_files(api_client_for(lead), [shared_data / "mediq" / "medqa_dev_convo.jsonl"],
                          django_capture_on_commit_callbacks, format="medqa")
    assert response.status_code == 202
    started, finished = records(content_type__model="importrun")
    assert started.action == AuditRecord.Action.CREATE and started.actor == lead
    assert finished.changes["status"] == ["running", "done"] and finished.actor == lead
    assert finished.changes["created"] == [{}, {"mcq": 1272}]
    assert records(content_type__model="multiplechoicecase") == []
    assert records(content_type__model="job", action=AuditRecord.Action.CREATE)[0].actor == lead
