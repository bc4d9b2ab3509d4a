"""SQLite: the token's user and roles through the ORM (two short queries, no server round trips); the file's URL."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

__all__ = ["database_url", "token_user"]


def token_user(key: str) -> tuple[User, list[str], datetime] | None:
    """(the token's user, the names of the user's groups, when the token was issued), or None for no such token."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        return None
    return token.user, list(token.user.groups.values_list("name", flat=True)), token.created


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for this connection's database (a test database included)."""
    return f"sqlite:///{settings_dict['NAME']}"
