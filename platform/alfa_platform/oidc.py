"""Single sign-on with OpenID Connect (mozilla-django-oidc): provider discovery, strict ID token checks, users found
by (issuer, sub), roles mapped from a claim at every login, and logout at the provider.

Off unless settings.ALFA_OIDC_ISSUER is set; local passwords work beside it until ALFA_LOCAL_LOGIN is switched off.
"""

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from .models import ExternalIdentity
from .roles import ROLE_NAMES

logger = logging.getLogger(__name__)

# Seconds of clock difference between the provider and this server that `exp` and `iat` tolerate.
CLOCK_LEEWAY_SECONDS = 60
REQUIRED_ID_TOKEN_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
USERNAME_MAX_LENGTH = 140  # leaves room for a "-<n>" suffix within Django's 150
NOT_A_USERNAME_CHARACTER = re.compile(r"[^\w.@+-]")


class ProviderError(Exception):
    """The provider's discovery document is missing, unreadable or names another issuer."""


def is_sso_enabled() -> bool:
    return bool(settings.ALFA_OIDC_ISSUER)


def is_local_login_enabled() -> bool:
    return settings.ALFA_LOCAL_LOGIN


# --- configuration ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderEndpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str
    end_session: str  # "" when the provider offers none: logout then ends only the session here


@lru_cache(maxsize=8)
def discover(issuer: str) -> dict:
    """Return the issuer's discovery document (cached per process; a failure is not cached and is retried)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"cannot read {url}: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        # OpenID Connect Discovery §4.3: the document must name the very issuer it was fetched for.
        raise ProviderError(f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}")
    return document


DISCOVERY_KEYS = {
    "authorization": "authorization_endpoint",
    "token": "token_endpoint",
    "userinfo": "userinfo_endpoint",
    "jwks": "jwks_uri",
    "end_session": "end_session_endpoint",
}


def provider_endpoints() -> ProviderEndpoints:
    """Return the provider's endpoints: those set in ALFA_OIDC_<NAME>_ENDPOINT, the rest from discovery."""
    explicit = {name: url for name, url in settings.ALFA_OIDC_ENDPOINTS.items() if url}
    if explicit.keys() >= DISCOVERY_KEYS.keys() - {"end_session"}:
        document = {}
    else:
        document = discover(settings.ALFA_OIDC_ISSUER)
    endpoints = {name: explicit.get(name) or document.get(key, "") for name, key in DISCOVERY_KEYS.items()}
    missing = [name for name, url in endpoints.items() if not url and name != "end_session"]
    if missing:
        raise ProviderError(f"the provider names no {', '.join(missing)} endpoint")
    return ProviderEndpoints(**endpoints)


def role_map() -> dict[str, set[str]]:
    """Parse ALFA_OIDC_ROLE_MAP ("physicians=annotator,leads=lead,leads=reviewer") into group → roles."""
    mapping: dict[str, set[str]] = {}
    for entry in filter(None, (part.strip() for part in settings.ALFA_OIDC_ROLE_MAP.split(","))):
        group, _, role = (text.strip() for text in entry.rpartition("="))
        if not group or role not in ROLE_NAMES:
            raise ValueError(f"ALFA_OIDC_ROLE_MAP entry {entry!r}: write group=role, role one of "
                             f"{', '.join(sorted(ROLE_NAMES))}")
        mapping.setdefault(group, set()).add(role)
    return mapping


def configuration_errors() -> list[str]:
    """Return what is wrong with the single sign-on settings (the system check reports each one)."""
    errors = []
    if not is_sso_enabled():
        if not is_local_login_enabled():
            errors.append("ALFA_LOCAL_LOGIN is off and ALFA_OIDC_ISSUER unset: nobody could log in.")
        return errors
    if not settings.OIDC_RP_CLIENT_ID:
        errors.append("ALFA_OIDC_ISSUER is set but ALFA_OIDC_CLIENT_ID is not.")
    if not settings.OIDC_RP_CLIENT_SECRET:
        errors.append("ALFA_OIDC_ISSUER is set but neither ALFA_OIDC_CLIENT_SECRET nor ALFA_OIDC_CLIENT_SECRET_FILE.")
    if "openid" not in settings.OIDC_RP_SCOPES.split():
        errors.append("ALFA_OIDC_SCOPES must include openid.")
    if not settings.OIDC_RP_SIGN_ALGO.startswith(("RS", "ES", "PS")):
        # A shared-secret signature (HS256) would let anyone holding the client secret mint ID tokens.
        errors.append("ALFA_OIDC_SIGN_ALGO must be an asymmetric algorithm (RS256, ES256, PS256 …).")
    try:
        role_map()
    except ValueError as exc:
        errors.append(str(exc))
    return errors


# --- users and roles --------------------------------------------------------------------------------------------


def claimed_roles(claims: dict) -> set[str]:
    """Return the roles ALFA_OIDC_ROLE_MAP gives the groups in the ALFA_OIDC_ROLES_CLAIM claim (none if absent)."""
    value = claims.get(settings.ALFA_OIDC_ROLES_CLAIM, [])
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = role_map()
    return {role for group in groups if isinstance(group, str) for role in mapping.get(group, ())}


def choose_username(claims: dict) -> str:
    """Return a free username from preferred_username or the email's local part; it only names, never matches."""
    wanted = claims.get("preferred_username") or str(claims.get("email", "")).partition("@")[0] or "sso-user"
    base = NOT_A_USERNAME_CHARACTER.sub("", str(wanted))[:USERNAME_MAX_LENGTH] or "sso-user"
    taken = set(get_user_model().objects.filter(username__startswith=base).values_list("username", flat=True))
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def profile_fields(claims: dict) -> dict[str, str]:
    return {
        "email": str(claims.get("email", ""))[:254],
        "first_name": str(claims.get("given_name", ""))[:150],
        "last_name": str(claims.get("family_name", ""))[:150],
    }


