"""Create platform users with a role (used by the demo loader, the CLI and tests)."""


from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from .roles import Role


def create_user_with_role(username: str, role: str, password: str | None = None, **fields: Any) -> User:
    """Create (or return) a user in the role's group; admins are also Django superusers."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults=fields)
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
        user.save()
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user
