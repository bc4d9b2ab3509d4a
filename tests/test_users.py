"""Users, roles and API tokens."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from alfa_platform.roles import Role, has_role
from alfa_platform.users import create_user_with_role

pytestmark = pytest.mark.django_db


def test_role_hierarchy_admin_is_lead_and_lead_may_review(admin_user, lead, reviewer, annotator, outsider):
    assert has_role(admin_user, Role.LEAD) and has_role(admin_user, Role.REVIEWER)
    assert has_role(lead, Role.REVIEWER) and not has_role(lead, Role.ADMIN)
    assert has_role(reviewer, Role.REVIEWER) and not has_role(reviewer, Role.LEAD)
    assert has_role(annotator, Role.ANNOTATOR) and not has_role(annotator, Role.REVIEWER)
    assert not has_role(outsider, Role.ANNOTATOR)


def test_create_user_command_prints_a_working_api_token(capsys, api_client_for):
    call_command("create_user", "ci_bot", "--role", "lead", "--no-password", "--token")
    key = capsys.readouterr().out.split()[-1]
    assert Token.objects.get(key=key).user.username == "ci_bot"
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/jobs/").status_code == 200


def test_token_endpoint_exchanges_a_password_for_a_token(client):
    create_user_with_role("tok_user", Role.ANNOTATOR, password="a long enough password")
    response = client.post("/api/token/", {"username": "tok_user", "password": "a long enough password"})
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    assert client.post("/api/token/", {"username": "tok_user", "password": "wrong"}).status_code == 400


def test_login_page_logs_in_and_logout_requires_post(client):
    create_user_with_role("page_user", Role.LEAD, password="a long enough password")
    response = client.post("/login/", {"username": "page_user", "password": "a long enough password"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_health_endpoint_answers_without_login(client):
    assert client.get("/health/").json() == {"status": "ok"}
