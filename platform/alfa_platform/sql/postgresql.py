"""PostgreSQL: a token, its user and the user's roles in one prepared statement; the connection's URL."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from .prepared import RowLoader, prepared_cursor

__all__ = ["database_url", "token_user"]

NOT_READ = ("password", "last_login", "date_joined")  # the request's user never needs them


@cache
def user_loader() -> RowLoader[User]:
    """The request user's columns (the ones a request reads) and loading them."""
    return RowLoader(get_user_model(), "u", NOT_READ)


@cache
def token_sql(more_columns: str = "") -> str:
    """SELECT the token's user (user_loader() columns), the names of the user's groups, the token's issue time and
    `more_columns` FROM the user `u` joined to its token `t`: callers add their WHERE (and may join more tables)."""
    loader = user_loader()
    groups, memberships = Group._meta.db_table, loader.model.groups.through._meta.db_table
    return (
        f"SELECT {loader.columns}, ARRAY(SELECT g.name FROM {groups} g JOIN {memberships} ug "  # noqa: S608
        f"ON ug.group_id = g.id WHERE ug.user_id = u.id), t.created{more_columns} FROM {loader.model._meta.db_table} u "
        f"JOIN {Token._meta.db_table} t ON t.user_id = u.id"
    )


@cache
def _token_by_key_sql() -> str:
    return token_sql() + " WHERE t.key = %s"


def token_user(key: str) -> tuple[User, list[str], datetime] | None:
    """(the token's user, the names of the user's groups, when the token was issued), or None for no such token."""
    with prepared_cursor() as cursor:
        cursor.execute(_token_by_key_sql(), [key])
        row = cursor.fetchone()
    return None if row is None else load_token_user(row)


def load_token_user(row: Sequence[Any]) -> tuple[User, list[str], datetime]:
    """token_user's result from a row that starts with token_sql's columns."""
    loader = user_loader()
    return loader.load(row), list(row[loader.width]), row[loader.width + 1]


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for this connection's database (a test database included)."""
    auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else "")
    return (f"postgresql://{auth}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/"
            f"{settings_dict['NAME']}")
