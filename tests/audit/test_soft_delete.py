"""Deleting a campaign or dataset version hides it everywhere; an admin restores it within the retention period."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from annotation.models import Campaign, CampaignStatus, Judgment
from audit.models import SoftDeletion
from dataversions.models import DatasetVersion
from tests.audit.conftest import records, submit_body
from tests.dataversions.conftest import create_version

pytestmark = pytest.mark.django_db
API = "/api/audit/deletions/"


def delete_campaign(client, campaign):
    return client.post(API, {"object_type": "annotation.campaign", "object_id": campaign.pk}, format="json")


def test_it_hides_a_deleted_campaign_from_lists_pages_and_the_api(campaign, lead, annotator, api_client_for,
                                                                  client_for):
    assert delete_campaign(api_client_for(lead), campaign).status_code == 201
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert Campaign._base_manager.get(pk=campaign.pk).status == CampaignStatus.CLOSED
    lead_api = api_client_for(lead)
    assert lead_api.get(f"/api/annotation/campaigns/{campaign.pk}/").status_code == 404
    assert campaign.pk not in [row["id"] for row in lead_api.get("/api/annotation/campaigns/").json()["results"]]
    assert client_for(lead).get(reverse("annotation:campaign", args=[campaign.pk])).status_code == 404
    assert campaign.name not in client_for(lead).get(reverse("annotation:index")).content.decode()
    # The work endpoints take no more work: 404, or on PostgreSQL's raw-SQL hot path 409 "closed" (a deleted
    # campaign is closed meanwhile, so the hot path needs no check of its own).
    served = api_client_for(annotator).post(f"/api/annotation/campaigns/{campaign.pk}/next/")
    assert served.status_code in (404, 409) and "item" not in served.json()
    (deleted,) = records("campaign.delete")
    assert deleted.actor == lead and deleted.changes == {"deleted": [False, True]}


def test_it_leaves_a_deleted_campaigns_judgments_out_of_datasets_and_agreement(campaign, lead, annotator,
                                                                             api_client_for):
    client = api_client_for(annotator)
    item = client.post(f"/api/annotation/campaigns/{campaign.pk}/next/").json()["item"]
    client.post(f"/api/annotation/assignments/{item['assignment']}/submit/", submit_body(item), format="json")
    assert Judgment.objects.counted().filter(campaign=campaign).count() == 1
    delete_campaign(api_client_for(lead), campaign)
    assert Judgment.objects.counted().filter(campaign=campaign).count() == 0
    assert Judgment.objects.filter(campaign=campaign).count() == 1  # kept, for a restore


def test_allows_admin_to_restore_a_deleted_campaign_as_it_was(campaign, lead, admin_user, api_client_for,
                                                              client_for):
    delete_campaign(api_client_for(lead), campaign)
    deletion = SoftDeletion.objects.get()
    page = client_for(admin_user).get(reverse("audit:deleted")).content.decode()
    assert campaign.name in page
    response = client_for(admin_user).post(reverse("audit:restore", args=[deletion.pk]))
    assert response.status_code == 302
    restored = Campaign.objects.get(pk=campaign.pk)
    assert restored.status == CampaignStatus.ACTIVE and restored.items.count() == 3
    (record,) = records("campaign.restore")
    assert record.actor == admin_user
    call_command("verify_audit")


@pytest.mark.parametrize("persona", ["lead", "reviewer", "annotator", "outsider"])
def test_denies_non_admins_the_restore_page_and_api(persona, request, campaign, lead, api_client_for, client_for):
    delete_campaign(api_client_for(lead), campaign)
    deletion = SoftDeletion.objects.get()
    user = request.getfixturevalue(persona)
    assert client_for(user).get(reverse("audit:deleted")).status_code == 403
    assert client_for(user).post(reverse("audit:restore", args=[deletion.pk])).status_code == 403
    assert api_client_for(user).get(API).status_code == 403
    assert api_client_for(user).post(f"{API}{deletion.pk}/restore/").status_code == 403
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


@pytest.mark.parametrize("persona", ["reviewer", "annotator", "outsider"])
def test_denies_non_leads_deleting(persona, request, campaign, api_client_for, client_for):
    user = request.getfixturevalue(persona)
    assert delete_campaign(api_client_for(user), campaign).status_code == 403
    url = reverse("audit:delete", args=["annotation.campaign", campaign.pk])
    assert client_for(user).post(url).status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_it_answers_unknown_objects_with_404_not_500(campaign, lead, api_client_for, client_for):
    client = api_client_for(lead)
    assert client.post(API, {"object_type": "auth.user", "object_id": lead.pk}, format="json").status_code == 404
    assert client.post(API, {"object_type": "annotation.campaign", "object_id": 999999},
                       format="json").status_code == 404
    assert client.post(API, {"object_type": "x", "object_id": "y"}, format="json").status_code == 400
    assert client_for(lead).post(reverse("audit:delete", args=["annotation.campaign", 999999])).status_code == 404
    delete_campaign(client, campaign)
    assert delete_campaign(client, campaign).status_code == 404  # already deleted: no longer a live campaign


def test_allows_lead_to_delete_from_the_campaign_page(campaign, lead, client_for):
    client = client_for(lead)
    page = client.get(reverse("annotation:campaign", args=[campaign.pk])).content.decode()
    assert reverse("audit:delete", args=["annotation.campaign", campaign.pk]) in page
    response = client.post(reverse("audit:delete", args=["annotation.campaign", campaign.pk]),
                           {"next": reverse("annotation:index")})
    assert response.status_code == 302 and response["Location"] == reverse("annotation:index")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_it_never_redirects_a_deletion_off_site(campaign, lead, client_for):
    response = client_for(lead).post(reverse("audit:delete", args=["annotation.campaign", campaign.pk]),
                                     {"next": "https://elsewhere.example.org/"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_it_hides_and_restores_a_dataset_version(lead, admin_user, api_client_for, pair_corpus):
    version = create_version()
    client = api_client_for(lead)
    assert client.post(API, {"object_type": "dataversions.datasetversion", "object_id": version.pk},
                       format="json").status_code == 201
    assert client.get(f"/api/datasets/versions/{version.pk}/").status_code == 404
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()
    deletion = SoftDeletion.objects.get()
    assert api_client_for(admin_user).post(f"{API}{deletion.pk}/restore/").status_code == 200
    assert client.get(f"/api/datasets/versions/{version.pk}/").status_code == 200


def test_it_purges_only_what_is_past_its_retention(campaign, lead, api_client_for, settings):
    settings.ALFA_SOFT_DELETE_RETENTION_DAYS = 30
    delete_campaign(api_client_for(lead), campaign)
    call_command("purge_deleted")
    assert Campaign._base_manager.filter(pk=campaign.pk).exists()  # within the retention: kept
    SoftDeletion.objects.update(deleted_at=timezone.now() - timedelta(days=31))
    deletion = SoftDeletion.objects.get()
    assert api_client_for(lead).post(f"{API}{deletion.pk}/restore/").status_code == 403
    call_command("purge_deleted")
    assert not Campaign._base_manager.filter(pk=campaign.pk).exists()
    assert not SoftDeletion.objects.exists()
    (purged,) = records("campaign.purge")
    assert purged.object_pk == str(campaign.pk)
    call_command("verify_audit")


def test_it_refuses_to_restore_after_the_retention(campaign, lead, admin_user, api_client_for):
    delete_campaign(api_client_for(lead), campaign)
    SoftDeletion.objects.update(deleted_at=timezone.now() - timedelta(days=31))
    deletion = SoftDeletion.objects.get()
    response = api_client_for(admin_user).post(f"{API}{deletion.pk}/restore/")
    assert response.status_code == 400 and "retention" in response.json()["detail"]
