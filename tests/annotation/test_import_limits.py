"""Comparison-item uploads (issue 13): gzip inflated within caps, never whole in memory; a truncated file is a row
error (400), not a 500."""

import gzip
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.actions import ImportRejected, do_create_campaign, do_import_items
from tests.annotation.conftest import comparison_row, jsonl
from tests.corpus.test_upload_limits import bomb

pytestmark = pytest.mark.django_db


def test_an_annotation_upload_bomb_is_refused_without_inflating_it_in_memory(lead):
    campaign = do_create_campaign(name="Bomb", created_by=lead)
    data = bomb(120, byte=b"\0")
    tracemalloc.start()
    try:
        with pytest.raises(ImportRejected) as rejected:
            do_import_items(campaign, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MB: the upload was inflated whole"
    assert "gzip bomb" in str(rejected.value.errors[0])


def test_a_truncated_gzip_annotation_upload_gives_a_row_error_not_a_500(lead, api_client_for, client_for):
    campaign = do_create_campaign(name="Truncated", created_by=lead)
    whole = gzip.compress(jsonl([comparison_row(i) for i in range(200)]))
    truncated = whole[: len(whole) // 2]
    api = api_client_for(lead).post(f"/api/annotation/campaigns/{campaign.pk}/import/",
                                    {"file": SimpleUploadedFile("items.jsonl.gz", truncated)}, format="multipart")
    assert api.status_code == 400
    error = api.json()["errors"][-1]
    assert error["line"] >= 1 and "truncated gzip" in error["message"]
    page = client_for(lead).post(reverse("annotation:campaign-import", args=[campaign.pk]),
                                 {"file": SimpleUploadedFile("items.jsonl.gz", truncated)})
    assert page.status_code == 400
    assert "truncated gzip" in page.content.decode()
