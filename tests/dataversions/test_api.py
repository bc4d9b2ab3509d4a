"""The datasets API: leads only; create from a filter (400 on a bad one), rows, card, diff, export and download."""

import io
import json
import zipfile

import pytest

from dataversions.models import DatasetVersion

from .conftest import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def create(client, **selection):
    with run_queued_jobs():
        return client.post("/api/datasets/versions/", {"name": "pairs", "selection": {
            "kind": "preference", "verdict": "unfiltered", **selection}}, format="json")


@pytest.mark.parametrize("who", ["annotator", "reviewer", "outsider"])
def test_denies_non_leads_to_use_the_datasets_api(request, api_client_for, pair_corpus, who):
    client = api_client_for(request.getfixturevalue(who))
    assert client.get("/api/datasets/versions/").status_code == 403
    assert create(client).status_code == 403


def test_allows_lead_to_create_a_version_and_read_its_rows_card_and_diff(api_client_for, lead, pair_corpus):
    client = api_client_for(lead)
    response = create(client)
    assert response.status_code == 202, response.json()
    first = response.json()["id"]
    detail = client.get(f"/api/datasets/versions/{first}/").json()
    assert detail["status"] == "ready" and detail["row_count"] == 36 and len(detail["content_hash"]) == 64
    rows = client.get(f"/api/datasets/versions/{first}/rows/?split=test&attribute=focus").json()
    assert rows["count"] == 3 and all(r["split"] == "test" for r in rows["results"])
    assert client.get(f"/api/datasets/versions/{first}/card/").json()["card"].startswith("---\nlicense:")
    second = create(client, attributes=["clarity"]).json()["id"]
    diff = client.get(f"/api/datasets/versions/{second}/diff/?against={first}").json()
    assert diff == {**diff, "added": 0, "removed": 18, "kept": 18}


@pytest.mark.parametrize(("selection", "key", "message"), [
    ({"attributes": ["kindness"]}, "attributes", "Unknown attribute(s): kindness"),
    ({"seed": "abc"}, "seed", "seed must be a whole number."), ({"splits": "train"}, "splits", "splits must be a list"),
    ({"colour": "red"}, "non_field_errors", "Unknown Selection option(s): colour."),
])
def test_it_answers_a_bad_filter_with_400_naming_the_option(api_client_for, lead, pair_corpus, selection, key,
                                                             message):
    response = create(api_client_for(lead), **selection)
    assert response.status_code == 400 and message in response.json()["selection"][key][0]
    assert not DatasetVersion.objects.exists()


def test_it_answers_a_filter_that_selects_no_rows_with_400(api_client_for, lead, pair_corpus):
    response = create(api_client_for(lead), splits=["test"], attributes=["answerability"])
    assert response.status_code == 400
    assert "selects no rows" in response.json()["selection"]["non_field_errors"][0]


def test_allows_lead_to_export_and_download_a_zip(api_client_for, lead, pair_corpus):
    client = api_client_for(lead)
    version = create(client).json()["id"]
    with run_queued_jobs():
        made = client.post(f"/api/datasets/versions/{version}/export/", {"format": "trl", "files": "jsonl"},
                           format="json")
    assert made.status_code == 202
    export = client.get(f"/api/datasets/exports/{made.json()['id']}/").json()
    assert export["status"] == "done" and "train.jsonl" in export["manifest"]
    assert not export["folder"].startswith("/")
    download = client.get(f"/api/datasets/exports/{export['id']}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    train = next(name for name in archive.namelist() if name.endswith("train.jsonl"))
    assert json.loads(archive.read(train).splitlines()[0])["chosen"]
    bad = client.post(f"/api/datasets/versions/{version}/export/", {"format": "mediq"}, format="json")
    assert bad.status_code == 400 and "exports as" in bad.json()["detail"][0]
