"""No input gives a 500: the cases found by hand and by the fuzz suite (tests/test_api_fuzz.py), one test each.

Each answered 500 before its fix (on the database named in the test where only PostgreSQL failed).
"""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alfa_platform.jsonbody import MAX_JSON_DEPTH, nesting_exceeds, parse_json_text
from alfa_platform.params import parse_id
from annotation import gold
from annotation.models import BenchmarkRelease, GoldRevision, QualitySnapshot, RevisionKind
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db
GOLD = "/api/annotation/gold"


def deep(levels):
    return "[" * levels + "]" * levels


@pytest.fixture
def token_client():
    """An API client with a real token (the header path, not force_authenticate)."""
    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client
    return make


# --- JSON bodies -----------------------------------------------------------------------------------------------


def test_a_deeply_nested_body_answers_400_on_every_kind_of_json_endpoint(client, lead, make_campaign, make_case,
                                                                         token_client):
    campaign = make_campaign(n=2)
    case = make_case()
    body = '{"judgments": ' + deep(100_000) + "}"
    anonymous = client.post("/api/token/", body, content_type="application/json")  # DRF's own parser list
    assert anonymous.status_code == 400
    api = token_client(lead)
    for url in (f"/api/annotation/campaigns/{campaign.pk}/", "/api/annotation/campaigns/",
                f"{GOLD}/{case.pk}/edit/", "/api/synthesis/templates/", "/api/training/runs/"):
        response = api.generic("PATCH" if url.endswith(f"{campaign.pk}/") else "POST", url, body,
                               content_type="application/json")
        assert response.status_code == 400, url
        assert "nested deeper" in response.json()["detail"]


def test_a_deeply_nested_submission_answers_400_on_the_fast_path(make_campaign, annotator, token_client):
    campaign = make_campaign(n=2, annotators=[annotator])
    api = token_client(annotator)
    served = api.post(f"/api/annotation/campaigns/{campaign.pk}/next/").json()["item"]
    response = api.post(f"/api/annotation/assignments/{served['assignment']}/submit/",
                        '{"judgments": [' + deep(50_000) + "]}", content_type="application/json")
    assert response.status_code == 400