def do_sync_claim_roles(identity: ExternalIdentity, roles: set[str]) -> None:
    """Grant the roles the claim maps to and revoke those an earlier login's claim granted and this one does not.

    Roles only: is_staff and is_superuser never come from a claim.
    """
    user = identity.user
    revoked = set(identity.claim_roles) - roles
    user.groups.remove(*Group.objects.filter(name__in=revoked))
    # get_or_create, as create_user_with_role does: a role group deleted in the admin must not turn a mapped login
    # into a silent no-role one (the roles are the fixed set the role map is checked against).
    user.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in sorted(roles)))
    identity.claim_roles = sorted(roles)
    cast(Any, user)._alfa_roles = None  # roles_of() must read the new groups (its per-request cache)


@transaction.atomic
def do_sign_in_identity(issuer: str, claims: dict) -> User:
    """Return the user of the identity (issuer, sub), created on its first login, with profile and roles updated."""
    subject = claims["sub"]
    identity = (ExternalIdentity.objects.select_for_update().select_related("user")
                .filter(issuer=issuer, subject=subject).first())
    if identity is None:
        user = get_user_model()(username=choose_username(claims), **profile_fields(claims))
        user.set_unusable_password()  # a password set later by an admin would be a second way in: none exists
        user.save()
        try:
            with transaction.atomic():
                identity = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:
            # The same person's second tab finished its first login first: use that account.
            user.delete()
            identity = ExternalIdentity.objects.select_related("user").get(issuer=issuer, subject=subject)
    else:
        user = identity.user
        for field, value in profile_fields(claims).items():
            setattr(user, field, value)
        user.save(update_fields=list(profile_fields(claims)))
    do_sync_claim_roles(identity, claimed_roles(claims))
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["claim_roles", "last_login_at"])
    return identity.user


# --- authentication backends ------------------------------------------------------------------------------------


class LocalPasswordBackend(ModelBackend):
    """Django's password backend, answering only while ALFA_LOCAL_LOGIN is on (login page, admin, /api/token/)."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> User | None:
        if not is_local_login_enabled():
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, with the ID token checks it leaves out (issuer, audience, required claims)
    and users found by (issuer, sub) instead of by email.

    The endpoints are read when a login uses them, so a password login never waits on the provider.
    """

    OIDC_RP_IDP_SIGN_KEY = None  # the provider's keys come from its JWKS endpoint

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = get_user_model()

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # the attribute names mozilla-django-oidc reads
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return settings.OIDC_RP_SIGN_ALGO

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_endpoints().token

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_endpoints().userinfo

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_endpoints().jwks

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view passes a nonce: a password login (or a login page called with ?code=&state=) must
        # never start a code exchange.
        if not is_sso_enabled() or "nonce" not in kwargs or "username" in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: str | bytes, key: jwt.PyJWK | str | bytes) -> dict[str, Any]:
        """Return the ID token's claims once its signature, issuer, audience, expiry and issue time all hold."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}")
        try:
            claims = jwt.decode(
                payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.ALFA_OIDC_ISSUER, leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": REQUIRED_ID_TOKEN_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            # OpenID Connect Core §3.1.3.7: a token for several audiences must name this client as its party.
            raise SuspiciousOperation("ID token refused: several audiences and another authorized party")
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload["sub"]:
            # OpenID Connect Core §5.3.2: userinfo about someone else must not be used.
            raise SuspiciousOperation("userinfo answered for another subject")
        # The signed ID token's claims win over userinfo's; the roles claim may come from either.
        return do_sign_in_identity(settings.ALFA_OIDC_ISSUER, {**userinfo, **payload})


# --- views --------------------------------------------------------------------------------------------------------


class AuthenticationRequestView(OIDCAuthenticationRequestView):
    """Send the browser to the provider's login (with state, nonce and PKCE), or 404 while SSO is off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # endpoints are read in get()

    def get(self, request: HttpRequest) -> HttpResponse:
        if not is_sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoints().authorization
        except ProviderError as exc:
            logger.warning("single sign-on unavailable: %s", exc)
            messages.error(request, f"{settings.ALFA_OIDC_PROVIDER_NAME} cannot be reached; try again later.")
            return redirect("login")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """Finish the login the provider sends back; any token or provider failure ends on the login page, not a 500."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not is_sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, ProviderError, requests.RequestException) as exc:
            logger.warning("single sign-on refused: %s", exc)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, f"Signing in with {settings.ALFA_OIDC_PROVIDER_NAME} failed. Try again, "
                                     "or ask an admin if it keeps failing.")
        return redirect("login")


class LogoutView(OIDCLogoutView):
    """End the session here (POST, CSRF-checked), then at the provider when the user signed in with it."""


def provider_logout_url(request: HttpRequest) -> str:
    """OIDC_OP_LOGOUT_URL_METHOD: the provider's end_session URL for an SSO session, else the login page."""
    local_logout = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not id_token or not is_sso_enabled():
        return local_logout
    try:
        end_session = provider_endpoints().end_session
    except ProviderError as exc:
        logger.warning("provider logout skipped: %s", exc)
        return local_logout
    if not end_session:
        return local_logout
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": request.build_absolute_uri(
        reverse("login")), "client_id": settings.OIDC_RP_CLIENT_ID})
    return f"{end_session}?{query}"
