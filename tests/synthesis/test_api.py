"""The synthesis API: leads only; queue jobs, read outputs, override verdicts, version templates, endpoints."""

import pytest

from jobs.models import JobStatus
from synthesis.models import ModelEndpoint, PreferencePair, PromptTemplate, Verdict

from .helpers import make_triple

pytestmark = pytest.mark.django_db

LISTS = ["/api/synthesis/attributes/", "/api/synthesis/templates/", "/api/synthesis/endpoints/",
         "/api/synthesis/rewrites/", "/api/synthesis/verifications/", "/api/synthesis/pairs/",
         "/api/synthesis/pairs/acceptance/"]


@pytest.fixture
def pairs(questions):
    make_triple(questions[0], "clarity", ranks={"enhanced": 1, "original": 1, "corrupted": 2})
    make_triple(questions[1], "focus")
    return PreferencePair.objects.all()


@pytest.mark.parametrize("url", LISTS)
def test_allows_lead_to_read_synthesis_lists(api_client_for, lead, pairs, url):
    assert api_client_for(lead).get(url).status_code == 200


@pytest.mark.parametrize("url", LISTS)
def test_denies_annotator_to_read_synthesis_data(api_client_for, annotator, url):
    assert api_client_for(annotator).get(url).status_code == 403


def test_denies_reviewer_to_queue_synthesis(api_client_for, reviewer, tiny_endpoint, questions):
    response = api_client_for(reviewer).post("/api/synthesis/jobs/synthesize/", {"endpoint": "tiny"}, format="json")
    assert response.status_code == 403


def test_allows_lead_to_queue_synthesis_and_read_its_rewrites(api_client_for, lead, tiny_endpoint, questions,
                                                             django_capture_on_commit_callbacks):
    client = api_client_for(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/synthesis/jobs/synthesize/", {
            "endpoint": "tiny", "attributes": ["accuracy"], "qids": ["t1-c1-q0"], "sampling": {"max_tokens": 6}},
            format="json")
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["kind"] == "synthesize" and job["queue"] == "default"
    status = client.get(f"/api/jobs/{job['id']}/").json()
    assert status["status"] == JobStatus.SUCCEEDED and status["result"]["generated"] == 3
    rewrites = client.get("/api/synthesis/rewrites/?qid=t1-c1-q0&attribute=accuracy").json()["results"]
    assert {r["direction"] for r in rewrites} == {"enhance_hindsight", "corrupt"}
    assert all(r["template"] and r["prompt_hash"] and r["model_name"] and r["tokens_out"] for r in rewrites)


def test_it_rejects_a_bad_synthesis_request_with_a_reason(api_client_for, lead, tiny_endpoint, questions):
    client = api_client_for(lead)
    bad = client.post("/api/synthesis/jobs/synthesize/", {"endpoint": "tiny", "directions": ["more"]}, format="json")
    assert bad.status_code == 400 and "directions" in bad.json()
    unknown = client.post("/api/synthesis/jobs/synthesize/", {"endpoint": "nope"}, format="json")
    assert unknown.status_code == 400 and "No active model endpoint" in unknown.json()["detail"]


def test_allows_lead_to_queue_verification_and_pair_building(api_client_for, lead, tiny_endpoint, pairs,
                                                             django_capture_on_commit_callbacks):
    client = api_client_for(lead)
    with django_capture_on_commit_callbacks(execute=True):
        verify = client.post("/api/synthesis/jobs/verify/", {"endpoint": "tiny", "attributes": ["focus"],
                                                             "max_attempts": 1}, format="json")
        build = client.post("/api/synthesis/jobs/build-pairs/", {"attributes": ["focus"]}, format="json")
    assert verify.status_code == 201 and build.status_code == 201
    assert client.get(f"/api/jobs/{build.json()['id']}/").json()["result"] == {"created": 0, "updated": 3}