def test_nesting_is_measured_outside_strings():
    assert not nesting_exceeds(json.dumps({"text": "[" * 500}).encode())
    assert not nesting_exceeds(json.dumps([["\\\"[" * 100]]).encode())
    assert not nesting_exceeds(deep(MAX_JSON_DEPTH).encode())
    assert nesting_exceeds(deep(MAX_JSON_DEPTH + 1).encode())
    assert nesting_exceeds(('{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)).encode())


@pytest.mark.parametrize("body", ["[]", '["name"]', '"a string"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_answers_400(body, make_campaign, make_case, lead, token_client):
    campaign = make_campaign(n=1)
    case = make_case()
    api = token_client(lead)
    for url in (f"{GOLD}/{case.pk}/reopen/", f"/api/annotation/campaigns/{campaign.pk}/status/",
                "/api/annotation/campaigns/", "/api/token/"):
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content)


def test_a_nul_character_in_a_json_body_answers_400(make_case, lead, token_client):
    case = make_case()
    response = token_client(lead).post(f"{GOLD}/{case.pk}/reopen/", {"note": "a\u0000b"}, format="json")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_forms_and_uploaded_rows_refuse_too_deep_json_and_nul():
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json_text(deep(100_000))
    with pytest.raises(ValueError, match="NUL"):
        parse_json_text('{"a": ["x\\u0000"]}')
    assert parse_json_text('{"a": ["x\\\\u0000"]}') == {"a": ["x\\u0000"]}  # an escaped backslash, no NUL


def test_a_training_config_box_with_deep_json_is_a_form_error(db):
    from training.forms import RunFields

    form = RunFields(data={"config_json": '{"a": ' + deep(100_000) + "}"})
    form.is_valid()
    assert "nested deeper" in " ".join(form.errors.get("config_json", []))


def test_an_uploaded_row_nested_too_deep_is_a_row_error_not_a_500(make_campaign, lead, token_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    campaign = make_campaign(n=1)
    campaign.status = "draft"
    campaign.save(update_fields=["status"])
    data = jsonl([comparison_row(7)]) + b'{"id": ' + deep(100_000).encode() + b"}\n"
    response = token_client(lead).post(f"/api/annotation/campaigns/{campaign.pk}/import/",
                                       {"file": SimpleUploadedFile("rows.jsonl", data)}, format="multipart")
    assert response.status_code == 400, response.content
    assert "nested deeper" in response.content.decode()


# --- Numbers and ids ---------------------------------------------------------------------------------------------


def test_a_non_integer_seed_on_the_balance_page_is_refused_not_a_500(client_for, lead, make_case):
    make_case()
    client = client_for(lead)
    for seed in ("abc", "1.5", "²", "-1", str(2**64)):
        response = client.post("/annotation/gold/balance/", {"seed": seed})
        assert response.status_code == 302, seed
    assert not GoldRevision.objects.filter(kind=RevisionKind.REBALANCE).exists()
    assert token_is_bounded("/api/annotation/gold/rebalance/", lead)


def token_is_bounded(url, user):
    client = APIClient()
    client.force_authenticate(user)
    return all(client.post(url, {"seed": seed}, format="json").status_code == 400 for seed in ("x", 2**64, -1))


@pytest.mark.parametrize("time_ms", [2**31, 2**63, 10**30])
def test_an_unbounded_time_ms_on_a_blind_answer_answers_400(time_ms, make_case, reviewer, token_client, client_for):
    case = make_case()
    api = token_client(reviewer)
    response = api.post(f"{GOLD}/{case.pk}/blind-answer/", {"letter": "A", "time_ms": time_ms}, format="json")
    assert response.status_code == 400
    assert "time_ms" in response.json()
    page = client_for(reviewer).post(f"/annotation/gold/{case.pk}/", {"step": "blind", "letter": "A",
                                                                      "time_ms": str(time_ms)})
    assert page.status_code == 302
    assert not gold.BlindAnswer.objects.exists()


@pytest.mark.parametrize("value", ["²", "1²", str(10**30)])
def test_ids_in_query_strings_that_isdigit_accepts_but_int_refuses_are_ignored(value, lead, annotator, client_for,
                                                                               token_client):
    api = token_client(lead)
    assert api.get("/api/annotation/judgments/", {"campaign": value, "item": value}).status_code == 200
    assert api.get("/api/annotation/adjudications/", {"campaign": value}).status_code == 200
    assert api.get("/api/evaluation/leaderboard/", {"baseline": value}).status_code == 200
    assert client_for(lead).get("/annotation/adjudication/", {"campaign": value}).status_code == 200
    assert client_for(lead).get("/annotation/judgments/", {"campaign": value}).status_code == 200
    assert client_for(lead).get("/evaluation/leaderboard/", {"baseline": value}).status_code == 200


def test_parse_id_reads_ascii_digits_within_a_bigint_only():
    assert parse_id("42") == 42
    assert [parse_id(value) for value in ("²", "٣", "-1", "1.0", "", str(2**63), "9" * 30)] == [None] * 7


def test_a_gold_label_url_with_a_non_numeric_case_answers_404(reviewer, token_client):
    api = token_client(reviewer)
    assert api.get(f"{GOLD}/false/").status_code == 404
    assert api.post(f"{GOLD}/abc/sign-off/").status_code == 404


# --- Text the database cannot store ---------------------------------------------------------------------------


def test_nul_in_a_query_string_answers_400(lead, token_client):
    response = token_client(lead).get("/api/annotation/judgments/", {"annotator": "a\x00b"})
    assert response.status_code == 400


def test_nul_in_a_reopen_note_is_refused_by_the_api_and_the_page(make_case, reviewer, token_client, client_for):
    case = make_case()
    label = gold.get_or_create_gold(case, reviewer)
    label = complete_and_sign_off(label, reviewer)
    api = token_client(reviewer)
    assert api.post(f"{GOLD}/{case.pk}/reopen/", {"note": "x\x00y"}, format="multipart").status_code == 400
    client_for(reviewer).post(f"/annotation/gold/{case.pk}/", {"step": "reopen", "note": "x\x00y"})
    assert not GoldRevision.objects.filter(kind=RevisionKind.REOPEN).exists()


def complete_and_sign_off(label, user):
    from tests.annotation.test_gold import complete

    label = complete(label, user)
    label, _ = gold.do_sign_off(label, user)
    return label


def test_an_attribute_name_over_32_characters_is_refused_before_it_reaches_a_column(make_campaign, lead,
                                                                                     token_client, client_for):
    """The quality dashboard stored a snapshot under the asked attribute: varchar(32), a DataError on PostgreSQL."""
    campaign = make_campaign(n=2)
    long_name = "a" * 33
    api = token_client(lead)
    response = api.get(f"/api/annotation/campaigns/{campaign.pk}/quality/", {"attribute": long_name})
    assert response.status_code == 400
    assert "attribute" in response.json()
    assert client_for(lead).get(f"/annotation/campaigns/{campaign.pk}/dashboard/",
                                {"attribute": long_name}).status_code == 404
    assert api.get(f"/api/annotation/campaigns/{campaign.pk}/quality/", {"attribute": "a" * 32}).status_code == 200
    assert not QualitySnapshot.objects.filter(campaign=campaign, attribute=long_name).exists()


# --- Releases and rebalancing ------------------------------------------------------------------------------------


def test_a_release_name_with_a_line_break_is_refused_and_old_ones_download(make_case, lead, reviewer, client_for):
    label = complete_and_sign_off(gold.get_or_create_gold(make_case(), reviewer), reviewer)
    assert label.status == "signed_off"
    with pytest.raises(gold.GoldError, match="control characters"):
        gold.do_create_release("v1\r\nSet-Cookie: x=1", lead)
    api = APIClient()
    api.force_authenticate(lead)
    assert api.post("/api/annotation/releases/", {"name": "v1\r\nX: y"}, format="json").status_code == 400
    release = gold.do_create_release("v1", lead)
    BenchmarkRelease.objects.filter(pk=release.pk).update(name="v1\r\nSet-Cookie: x=1")  # made before the check
    response = client_for(lead).get(f"/annotation/releases/{release.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="mediq-askdocs-v1-Set-Cookie-x-1.jsonl"'


def test_rebalancing_after_a_concurrent_edit_keeps_every_revision_version_unique(make_case, lead, reviewer,
                                                                                monkeypatch):
    """An edit committed between rebalancing's read of the labels and its writes made it write a taken version.

    The interleaving is forced: the edit runs when rebalancing asks for its targets, after it read the labels.
    """
    cases = [make_case(case_id=f"t_abc-{index}", answer_idx="A") for index in range(4)]
    labels = [gold.get_or_create_gold(case, reviewer) for case in cases]
    for label in labels:
        gold.do_record_blind_answer(label, reviewer, "A")
    real_targets = gold.balanced_targets

    def targets_after_an_edit(count, seed):
        for label in labels:
            gold.do_set_initial_info(label, reviewer, "Edited while rebalancing read the labels.")
        return real_targets(count, seed)

    monkeypatch.setattr(gold, "balanced_targets", targets_after_an_edit)
    changed = gold.do_rebalance_options(lead, seed=3)
    assert changed >= 1
    for label in labels:
        versions = list(label.revisions.values_list("version", flat=True))
        assert len(versions) == len(set(versions))
        label.refresh_from_db()
        assert label.version == max(versions)
