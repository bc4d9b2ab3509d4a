"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider/, in its own process): login, roles
from the groups claim, strangers, ID token checks, local login switched off, logout at the provider."""

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from alfa_platform import oidc
from alfa_platform.models import ExternalIdentity
from alfa_platform.roles import Role, roles_of
from tests.conftest import PASSWORD
from tests.oidc_provider.flow import (
    PROVIDER_PASSWORD,
    configure_platform,
    crafted_id_token,
    sign_in,
    walk_provider_login,
)
from tests.oidc_provider.server import CLIENT_SECRET

PHYSICIAN, LEAD, STRANGER = "dr_house", "lee_lead", "sam_stranger"


@pytest.fixture
def sso(settings, oidc_provider, db):
    configure_platform(settings, oidc_provider, "http://testserver",
                       users=[(PHYSICIAN, ("physicians", "cardiology")), (LEAD, ("leads",)), (STRANGER, ("visitors",))])
    return oidc_provider


def signed_in_user(client) -> User:
    return User.objects.get(pk=client.session["_auth_user_id"])


def test_it_signs_a_physician_in_with_the_mapped_role(sso, client):
    response = sign_in(client, PHYSICIAN)
    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert roles_of(user) == {Role.ANNOTATOR}
    assert not user.is_staff and not user.is_superuser and not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.issuer == sso.issuer and identity.subject and identity.claim_roles == ["annotator"]
    assert (user.username, user.email) == (PHYSICIAN, f"{PHYSICIAN}@hospital.test")
    home = client.get("/").content.decode()
    assert "Annotation" in home and "ask a lead for access" not in home


def test_it_grants_and_revokes_the_mapped_roles_at_the_next_login(sso, client):
    sign_in(client, PHYSICIAN)
    user = signed_in_user(client)
    reviewer = Group.objects.get(name=Role.REVIEWER)
    user.groups.add(reviewer)  # granted by hand by a lead: not the claim's to take back
    client.post("/logout/")
    sso.seed(users=[(PHYSICIAN, PROVIDER_PASSWORD, ("leads",))])  # moved from physicians to leads

    sign_in(client, PHYSICIAN)
    again = signed_in_user(client)
    assert again.pk == user.pk
    assert roles_of(again) == {Role.LEAD, Role.REVIEWER}
    assert ExternalIdentity.objects.get(user=again).claim_roles == ["lead"]

    client.post("/logout/")
    sso.seed(users=[(PHYSICIAN, PROVIDER_PASSWORD, ())])  # left every mapped group
    sign_in(client, PHYSICIAN)
    assert roles_of(signed_in_user(client)) == {Role.REVIEWER}


def test_a_stranger_without_a_mapped_group_sees_nothing(sso, client):
    assert sign_in(client, STRANGER).status_code == 302
    user = signed_in_user(client)
    assert roles_of(user) == set()
    home = client.get("/")
    assert home.status_code == 200 and "ask a lead for access" in home.content.decode()
    for url in ("/corpus/", "/annotation/", "/jobs/", "/datasets/", "/training/", "/evaluation/", "/account/tokens/",
                "/api/docs/", "/api/schema/", "/api/corpus/threads/", "/api/annotation/campaigns/", "/api/tokens/"):
        assert client.get(url).status_code == 403, url


def test_it_matches_users_by_subject_never_by_email(sso, client, make_user):
    local = make_user(PHYSICIAN, Role.LEAD)
    local.email = f"{PHYSICIAN}@hospital.test"  # same name and email as the provider's account
    local.save()
    sign_in(client, PHYSICIAN)
    user = signed_in_user(client)
    assert user.pk != local.pk and user.username == f"{PHYSICIAN}-2"
    assert roles_of(user) == {Role.ANNOTATOR}
    assert not ExternalIdentity.objects.filter(user=local).exists()


def test_logout_ends_the_session_here_and_at_the_provider(sso, client):
    provider_browser = requests.Session()
    sign_in(client, PHYSICIAN, browser=provider_browser)
    response = client.post("/logout/")
    assert "_auth_user_id" not in client.session
    end_session = urlparse(response["Location"])
    assert response["Location"].startswith(f"{sso.issuer}/end-session")
    assert parse_qs(end_session.query)["post_logout_redirect_uri"] == ["http://testserver/login/"]
    back = walk_provider_login(response["Location"], PHYSICIAN, "http://testserver/", browser=provider_browser)
    assert back == "http://testserver/login/"
    # The provider forgot the login too: signing in again asks for the password at the provider.
    start = client.get("/oidc/authenticate/")
    at_provider = provider_browser.get(start["Location"], allow_redirects=True, timeout=10)
    assert 'name="password"' in at_provider.text


def test_it_refuses_an_id_token_for_another_audience(sso, client, monkeypatch):
    start = client.get("/oidc/authenticate/")
    query = parse_qs(urlparse(start["Location"]).query)
    state, nonce = query["state"][0], query["nonce"][0]
    token = crafted_id_token(sso, nonce, aud="another-application")  # the provider's key, another client's token
    # As if the provider's token endpoint answered with a token that was issued to someone else.
    monkeypatch.setattr(oidc.OIDCBackend, "get_token", lambda self, payload: {"id_token": token,
                                                                             "access_token": "unused"})
    response = client.get("/oidc/callback/", {"code": "any", "state": state})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert not ExternalIdentity.objects.exists()
    assert "failed" in client.get("/login/").content.decode()


def another_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("changes", [
    {"aud": "another-application"},
    {"aud": ["alfa-platform", "another-application"], "azp": "another-application"},
    {"iss": "http://127.0.0.1:9/openid"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"nonce": "a-replayed-nonce"},
    {"nonce": None},
    {"sub": None},
    {"exp": None},
    {"key": "another"},
    {"key": CLIENT_SECRET, "algorithm": "HS256"},  # signed with the shared secret instead of the provider's key
], ids=["audience", "authorized-party", "issuer", "expired", "nonce", "no-nonce", "no-sub", "no-exp", "signature",
        "hs256"])
def test_it_refuses_id_tokens_that_fail_a_check(sso, changes):
    if changes.get("key") == "another":
        changes["key"] = another_private_key()
    token = crafted_id_token(sso, "the-nonce", **changes)
    with pytest.raises(SuspiciousOperation):
        oidc.OIDCBackend().verify_token(token, nonce="the-nonce")


def test_it_accepts_the_providers_well_formed_id_token(sso):
    """The crafted tokens above fail for the one claim they change: unchanged, the same token passes."""
    claims = oidc.OIDCBackend().verify_token(crafted_id_token(sso, "the-nonce"), nonce="the-nonce")
    assert claims["sub"] == "crafted-subject" and claims["aud"] == "alfa-platform"


def test_local_login_switched_off_refuses_passwords(sso, settings, make_user):
    user = make_user("anna_local", Role.ANNOTATOR)
    settings.ALFA_LOCAL_LOGIN = False
    client = Client()
    page = client.get("/login/").content.decode()
    assert "Sign in with Test Hospital" in page and 'name="password"' not in page
    refused = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 403 and "_auth_user_id" not in client.session
    assert client.post("/api/token/", {"username": user.username, "password": PASSWORD}).status_code == 403
    client.post("/admin/login/", {"username": user.username, "password": PASSWORD, "next": "/admin/"})
    assert "_auth_user_id" not in client.session
    assert sign_in(client, PHYSICIAN)["Location"] == "/"  # single sign-on still works


def test_local_login_works_beside_single_sign_on(sso, make_user):
    user = make_user("anna_local", Role.ANNOTATOR)
    client = Client()
    page = client.get("/login/").content.decode()
    assert "Sign in with Test Hospital" in page and 'name="password"' in page
    assert client.post("/login/", {"username": user.username, "password": PASSWORD})["Location"] == "/"
    assert client.post("/api/token/", {"username": user.username, "password": PASSWORD}).status_code == 200


def test_a_callback_without_its_state_or_with_an_error_ends_on_the_login_page(sso, client):
    for query in ({"code": "stolen", "state": "not-ours"}, {"error": "access_denied", "state": "x"}, {}):
        response = client.get("/oidc/callback/", query)
        assert response.status_code == 302 and response["Location"] == "/login/", query
    client.get("/oidc/authenticate/")  # a state in the session, but another one on the callback
    assert client.get("/oidc/callback/", {"code": "stolen", "state": "not-ours"})["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_a_code_the_provider_refuses_ends_on_the_login_page(sso, client):
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    response = client.get("/oidc/callback/", {"code": "made-up", "state": state})
    assert response["Location"] == "/login/" and "_auth_user_id" not in client.session


def test_single_sign_on_is_off_when_no_issuer_is_set(client, db):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404
    assert "Sign in with" not in client.get("/login/").content.decode()


def test_it_reports_a_half_done_configuration(settings):
    settings.ALFA_OIDC_ISSUER = "https://login.hospital.example/realms/staff"
    settings.OIDC_RP_CLIENT_ID = ""
    settings.OIDC_RP_CLIENT_SECRET = ""
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.ALFA_OIDC_ROLE_MAP = "physicians=annotator,leads=superuser"
    errors = " ".join(oidc.configuration_errors())
    for expected in ("ALFA_OIDC_CLIENT_ID", "ALFA_OIDC_CLIENT_SECRET", "asymmetric", "leads=superuser"):
        assert expected in errors
    settings.ALFA_OIDC_ISSUER, settings.ALFA_LOCAL_LOGIN = "", False
    assert "nobody could log in" in " ".join(oidc.configuration_errors())


def test_it_reads_the_client_secret_from_a_file(tmp_path, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from alfa_platform.secretfiles import secret_from_environment

    (tmp_path / "secret").write_text("from-the-file\n")
    monkeypatch.setenv("ALFA_OIDC_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    monkeypatch.delenv("ALFA_OIDC_CLIENT_SECRET", raising=False)
    assert secret_from_environment("ALFA_OIDC_CLIENT_SECRET") == "from-the-file"
    monkeypatch.setenv("ALFA_OIDC_CLIENT_SECRET", "from-the-variable")
    with pytest.raises(ImproperlyConfigured):
        secret_from_environment("ALFA_OIDC_CLIENT_SECRET")