def test_allows_lead_to_override_a_pair_through_the_api(api_client_for, lead, pairs):
    pair = pairs.get(pair_id="t1-c1-q0_clarity_enhanced_original")
    assert pair.verdict == Verdict.REJECTED  # a tie is not a preference
    client = api_client_for(lead)
    missing = client.post(f"/api/synthesis/pairs/{pair.pk}/override/", {"verdict": "accepted"}, format="json")
    assert missing.status_code == 400
    response = client.post(f"/api/synthesis/pairs/{pair.pk}/override/",
                           {"verdict": "accepted", "reason": "Clearer in context."}, format="json")
    body = response.json()
    assert (body["verdict"], body["judge_verdict"], body["overridden_by"]) == ("accepted", "rejected", "lena_lead")
    back = client.post(f"/api/synthesis/pairs/{pair.pk}/override/", {"verdict": ""}, format="json").json()
    assert back["verdict"] == "rejected" and back["override_verdict"] == ""


def test_it_filters_pairs_and_reports_acceptance(api_client_for, lead, pairs):
    client = api_client_for(lead)
    accepted = client.get("/api/synthesis/pairs/?verdict=accepted").json()["results"]
    assert {p["pair_type"] for p in accepted} == {"enhanced_corrupted", "original_corrupted"}
    assert accepted[0]["chosen"]["template"] and accepted[0]["context"][0]["role"] == "user"
    rows = client.get("/api/synthesis/pairs/acceptance/?attribute=clarity").json()
    assert [row["attribute"] for row in rows] == ["clarity"]
    assert {c["pair_type"]: c["rate"] for c in rows[0]["cells"]} == {
        "enhanced_corrupted": 100.0, "enhanced_original": 0.0, "original_corrupted": 100.0}


def test_it_lists_pairs_in_a_constant_number_of_queries(api_client_for, lead, pairs, questions,
                                                        django_assert_max_num_queries):
    client = api_client_for(lead)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/synthesis/pairs/").json()["results"]) == 6
    make_triple(questions[2], "relevance", ranks={"enhanced": 1, "original": 2, "corrupted": 3})
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/synthesis/pairs/").json()["results"]) == 9


def test_allows_lead_to_post_a_new_template_version(api_client_for, lead):
    current = PromptTemplate.objects.get(kind="enhance", attribute__key="focus", status="active")
    client = api_client_for(lead)
    response = client.post("/api/synthesis/templates/", {
        "kind": "enhance", "attribute": "focus", "system_text": current.system_text,
        "user_text": current.user_text + "\nOne sentence.", "placeholders": current.placeholders,
        "notes": "terser"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == current.version + 1 and response.json()["status"] == "active"
    bad = client.post("/api/synthesis/templates/", {
        "kind": "enhance", "attribute": "focus", "user_text": "{question} {secret}", "placeholders": ["question"]},
        format="json")
    assert bad.status_code == 400 and "not declared" in str(bad.json())
    lint = client.get(f"/api/synthesis/templates/{response.json()['id']}/lint/").json()
    assert lint == []


def test_allows_lead_to_patch_an_attribute_but_not_break_its_scale(api_client_for, lead):
    client = api_client_for(lead)
    ok = client.patch("/api/synthesis/attributes/clarity/", {"definition": "Plainly put."}, format="json")
    assert ok.status_code == 200 and ok.json()["definition"] == "Plainly put."
    bad = client.patch("/api/synthesis/attributes/clarity/", {"scale": ["a", "b"]}, format="json")
    assert bad.status_code == 400


def test_allows_admin_to_register_an_outside_endpoint_with_a_key_variable_name(api_client_for, admin_user):
    client = api_client_for(admin_user)
    response = client.post("/api/synthesis/endpoints/", {
        "name": "hosted", "backend": "openai_http", "model": "gpt-x", "base_url": "https://api.example.org/v1",
        "api_key_env": "ALFA_LLM_KEY_HOSTED", "default_sampling": {"temperature": 0.0}}, format="json")
    assert response.status_code == 201, response.json()
    assert ModelEndpoint.objects.get(name="hosted").api_key_env == "ALFA_LLM_KEY_HOSTED"
    bad = client.post("/api/synthesis/endpoints/", {
        "name": "leaky", "backend": "openai_http", "model": "m", "base_url": "https://api.example.org/v1",
        "api_key_env": "sk-abc-123"}, format="json")
    assert bad.status_code == 400 and "api_key_env" in bad.json()
