"""Authentication hardening (issue 13): lockouts, expiring tokens, secrets, password rules, HSTS, CSP, roles."""

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alfa_platform.roles import Role, has_role
from alfa_platform.users import create_user_with_role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_lockouts():
    from django.apps import apps

    if apps.is_installed("axes"):  # each test starts with no failed logins on record
        apps.get_model("axes", "AccessAttempt").objects.all().delete()


def failed_logins(client, username, count, address="10.1.1.1"):
    for _ in range(count):
        client.post(reverse("login"), {"username": username, "password": "wrong password!"}, REMOTE_ADDR=address)


# --- lockouts -----------------------------------------------------------------------------------------------------


def test_the_login_page_locks_an_account_after_repeated_failures_with_a_clear_message(client, lead):
    failed_logins(client, lead.username, django_settings.AXES_FAILURE_LIMIT)
    locked = client.post(reverse("login"), {"username": lead.username, "password": PASSWORD},
                         REMOTE_ADDR="10.2.2.2")  # the right password, from another address: the account is locked
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_login_page_locks_an_address_that_tries_many_accounts(client, lead, annotator):
    for index in range(django_settings.AXES_FAILURE_LIMIT):
        failed_logins(client, f"nobody{index}", 1, address="10.3.3.3")
    locked = client.post(reverse("login"), {"username": annotator.username, "password": PASSWORD},
                         REMOTE_ADDR="10.3.3.3")
    assert locked.status_code == 429
    elsewhere = client.post(reverse("login"), {"username": annotator.username, "password": PASSWORD},
                            REMOTE_ADDR="10.4.4.4")
    assert elsewhere.status_code == 302  # the account itself is not locked


