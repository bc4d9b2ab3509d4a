"""API authentication: DRF tokens that expire (alfa_platform.tokens), with the user's roles read in the same query."""

from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

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
    """DRF's token authentication, reading the user's roles in the same query (one query per request, not two).

    Hot loops (the annotation page posts one request per judgment) pay one query for auth: on PostgreSQL the
    token, the user and the group names come back together and prime the role cache that `roles` reads.
    """

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        if connection.vendor != "postgresql":
            user, token = super().authenticate_credentials(key)
            if is_expired(token):
                raise AuthenticationFailed(EXPIRED_MESSAGE)
            return user, token
        user_model = get_user_model()
        users, tokens = user_model._meta.db_table, Token._meta.db_table
        groups, memberships = Group._meta.db_table, user_model.groups.through._meta.db_table
        query = (
            f"SELECT u.*, ARRAY(SELECT g.name FROM {groups} g JOIN {memberships} ug ON ug.group_id = g.id "  # noqa: S608
            f"WHERE ug.user_id = u.id) AS alfa_group_names, t.created AS alfa_token_created "
            f"FROM {users} u JOIN {tokens} t ON t.user_id = u.id "
            f"WHERE t.key = %s"
        )
        # a User with the query's extra columns alfa_group_names and alfa_token_created
        user = cast(Any, next(iter(get_user_model().objects.raw(query, [key])), None))
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if user.alfa_token_created <= expiry_cutoff():
            raise AuthenticationFailed(EXPIRED_MESSAGE)
        user._alfa_roles = role_names(user.alfa_group_names, user.is_superuser)
        return user, Token(key=key, user=user)
