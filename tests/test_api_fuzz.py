"""The OpenAPI fuzz suite: every operation of the schema, as every role, through Django's WSGI app in process.

schemathesis generates requests from the schema drf-spectacular serves (valid and invalid bodies, query strings and
path parameters) and fails on any 5xx and on any documented response whose body breaks its schema. It runs on SQLite
in `make test` and on PostgreSQL in `.ci/run` (the whole suite runs twice). Bounded and reproducible: FUZZ_EXAMPLES
generated cases per operation and role (the examples and fuzzing phases; the coverage phase alone sends ~20 times as
many), derandomized, no deadline. Half the generated path ids are swapped for the id of a real object (a campaign
with items and a served assignment, a gold label, a job, an endpoint...), so updates, deletes, submissions and
exports run on real rows, destructively: each test has its own rolled-back database.

Counting what it covers: `FUZZ_REPORT=1 .venv/bin/pytest tests/test_api_fuzz.py -q -s` prints operations and requests.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role
from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import do_assign_next_item
from annotation.gold import get_or_create_gold
from annotation.models import CampaignStatus, JudgmentMode
from jobs.models import Job
from synthesis.models import Backend, ModelEndpoint
from tests.annotation.conftest import comparison_row, jsonl
from tests.annotation.factories import create_case

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = 10
ROLES = ["admin", "lead", "annotator", "anonymous"]
SENT = {"requests": 0, "operations": set()}

CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture
def in_process_requests():
    """Keep the test's database connection open across requests, as Django's test client does.

    Django's handler closes connections when a request ends; here that would close the connection holding the
    test's transaction.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(role, settings, in_process_requests):
    """One user per role (token auth, as API clients use), and one real object behind each kind of path id."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {name: create_user_with_role(f"fuzz_{name}", Role(name), password="fuzz password 1234")
             for name in ("admin", "lead", "annotator")}
    campaign = do_create_campaign(name="Fuzzed", created_by=users["lead"], annotators=[users["annotator"]],
                                  judgment_mode=JudgmentMode.PER_ATTRIBUTE, overlap=2, gold_rate=0.0)
    do_import_items(campaign, jsonl([comparison_row(index) for index in range(4)]))
    do_set_campaign_status(campaign, CampaignStatus.ACTIVE)
    assignment = do_assign_next_item(campaign, users["annotator"])
    case = create_case()
    get_or_create_gold(case)
    endpoint = ModelEndpoint.objects.create(name="fuzzed", backend=Backend.OPENAI_HTTP, model="m",
                                            base_url="http://127.0.0.1:9/v1")
    job = Job.objects.create(kind="annotation_add_pairs", params={}, owner=users["lead"])
    user = users.get(role)
    targets = {
        "/api/annotation/campaigns/": campaign.pk, "/api/annotation/assignments/": assignment.pk,
        "/api/annotation/gold/": case.pk, "/api/corpus/mcqs/": case.pk, "/api/corpus/threads/": case.thread.thread_id,
        "/api/corpus/posts/": case.thread.post.post_id, "/api/synthesis/endpoints/": endpoint.pk,
        "/api/synthesis/attributes/": "clarity", "/api/jobs/": job.pk, "/api/tokens/": user.pk if user else 1,
    }
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"} if user else {}
    return headers, targets


def aim(case, targets):
    """Swap about half the generated path ids (deterministically) for the id of the real object of that path."""
    if not case.path_parameters:
        return
    for prefix, real in targets.items():
        if case.path.startswith(prefix):
            name = next(iter(case.path_parameters))
            if len(repr(case.path_parameters[name])) % 2 == 0:
                case.path_parameters[name] = real
            return


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_breaks_its_schema(case, world):
    headers, targets = world
    aim(case, targets)
    SENT["requests"] += 1
    SENT["operations"].add(f"{case.method} {case.path}")
    case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])


def test_the_fuzz_suite_covers_every_operation_of_the_schema():
    """Guards the claim in the README: every operation is fuzzed (none filtered out, none failed to load)."""
    loaded = [result.ok() for result in schema.get_all_operations()]
    assert len(loaded) == sum(1 for operations in schema.raw_schema["paths"].values() for method in operations
                              if method in {"get", "put", "post", "patch", "delete"})
    if os.environ.get("FUZZ_REPORT"):
        print(f"\nfuzz suite: {len(loaded)} operations x {len(ROLES)} roles; requests sent in this run: "
              f"{SENT['requests']} over {len(SENT['operations'])} operations")