def test_the_token_endpoint_answers_429_with_a_detail_once_locked(lead):
    client = APIClient(REMOTE_ADDR="10.5.5.5")
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/api/token/", {"username": lead.username, "password": "nope"}).status_code == 400
    assert client.post("/api/token/", {"username": lead.username, "password": "nope"}).status_code == 429
    locked = client.post("/api/token/", {"username": lead.username, "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]


# --- token expiry, listing and revoking -------------------------------------------------------------------------


def token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_api_tokens_expire_after_the_configured_days(lead):
    answer = APIClient().post("/api/token/", {"username": lead.username, "password": PASSWORD}).json()
    assert token_client(answer["token"]).get("/api/jobs/").status_code == 200
    assert answer["expires_at"]
    Token.objects.filter(key=answer["token"]).update(
        created=timezone.now() - timedelta(days=django_settings.ALFA_API_TOKEN_TTL_DAYS, seconds=1))
    expired = token_client(answer["token"]).get("/api/jobs/")
    # DRF answers 403, not 401, when session authentication comes first in DEFAULT_AUTHENTICATION_CLASSES
    assert expired.status_code in (401, 403) and "expired" in expired.json()["detail"]
    renewed = APIClient().post("/api/token/", {"username": lead.username, "password": PASSWORD}).json()
    assert renewed["token"] != answer["token"]
    assert token_client(renewed["token"]).get("/api/jobs/").status_code == 200
    assert django_settings.ALFA_API_TOKEN_TTL_DAYS == 30


def test_owners_list_and_revoke_their_own_token_and_see_no_one_elses(lead, annotator):
    mine, theirs = Token.objects.create(user=annotator), Token.objects.create(user=lead)
    client = token_client(mine.key)
    listed = client.get("/api/tokens/").json()
    assert [row["user"] for row in listed] == [annotator.username]
    assert mine.key not in str(listed)  # a listing never shows a key
    assert client.delete(f"/api/tokens/{lead.pk}/").status_code == 404
    assert Token.objects.filter(pk=theirs.pk).exists()
    assert client.delete(f"/api/tokens/{annotator.pk}/").status_code == 204
    assert not Token.objects.filter(user=annotator).exists()
    assert "Invalid token" in token_client(mine.key).get("/api/jobs/").json()["detail"]


def test_admins_list_and_revoke_anyones_token_on_the_page(client_for, admin_user, lead, annotator):
    Token.objects.create(user=lead)
    Token.objects.create(user=annotator)
    client = client_for(admin_user)
    page = client.get(reverse("tokens")).content.decode()
    assert lead.username in page and annotator.username in page
    response = client.post(reverse("token-revoke", args=[lead.pk]))
    assert response.status_code == 302
    assert not Token.objects.filter(user=lead).exists() and Token.objects.filter(user=annotator).exists()


def test_the_token_page_lists_only_your_own_and_refuses_revoking_others(client_for, lead, annotator):
    Token.objects.create(user=lead)
    Token.objects.create(user=annotator)
    client = client_for(annotator)
    page = client.get(reverse("tokens")).content.decode()
    assert annotator.username in page.split("<tbody>")[1] and lead.username not in page.split("<tbody>")[1]
    assert client.post(reverse("token-revoke", args=[lead.pk])).status_code == 404
    assert Token.objects.filter(user=lead).exists()


# --- secrets ------------------------------------------------------------------------------------------------------


def start_django(**env):
    environment = {**os.environ, "DJANGO_DEBUG": "0", **env}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", ["change-me-to-a-long-random-string", "short-but-not-a-placeholder"])
def test_production_refuses_to_start_on_a_placeholder_or_short_secret_key(key):
    started = start_django(DJANGO_SECRET_KEY=key)
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr and "DJANGO_SECRET_KEY" in started.stderr


def test_production_starts_on_a_long_random_secret_key():
    assert start_django(DJANGO_SECRET_KEY="k" * 30 + "0123456789abcdefghij").returncode == 0


def test_secret_files_are_created_0600_and_never_readable_by_others(tmp_path, monkeypatch):
    from alfa_platform import secretfiles

    # A process killed between writing the file and tightening its mode must not leave a readable secret behind.
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: (_ for _ in ()).throw(OSError("killed")))
    old = os.umask(0o022)
    try:
        try:
            value = secretfiles.read_or_create_secret(tmp_path / "secret_key")
        except OSError:
            value = None
    finally:
        os.umask(old)
    path = tmp_path / "secret_key"
    assert path.exists() and value is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(value) >= secretfiles.MIN_SECRET_LENGTH
    assert secretfiles.read_or_create_secret(path) == value  # created once, then read
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


# --- passwords, HSTS, CSP ---------------------------------------------------------------------------------------


def test_password_validators_want_12_characters_and_no_common_password():
    for weak in ("Sh0rt!pass", "password1234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password(PASSWORD)


def test_production_settings_send_hsts_over_https(client, lead):
    assert django_settings.SECURE_HSTS_SECONDS >= 365 * 24 * 3600
    response = client.get(reverse("login"), secure=True)
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_pages_carry_a_content_security_policy_without_inline_scripts(client_for, lead):
    response = client_for(lead).get(reverse("home"))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_no_template_has_an_inline_script_without_a_nonce_or_an_inline_handler():
    import re

    offenders = []
    templates = [*ROOT.glob("*/templates/**/*.html"), *ROOT.glob("platform/alfa_platform/templates/**/*.html")]
    assert len(templates) > 20
    for template in templates:
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "nonce=" not in tag and "application/json" not in tag:
                offenders.append(f"{template.relative_to(ROOT)}: {tag}")
        offenders += [f"{template.relative_to(ROOT)}: {m}" for m in re.findall(r"\son[a-z]+=\"", text)]
    assert not offenders, offenders


# --- roles are explicit groups ----------------------------------------------------------------------------------


def test_an_unrelated_group_grants_no_role(client_for):
    user = create_user_with_role("gary_group", None, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="newsletter")[0])
    assert not has_role(user, Role.ANNOTATOR)
    assert client_for(user).get(reverse("corpus:thread-list")).status_code == 403
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/corpus/threads/").status_code == 403
