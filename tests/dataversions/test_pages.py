"""The dataset pages: leads only; create a version from the form, read it, browse rows, diff, export, download."""

import json

import pytest
from django.test import TestCase
from django.urls import reverse

from corpus.models import Post
from dataversions import views
from dataversions.models import Dataset, DatasetExport, DatasetVersion, ExportStatus, VersionStatus
from dataversions.selection import Selection
from jobs.configs import flat_options
from synthesis.models import PreferencePair

from .conftest import create_version, run_queued_jobs

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def version(pair_corpus):
    return create_version(verdict="unfiltered")


@pytest.fixture
def export(version):
    from dataversions.actions import do_export_version

    with run_queued_jobs():
        made = do_export_version(version, "trl", "jsonl")
    made.refresh_from_db()
    assert made.status == ExportStatus.DONE, made.error
    return made


def form_data(**overrides):
    """Return the new-version form as a browser posts it with its defaults, changed by `overrides`."""
    data = {"name": "pairs", "description": ""}
    for option in flat_options(Selection):
        data[option.name] = option.default
    return {**data, **overrides}


def post_form(client, **overrides):
    with run_queued_jobs():
        return client.post(reverse("dataversions:list"), form_data(**overrides))


def page_urls(version, export):
    return [reverse("dataversions:list"), reverse("dataversions:dataset", args=[version.dataset.name]),
            reverse("dataversions:version", args=[version.pk]),
            reverse("dataversions:version-status", args=[version.pk]),
            reverse("dataversions:version-card", args=[version.pk]),
            reverse("dataversions:version-rows", args=[version.pk]),
            reverse("dataversions:version-diff", args=[version.pk]),
            reverse("dataversions:export", args=[export.pk]),
            reverse("dataversions:export-status", args=[export.pk]),
            reverse("dataversions:export-download", args=[export.pk])]


def test_allows_lead_to_open_every_dataset_page(client_for, lead, export):
    client = client_for(lead)
    for url in page_urls(export.version, export):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["annotator", "reviewer", "outsider"])
def test_denies_non_leads_to_open_dataset_pages(request, client_for, export, who):
    client = client_for(request.getfixturevalue(who))
    for url in page_urls(export.version, export):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("dataversions:version-export", args=[export.version.pk]),
                       {"format": "trl-conversational", "files": "jsonl"}).status_code == 403
    assert post_form(client, name="theirs").status_code == 403
    assert not Dataset.objects.filter(name="theirs").exists() and DatasetExport.objects.count() == 1


def test_denies_anonymous_visitors_and_sends_them_to_log_in(client, export):
    for url in page_urls(export.version, export):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_it_links_datasets_in_the_navigation_for_leads_only(client_for, lead, annotator):
    assert 'href="/datasets/"' in client_for(lead).get("/").content.decode()
    assert 'href="/datasets/"' not in client_for(annotator).get("/").content.decode()


def test_it_shows_every_option_with_its_help_default_and_checkboxes(client_for, lead, catalogue):
    html = client_for(lead).get(reverse("dataversions:list")).content.decode()
    for option in flat_options(Selection):
        assert f'id="option-{option.name}"' in html
    assert "Seeds the row order within each split." in html and "Default: thread-v1." in html
    assert "Default: train, validation, test." in html
    for n, key in enumerate(("clarity", "focus", "answerability")):  # each checkbox inside its own label
        assert f'<label for="id_attributes_{n}"><input type="checkbox" name="attributes" value="{key}"' in html
    assert '<input type="checkbox" name="splits" value="test" id="id_splits_2" checked>' in html
    assert 'type="radio" name="verdict" value="filtered"' in html and 'value="post-nosys-v1"' in html


def test_allows_lead_to_create_a_version_and_lands_on_its_page(client_for, lead, pair_corpus):
    client = client_for(lead)
    response = post_form(client, description="Fine-grained pairs", attributes=["focus"], verdict="unfiltered",
                         seed=7)
    version = DatasetVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == version.get_absolute_url() + "#version-status"
    version.refresh_from_db()
    assert version.status == VersionStatus.READY and version.row_count == 18 and version.seed == 7
    assert version.selection["attributes"] == ["focus"] and version.created_by == lead
    html = client.get(response["Location"]).content.decode()
    assert version.content_hash in html and 'id="chart-split"' in html and 'id="chart-pair_type"' in html
    assert "<h2>Sources and licence</h2>" in html and "<table>" in html  # the card as HTML, its tables too
    assert "license: cc-by-4.0" in html and "Fine-grained pairs" in html
    assert f'href="{version.job.get_absolute_url()}"' in html
    for template in version.templates.all():
        assert f'href="{template.get_absolute_url()}"' in html


