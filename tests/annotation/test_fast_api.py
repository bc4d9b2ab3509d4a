"""The lean next/submit endpoints (annotation/fast_api.py): the DRF actions' contract and checks, fewer statements.

The page's two hot endpoints are served by plain Django views built from DRF's authentication, permission,
negotiation, parsing and serializer classes; whatever they do not serve goes to the DRF actions. A lean answer is a
plain HttpResponse, a DRF answer a DRF Response: the tests tell them apart that way.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.response import Response

from alfa_platform.authentication import TokenAuthenticationWithRoles
from alfa_platform.roles import Role, roles_of
from annotation.assignment import fetch_campaign, fetch_own_assignment
from annotation.models import Assignment, Campaign, Judgment

pytestmark = pytest.mark.django_db
API = "/api/annotation"
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
CSRF_SECRET = "A" * 32  # a well-formed CSRF secret: cookie and header must carry the same


def token_client(user, **defaults):
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}", **defaults)


def post(client, url, body=None, **headers):
    return client.post(url, data=json.dumps(body if body is not None else {}), content_type="application/json",
                       headers=headers)


def lean(response):
    return not isinstance(response, Response)


def answers(item, pick="left", want_next=True, **extra):
    return {"judgments": [{"attribute": j["attribute"], "pick": pick, "time_ms": 1200, **extra}
                          for j in item["judgments"]], "duration_ms": 2000, "next": want_next}


def test_it_serves_next_and_submit_with_the_drf_actions_payload(make_campaign, annotator, api_client_for):
    campaign = make_campaign(n=3, annotators=[annotator], judgment_mode="both")
    client, drf = token_client(annotator), api_client_for(annotator)  # drf: force_authenticate, the DRF action
    served = post(client, f"{API}/campaigns/{campaign.pk}/next/")
    assert served.status_code == 200 and lean(served)
    again = post(client, f"{API}/campaigns/{campaign.pk}/next/?format=json")  # the same open one, through DRF
    assert not lean(again)
    assert served.json() == again.json()
    for header in ("Content-Type", "Vary", "Allow"):
        assert served[header] == again[header]
    item = served.json()["item"]
    assert set(item) == {"assignment", "campaign", "context", "left", "right", "judgments", "previous", "progress"}
    assert [j["attribute"] for j in item["judgments"]] == ["clarity", "overall"]

    following = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item, rationale=" why "))
    assert following.status_code == 200 and lean(following)
    assert following.json()["progress"] == {"done": 1, "assigned": 3, "skipped": 0}
    second = following.json()["item"]
    assert second["assignment"] != item["assignment"]
    assert drf.post(f"{API}/campaigns/{campaign.pk}/next/").json() == following.json()
    stored = Judgment.objects.filter(assignment_id=item["assignment"]).order_by("attribute")
    assert [(j.attribute, j.side, j.rationale, j.time_ms) for j in stored] == [
        ("clarity", "left", "why", 1200), ("overall", "left", "why", 1200)]
    assert Assignment.objects.get(pk=item["assignment"]).duration_ms == 2000

    alone = post(client, f"{API}/assignments/{second['assignment']}/submit/", answers(second, want_next=False))
    assert alone.status_code == 200 and lean(alone)
    assert alone.json() == {"item": None, "progress": {"done": 2, "assigned": 3, "skipped": 0}}
    twice = post(client, f"{API}/assignments/{second['assignment']}/submit/", answers(second))
    assert twice.status_code == 409 and lean(twice)
    assert twice.json() == {"detail": "This item was already submitted, skipped or expired."}
    assert Judgment.objects.filter(assignment_id=second["assignment"]).count() == 2


@postgres_only
def test_it_needs_few_statements_per_judgment(make_campaign, annotator):
    campaign = make_campaign(n=5, annotators=[annotator])
    client = token_client(annotator)
    item = post(client, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    ContentType.objects.get_for_model(Assignment)  # the audit record's type: cached for the life of a process
    with CaptureQueriesContext(connection) as queries:
        item = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item)).json()["item"]
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # auth with roles and the assignment with its item and campaign; submit (and member lock, and audit record);
    # claim and assign
    assert len(statements) == 3, statements
    with CaptureQueriesContext(connection) as queries:
        post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item, want_next=False))
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == 2


@postgres_only
def test_it_prepares_the_hot_statements(make_campaign, annotator):
    campaign = make_campaign(n=10, annotators=[annotator])
    client = token_client(annotator)
    item = post(client, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    for _ in range(7):  # prepare_threshold is 5
        item = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item)).json()["item"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("WITH claimed AS (UPDATE annotation_assignment" in sql for sql in prepared)
    assert any("FOR UPDATE OF i SKIP LOCKED" in sql for sql in prepared)
    assert any("authtoken_token" in sql for sql in prepared)


def test_it_serves_session_requests_only_with_the_csrf_token(make_campaign, annotator):
    campaign = make_campaign(n=2, annotators=[annotator])
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    refused = post(client, f"{API}/campaigns/{campaign.pk}/next/")
    assert refused.status_code == 403 and not lean(refused)
    assert "CSRF Failed" in refused.json()["detail"]
    assert not Assignment.objects.exists()
    client.cookies["csrftoken"] = CSRF_SECRET
    served = post(client, f"{API}/campaigns/{campaign.pk}/next/", X_CSRFTOKEN=CSRF_SECRET)
    assert served.status_code == 200 and lean(served)
    item = served.json()["item"]
    refused = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item))
    assert refused.status_code == 403 and "CSRF Failed" in refused.json()["detail"]
    submitted = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item),
                     X_CSRFTOKEN=CSRF_SECRET)
    assert submitted.status_code == 200 and lean(submitted)
    assert Judgment.objects.count() == 1


def test_denies_users_without_a_role_and_visitors(make_campaign, annotator, outsider):
    campaign = make_campaign(n=2, annotators=[annotator])
    item = post(token_client(annotator), f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    for client in (token_client(outsider), Client(), Client(HTTP_AUTHORIZATION="Token not-a-token")):
        for url, body in ((f"{API}/campaigns/{campaign.pk}/next/", {}),
                          (f"{API}/assignments/{item['assignment']}/submit/", answers(item))):
            response = post(client, url, body)
            assert response.status_code in (401, 403), (url, response.status_code)
            assert not lean(response)
    assert token_client(outsider).post(f"{API}/campaigns/{campaign.pk}/next/").json() == {
        "detail": "This endpoint needs the annotator role."}
    assert not Judgment.objects.exists()
    assert Assignment.objects.count() == 1


def test_denies_annotators_other_campaigns_and_assignments(make_campaign, annotator, second_annotator, lead):
    mine = make_campaign(n=2, annotators=[annotator], name="Mine")
    theirs = make_campaign(n=2, annotators=[second_annotator], name="Theirs")
    item = post(token_client(second_annotator), f"{API}/campaigns/{theirs.pk}/next/").json()["item"]
    client = token_client(annotator)
    for url in (f"{API}/campaigns/{theirs.pk}/next/", f"{API}/campaigns/999999/next/"):
        response = post(client, url)
        assert response.status_code == 404 and response.json() == {"detail": "No such campaign."}
    stolen = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item))
    assert stolen.status_code == 404 and not Judgment.objects.exists()
    uninvited_lead = post(token_client(lead), f"{API}/campaigns/{mine.pk}/next/")
    assert uninvited_lead.status_code == 404
    assert Assignment.objects.filter(annotator=annotator).count() == 0


def test_it_leaves_coercions_and_errors_to_the_drf_action(make_campaign, annotator):
    campaign = make_campaign(n=3, annotators=[annotator], judgment_mode="both")
    client = token_client(annotator)
    item = post(client, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    incomplete = {"judgments": [{"attribute": "clarity", "pick": "left"}], "next": True}
    refused = post(client, f"{API}/assignments/{item['assignment']}/submit/", incomplete)
    assert refused.status_code == 400 and not lean(refused) and "overall" in refused.json()["detail"]
    wrong_type = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item, time_ms=-5))
    assert wrong_type.status_code == 400 and "time_ms" in json.dumps(wrong_type.json())
    coerced = answers(item, time_ms="1500")  # DRF's IntegerField accepts the string: so does the lean view
    accepted = post(client, f"{API}/assignments/{item['assignment']}/submit/", coerced)
    assert accepted.status_code == 200 and lean(accepted)
    assert set(Judgment.objects.values_list("time_ms", flat=True)) == {1500}
    html = client.post(f"{API}/campaigns/{campaign.pk}/next/", headers={"Accept": "text/html"})
    assert html.status_code == 200 and not lean(html)  # the browsable API


@postgres_only
def test_it_loads_rows_as_the_orm_does(make_campaign, annotator, admin_user):
    campaign = make_campaign(n=2, annotators=[annotator], attribute_keys=["clarity", "focus"])
    item = post(token_client(annotator), f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    fetched = fetch_own_assignment(annotator, item["assignment"])
    reference = Assignment.objects.select_related("item", "campaign").get(pk=item["assignment"])
    for mine, theirs in ((fetched, reference), (fetched.item, reference.item), (fetched.campaign, reference.campaign),
                         (fetch_campaign(campaign.pk), Campaign.objects.get(pk=campaign.pk))):
        fields = type(theirs)._meta.concrete_fields
        assert [getattr(mine, f.attname) for f in fields] == [getattr(theirs, f.attname) for f in fields]
    assert fetched.item.turns == [{"question": "Is it raised?", "patient_answer": "Yes, a little."}]
    assert fetch_own_assignment(admin_user, item["assignment"]) is None
    for user in (annotator, admin_user):  # the one-statement token read against DRF's own (the ORM's)
        key = Token.objects.get_or_create(user=user)[0].key
        mine, token = TokenAuthenticationWithRoles().authenticate_credentials(key)
        reference = Token.objects.select_related("user").get(key=key)
        fields = [f for f in get_user_model()._meta.concrete_fields if f.attname not in ("password", "last_login",
                                                                                          "date_joined")]
        assert [getattr(mine, f.attname) for f in fields] == [getattr(reference.user, f.attname) for f in fields]
        assert token.created == reference.created
        assert roles_of(mine) == set(reference.user.groups.values_list("name", flat=True)) | (
            {Role.ADMIN} if user.is_superuser else set())
    assert Role.ADMIN in roles_of(mine)
    from annotation.assignment import AssignmentStore
    from annotation.sql.postgresql import PostgresAssignmentStore

    key = Token.objects.get(user=annotator).key
    for pk in (item["assignment"], 999_999):  # the token statement with the assignment, against the ORM's two
        (user, groups, created), own = PostgresAssignmentStore().token_user_with_own_assignment(key, pk)
        (_, orm_groups, orm_created), orm_own = AssignmentStore().token_user_with_own_assignment(key, pk)
        assert (user.pk, groups, created) == (annotator.pk, orm_groups, orm_created)
        assert (own and own.pk, own and own.item.pk, own and own.campaign.pk) == (
            orm_own and orm_own.pk, orm_own and orm_own.item.pk, orm_own and orm_own.campaign.pk)
    _, stolen = PostgresAssignmentStore().token_user_with_own_assignment(Token.objects.get(user=admin_user).key,
                                                                         item["assignment"])
    assert stolen is None  # another user's assignment is never read with a token


@postgres_only
def test_it_draws_the_sides_in_sql_as_left_is_a_for_does(make_campaign, annotator):
    from annotation.sql.postgresql import LEFT_IS_A_SQL

    campaign = make_campaign(n=40, annotators=[annotator])
    items = list(campaign.items.all())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.id, {LEFT_IS_A_SQL} FROM annotation_comparisonitem t WHERE t.campaign_id = "
                       "%(campaign)s ORDER BY t.id", {"seed": campaign.seed, "user": annotator.pk,
                                                      "campaign": campaign.pk})
        in_sql = dict(cursor.fetchall())
    in_python = {item.pk: item.left_is_a_for(annotator.pk) for item in items}
    assert in_sql == in_python
    assert 5 < sum(in_python.values()) < 35  # both sides drawn
    client = token_client(annotator)
    item = post(client, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    for _ in range(5):
        item = post(client, f"{API}/assignments/{item['assignment']}/submit/", answers(item)).json()["item"]
    for assignment in Assignment.objects.filter(annotator=annotator).select_related("item__campaign"):
        assert assignment.left_is_a == assignment.item.left_is_a_for(annotator.pk)
