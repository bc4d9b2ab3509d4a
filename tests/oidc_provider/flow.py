"""Helpers for the single sign-on tests: point the platform at the test provider, walk its login, craft tokens."""

import time
from urllib.parse import parse_qs, urljoin, urlparse

import jwt
import requests

from alfa_platform import oidc

from .server import CLIENT_ID, CLIENT_SECRET, ProviderProcess

PROVIDER_PASSWORD = "provider password 123"  # the test users' password at the test provider
ROLE_MAP = "physicians=annotator,leads=lead"


def configure_platform(settings, provider: ProviderProcess, platform_url: str, users=()) -> None:
    """Point the platform's SSO settings at `provider`, registering `platform_url`'s callback and logout pages."""
    provider.seed(redirect_uris=(f"{platform_url}/oidc/callback/",), post_logout_uris=(f"{platform_url}/login/",),
                  users=tuple((name, PROVIDER_PASSWORD, groups) for name, groups in users))
    settings.ALFA_OIDC_ISSUER = provider.issuer
    settings.ALFA_OIDC_PROVIDER_NAME = "Test Hospital"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid profile email groups"
    settings.ALFA_OIDC_ROLE_MAP = ROLE_MAP
    oidc.discover.cache_clear()


def walk_provider_login(start_url: str, username: str, until: str, password: str = PROVIDER_PASSWORD,
                        browser: requests.Session | None = None) -> str:
    """Follow the provider's redirects from `start_url`, logging in on its form, up to the first URL under `until`.

    `browser` keeps the provider's cookies (its session) between calls, as a real browser would.
    """
    browser = browser or requests.Session()
    url = start_url
    for _ in range(10):
        if url.startswith(until):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and 'name="password"' in response.text:
            next_url = parse_qs(urlparse(response.url).query)["next"][0]
            response = browser.post(response.url, allow_redirects=False, timeout=10, data={
                "username": username, "password": password, "next": next_url,
                "csrfmiddlewaretoken": browser.cookies["provider_csrftoken"],
            })
        assert response.status_code in (301, 302), (response.status_code, response.text[:500])
        url = urljoin(response.url, response.headers["Location"])
    raise AssertionError(f"the provider never sent the browser back to {until}")


def sign_in(client, username: str, browser: requests.Session | None = None, password: str = PROVIDER_PASSWORD):
    """Log `client` (Django's test client) in through the provider; return the platform's callback response."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start
    callback = walk_provider_login(start["Location"], username, "http://testserver/", password, browser)
    return client.get(callback)


def crafted_id_token(provider: ProviderProcess, nonce: str, /, **changes) -> str:
    """Return an ID token signed with the provider's own key, valid for the platform except for `changes`.

    `key=` signs with another private key (PEM) under the provider's key id; `algorithm=` picks the algorithm.
    """
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "crafted-subject", "iat": now, "exp": now + 300,
              "nonce": nonce}
    key = changes.pop("key", provider.signing_key["private_key"])
    algorithm = changes.pop("algorithm", "RS256")
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}  # None drops a claim
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": provider.signing_key["kid"]})
