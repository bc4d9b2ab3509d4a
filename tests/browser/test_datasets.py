"""A lead creates a dataset version in the browser, reads its card, exports it and downloads a TRL JSONL file."""

import json
from pathlib import Path

import pytest

from dataversions.models import DatasetExport, DatasetVersion, ExportStatus, VersionStatus
from tests.dataversions.conftest import pair_corpus  # noqa: F401
from tests.synthesis.conftest import catalogue  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_lead_creates_a_version_reads_its_card_and_downloads_an_export(page, live_server, login, lead, pair_corpus,  # noqa: F811
                                                                         start_worker, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the worker writes exports where this server reads them
    start_worker(ALFA_VAR_DIR=tmp_path)
    login(page, lead)
    page.click("header >> text=Datasets")
    page.fill("input[name=name]", "clarity-pairs")
    page.fill("textarea[name=description]", "Clarity pairs for a first DPO run.")
    page.check("input[name=attributes][value=clarity]")
    page.check("input[name=verdict][value=unfiltered]")
    page.click("#version-form button[type=submit]")

    page.wait_for_url("**/datasets/v/*/#version-status")
    # The freeze runs on the worker; the status fragment polls and reloads the page when the rows are frozen.
    page.wait_for_selector("#version-card", timeout=60_000)
    version = DatasetVersion.objects.get(dataset__name="clarity-pairs")
    assert version.status == VersionStatus.READY and version.row_count == 18
    card = page.inner_text("#card-body")
    assert "Clarity pairs for a first DPO run." in card and "CC BY 4.0" in card and "Known limitations" in card
    assert page.inner_text("#content-hash") == version.content_hash
    assert page.locator("#chart-split .track").count() == 3

    page.click("button[data-export='trl/jsonl']")
    page.wait_for_url("**/datasets/exports/*/")
    page.wait_for_selector("#download-all", timeout=60_000)
    assert DatasetExport.objects.get().status == ExportStatus.DONE
    with page.expect_download() as download:
        page.click("#file-table a:has-text('train.jsonl')")
    rows = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    assert len(rows) == 12 and all(row["attribute"] == "clarity" and row["split"] == "train" for row in rows)
    assert all(isinstance(row[key], str) and row[key] for row in rows for key in ("prompt", "chosen", "rejected"))
