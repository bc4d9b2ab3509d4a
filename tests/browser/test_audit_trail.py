"""An admin filters the audit trail in the browser, exports it as CSV, and restores a deleted campaign."""

import csv
import io
from pathlib import Path

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import Campaign
from audit.recording import record_event
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.browser


def test_admin_filters_the_trail_exports_it_and_restores_a_deleted_campaign(page, live_server, login, admin_user,
                                                                            lead, annotator):
    campaign = do_create_campaign(name="Browser audited", created_by=lead, annotators=[annotator])
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(2)]))
    do_set_campaign_status(campaign, "active")
    record_event(annotator, "test.by_annotator", after={"n": 1}, actor=annotator)

    login(page, lead)
    page.goto(f"{live_server.url}/annotation/campaigns/{campaign.pk}/")
    assert "campaign.import" in page.inner_text("#history")
    page.click("form.delete-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/annotation/")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    page.click("form.logout button[type=submit]")

    login(page, admin_user)
    page.click("header >> text=Audit trail")
    page.fill("#trail-filters input[name=user]", lead.username)
    page.select_option("#trail-filters select[name=object_type]", "annotation.campaign")
    page.click("#trail-filters button[type=submit]")
    page.wait_for_url("**/audit/?*user=*")
    rows = page.locator("#audit-records tbody tr")
    whats = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    # the lead's deletion, and the campaign closing with it; not the setup's import (no user) nor others' records
    assert sorted(whats) == ["annotation.campaign.update", "campaign.delete"]
    assert {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())} == {lead.username}

    with page.expect_download() as download:
        page.click("#trail-export")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {row["user"] for row in exported} == {lead.username} and len(exported) == len(whats)

    page.goto(f"{live_server.url}/audit/deleted/")
    page.click(f"#deleted-table tr:has-text('{campaign.name}') button:has-text('Restore')")
    page.wait_for_url(f"{live_server.url}/annotation/campaigns/{campaign.pk}/")
    assert Campaign.objects.get(pk=campaign.pk).status == "active"