def test_it_draws_count_bars_relative_to_the_largest(client_for, lead, version):
    html = client_for(lead).get(version.get_absolute_url()).content.decode()
    assert 'aria-label="train: 24 rows"' in html and 'style="width:100.0%"' in html
    assert 'aria-label="test: 6 rows"' in html and 'style="width:25.0%"' in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"splits": []}, "Select at least one split."),
    ({"seed": 2**63}, "seed must be at most 9223372036854775807."),
    ({"attributes": ["telepathy"]}, "Unknown attribute(s): telepathy; known:"),
    ({"name": "Not a slug!"}, "Enter a valid “slug”"),
])
def test_it_shows_a_bad_filter_on_the_form_and_creates_nothing(client_for, lead, pair_corpus, overrides, message):
    response = post_form(client_for(lead), **overrides)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Dataset.objects.exists()


def test_it_refuses_a_filter_that_selects_no_rows_on_the_form(client_for, lead, pair_corpus):
    response = post_form(client_for(lead), splits=["test"], attributes=["answerability"])
    assert response.status_code == 200 and "The filter selects no rows" in response.content.decode()
    assert not Dataset.objects.exists()


def test_it_refuses_another_kind_under_an_existing_name(client_for, lead, version):
    response = post_form(client_for(lead), name=version.dataset.name, kind="sft")
    assert "holds preference versions, not sft" in response.content.decode()
    assert DatasetVersion.objects.count() == 1


def test_it_starts_a_new_version_from_an_earlier_filter(client_for, lead, pair_corpus):
    first = create_version(attributes=["focus"], pair_types=["enhanced_corrupted"], seed=3)
    form = client_for(lead).get(reverse("dataversions:list") + f"?from={first.pk}").context["form"]
    assert form.initial["name"] == "pairs" and form.initial["seed"] == 3
    assert form.initial["attributes"] == ["focus"] and form.initial["pair_types"] == ["enhanced_corrupted"]


def test_a_building_version_page_polls_and_reloads_once_built(client_for, lead, pair_corpus):
    from dataversions.actions import do_create_version

    client = client_for(lead)
    with TestCase.captureOnCommitCallbacks() as queued:
        version = do_create_version("pairs", {"kind": "preference"}, lead)
    html = client.get(version.get_absolute_url()).content.decode()
    status_url = reverse("dataversions:version-status", args=[version.pk])
    assert f'hx-get="{status_url}"' in html and "Building" in html and 'id="version-card"' not in html
    assert "HX-Refresh" not in client.get(status_url)
    for callback in queued:
        callback()
    version.refresh_from_db()
    assert version.status == VersionStatus.READY
    assert client.get(status_url)["HX-Refresh"] == "true"
    assert 'hx-get="' not in client.get(version.get_absolute_url()).content.decode()


def test_it_offers_an_export_button_for_every_format_of_the_kind(client_for, lead, version):
    html = client_for(lead).get(version.get_absolute_url()).content.decode()
    for name in ("trl", "trl-conversational", "authors"):
        for files in ("jsonl", "parquet", "hf"):
            assert f'data-export="{name}/{files}"' in html
    assert 'data-export="sft/' not in html and 'data-export="mediq/' not in html


def test_allows_lead_to_export_and_download_each_file(client_for, lead, version):
    client = client_for(lead)
    with run_queued_jobs():
        response = client.post(reverse("dataversions:version-export", args=[version.pk]),
                               {"format": "trl", "files": "jsonl"})
    export = DatasetExport.objects.get()
    assert response["Location"] == export.get_absolute_url() and export.status == ExportStatus.DONE
    html = client.get(response["Location"]).content.decode()
    for name, entry in export.manifest.items():
        assert entry["sha256"] in html and f"?file={name}" in html.replace("%2F", "/")
    assert f'href="{export.job.get_absolute_url()}"' in html and "Download all (zip)" in html
    body = b"".join(client.get(reverse("dataversions:export-download", args=[export.pk]) + "?file=train.jsonl")
                    .streaming_content)
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert len(rows) == 24 and {"prompt", "chosen", "rejected"} <= rows[0].keys()


def test_it_explains_an_export_the_kind_does_not_have(client_for, lead, version):
    client = client_for(lead)
    response = client.post(reverse("dataversions:version-export", args=[version.pk]),
                           {"format": "sft", "files": "jsonl"}, follow=True)
    assert "A preference version exports as trl, trl-conversational, authors, not sft." in response.content.decode()
    assert not DatasetExport.objects.exists()


def test_an_unfinished_export_page_polls_its_status(client_for, lead, version):
    from dataversions.actions import do_export_version

    with TestCase.captureOnCommitCallbacks():
        export = do_export_version(version, "trl", "parquet")
    client = client_for(lead)
    status_url = reverse("dataversions:export-status", args=[export.pk])
    html = client.get(export.get_absolute_url()).content.decode()
    assert f'hx-get="{status_url}"' in html and "Download all" not in html
    assert client.get(reverse("dataversions:export-download", args=[export.pk])).status_code == 404


