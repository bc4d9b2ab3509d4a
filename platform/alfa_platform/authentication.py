"""API authentication: DRF tokens, with the user's roles read in the same query."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from .roles import Role


class TokenAuthenticationWithRoles(TokenAuthentication):
    """DRF's token authentication, reading the user's roles in the same query (one query per request, not two).

    Hot loops (the annotation page posts one request per judgment) pay one query for auth: on PostgreSQL the
    token, the user and the group names come back together and prime the role cache that `roles` reads.
    """

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        user_model = get_user_model()
        users, tokens = user_model._meta.db_table, Token._meta.db_table
        groups, memberships = Group._meta.db_table, user_model.groups.through._meta.db_table
        query = (
            f"SELECT u.*, ARRAY(SELECT g.name FROM {groups} g JOIN {memberships} ug ON ug.group_id = g.id "  # noqa: S608
            f"WHERE ug.user_id = u.id) AS alfa_group_names FROM {users} u JOIN {tokens} t ON t.user_id = u.id "
            f"WHERE t.key = %s"
        )
        user = next(iter(get_user_model().objects.raw(query, [key])), None)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        user._alfa_roles = set(user.alfa_group_names) | ({Role.ADMIN} if user.is_superuser else set())
        return user, Token(key=key, user=user)
