"""Roles (Django groups) and the checks every view and API endpoint uses."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, cast

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponseBase
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from rest_framework.views import APIView

P = ParamSpec("P")


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    LEAD = "lead", "Lead"
    ADMIN = "admin", "Admin"


# A higher role can do everything a lower one can: an admin is a lead, a lead may review.
ROLE_IMPLIES: dict[str, set[str]] = {
    Role.ANNOTATOR: {Role.ANNOTATOR},
    Role.REVIEWER: {Role.REVIEWER, Role.LEAD, Role.ADMIN},
    Role.LEAD: {Role.LEAD, Role.ADMIN},
    Role.ADMIN: {Role.ADMIN},
}


ROLE_NAMES = frozenset(Role.values)


def role_names(group_names: Iterable[str], is_superuser: bool = False) -> set[str]:
    """Return the roles among a user's group names: only the groups named after a role count, any other grants none."""
    held = set(ROLE_NAMES.intersection(group_names))
    return held | {Role.ADMIN} if is_superuser else held


def roles_of(user: "User | AnonymousUser | None") -> set[str]:
    """Return the set of role names a user holds (cached on the user object for the request)."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_alfa_roles", None)
    if cached is None:
        cached = role_names(user.groups.values_list("name", flat=True), user.is_superuser)
        cast(Any, user)._alfa_roles = cached  # a per-request cache on the user object
    return cached


def has_role(user: "User | AnonymousUser | None", role: str) -> bool:
    """Return whether the user holds the role or one that implies it."""
    held = roles_of(user)
    if role == Role.ANNOTATOR:
        return bool(held & ROLE_NAMES)  # every role may annotate when invited; an unrelated group is no role
    return bool(held & ROLE_IMPLIES[role])


def require_role(user: "User | AnonymousUser | None", role: str) -> None:
    if not has_role(user, role):
        raise PermissionDenied(f"This page needs the {Role(role).label.lower()} role.")


def role_required(role: str) -> Callable[
    [Callable[Concatenate[HttpRequest, P], HttpResponseBase]], Callable[Concatenate[HttpRequest, P], HttpResponseBase]
]:
    """Decorate a view: send anonymous users to the login page and refuse users without the role (403)."""

    def decorate(
        view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request.user, role)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class RoleRequiredMixin(AccessMixin):
    """Class-based view mixin: anonymous users go to the login page, others need `required_role`."""

    required_role = Role.LEAD

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        require_role(request.user, self.required_role)
        # AccessMixin is mixed into a View, which has dispatch; the stub gives the mixin none
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def role_permission(role: str) -> type[BasePermission]:
    """Return a DRF permission class that admits users holding `role`."""

    class HasRole(BasePermission):
        message = f"This endpoint needs the {Role(role).label.lower()} role."

        def has_permission(self, request: Request, view: "APIView") -> bool:
            return has_role(request.user, role)

    HasRole.__name__ = f"Is{Role(role).label}"
    return HasRole


IsAnnotator = role_permission(Role.ANNOTATOR)
IsReviewer = role_permission(Role.REVIEWER)
IsLead = role_permission(Role.LEAD)
IsAdmin = role_permission(Role.ADMIN)


def roles_context(request: HttpRequest) -> dict[str, dict[str, bool]]:
    """Template context: `roles.lead` etc. for showing navigation a user may use."""
    user = getattr(request, "user", None)
    return {"roles": {role.value: has_role(user, role) for role in Role}}
