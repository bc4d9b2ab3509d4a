"""API authentication: DRF tokens that expire (alfa_platform.tokens), with the user's roles read in the same query."""

from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from .backends import backend
from .roles import role_names

EXPIRED_MESSAGE = "Token expired; get a new one from /api/token/."


def token_lifetime() -> timedelta:
    return timedelta(days=settings.ALFA_API_TOKEN_TTL_DAYS)


def expiry_cutoff() -> datetime:
    """Tokens issued at or before this moment have expired."""
    return timezone.now() - token_lifetime()


def expires_at(token: Token) -> datetime:
    return token.created + token_lifetime()


def is_expired(token: Token) -> bool:
    return token.created <= expiry_cutoff()


class TokenAuthenticationWithRoles(TokenAuthentication):
    """DRF's token authentication, reading the user's roles with the token (one statement on PostgreSQL, not two).

    Hot loops (the annotation page posts one request per judgment) pay one prepared statement for auth on
    PostgreSQL: the token, the user and the group names come back together and prime the role cache that
    `roles` reads.
    """

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        return self.admit(key, backend("alfa_platform.sql").token_user(key))

    @staticmethod
    def admit(key: str, found: "tuple[User, list[str], datetime] | None") -> tuple[User, Token]:
        """DRF's (user, token) for what token_user found for `key`; AuthenticationFailed as DRF's checks fail."""
        if found is None:
            raise AuthenticationFailed("Invalid token.")
        user, groups, created = found
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if created <= expiry_cutoff():
            raise AuthenticationFailed(EXPIRED_MESSAGE)
        cast(Any, user)._alfa_roles = role_names(groups, user.is_superuser)  # roles_of's per-request cache
        return user, Token(key=key, user=user, created=created)