def test_it_browses_rows_50_a_page_with_filters(client_for, lead, version, monkeypatch):
    client = client_for(lead)
    url = reverse("dataversions:version-rows", args=[version.pk])
    html = client.get(url).content.decode()
    assert "36 rows" in html and html.count('class="card row"') == 36 and "Chosen" in html
    assert 'class="bubble patient"' in html and "Instructions" in html  # the prompt's messages as a chat
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 10)
    paged = client.get(url + "?split=train&page=2").content.decode()
    assert "24 rows · page 2 of 3" in paged and paged.count('class="card row"') == 10
    assert "?split=train&amp;page=3" in paged
    filtered = client.get(url + "?split=test&attribute=focus&pair_type=enhanced_corrupted").content.decode()
    assert "1 row" in filtered and filtered.count('class="card row"') == 1
    row_id = version.rows.order_by("position").first().row_id
    assert client.get(url + f"?q={row_id}").context["page"].paginator.count == 1


def test_it_escapes_user_text_on_the_rows_and_version_pages(client_for, lead, pair_corpus):
    Post.objects.update(body=f"My head hurts {SCRIPT}")
    PreferencePair.objects.update(chosen_text=f"Vision changes? {SCRIPT}")
    version = create_version(verdict="unfiltered")
    Dataset.objects.update(description=f"Pairs {SCRIPT}")
    client = client_for(lead)
    rows = client.get(reverse("dataversions:version-rows", args=[version.pk])).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in rows and SCRIPT not in rows
    page = client.get(version.get_absolute_url()).content.decode()
    assert SCRIPT not in page and "Pairs" in page  # the card's Markdown is sanitized: the script is dropped
    assert SCRIPT not in client.get(reverse("dataversions:list")).content.decode()


def test_it_diffs_two_versions_by_rows_and_counts(client_for, lead, pair_corpus):
    everything = create_version(verdict="unfiltered")
    accepted = create_version()  # the next version of the same dataset: accepted pairs only
    removed = everything.row_count - accepted.row_count
    assert removed > 0
    client = client_for(lead)
    response = client.get(reverse("dataversions:version-diff", args=[accepted.pk]))
    assert response.context["against"] == everything  # the previous version by default
    html = response.content.decode()
    assert f'id="diff-removed">{removed}<' in html and 'id="diff-added">0<' in html
    assert f'id="diff-kept">{accepted.row_count}<' in html and "Counts side by side" in html
    assert f">-{removed}</td>" in html
    back = client.get(reverse("dataversions:version-diff", args=[everything.pk]) + f"?against={accepted.pk}")
    assert f'id="diff-added">{removed}<' in back.content.decode()
    same = create_version("copy", verdict="unfiltered")
    assert "Same content" in client.get(
        reverse("dataversions:version-diff", args=[same.pk]) + f"?against={everything.pk}").content.decode()
    assert "No built version with that id." in client.get(
        reverse("dataversions:version-diff", args=[same.pk]) + "?against=999999").content.decode()


def test_it_shows_sft_rows_as_a_chat_and_their_completion(client_for, lead, pair_corpus):
    version = create_version("sft", kind="sft")
    client = client_for(lead)
    html = client.get(version.get_absolute_url()).content.decode()
    assert 'data-export="sft/parquet"' in html and 'data-export="authors-sft/hf"' in html
    assert 'data-export="trl/' not in html
    rows = client.get(reverse("dataversions:version-rows", args=[version.pk])).content.decode()
    assert "6 rows" in rows and "<dt>completion</dt><dd>Any vision changes before the pain starts?</dd>" in rows
    assert 'class="bubble patient"' in rows and "Chosen" not in rows


def test_it_offers_jsonl_only_for_a_format_without_a_schema(client_for, lead, catalogue):
    from tests.annotation.factories import create_case

    create_case("t_a-0")
    version = create_version("mediq", kind="interactive")
    html = client_for(lead).get(version.get_absolute_url()).content.decode()
    assert 'data-export="mediq/jsonl"' in html and 'data-export="mediq/parquet"' not in html
    assert "<dt>options</dt>" in client_for(lead).get(
        reverse("dataversions:version-rows", args=[version.pk])).content.decode()


def test_it_shows_where_an_imported_version_came_from(client_for, lead, catalogue, tmp_path):
    from dataversions.imports import do_import_dataset

    source = tmp_path / "train.jsonl"
    source.write_text(json.dumps({"prompt": "Patient: my calf is red", "chosen": "Since when?",
                                  "rejected": "Anything else?"}) + "\n")
    version = do_import_dataset(source, "published", lead)
    html = client_for(lead).get(version.get_absolute_url()).content.decode()
    assert "Imported from <code>train.jsonl</code>" in html and version.lineage["source"]["sha256"] in html
    assert "None: imported rows." in html and 'data-export="trl/jsonl"' in html
