"""People and their roles: leads grant and revoke the annotator and reviewer roles, admins every role.

This is where a user who signed in with single sign-on and holds no role gets one. Roles only: no page here makes
anyone staff or a superuser.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import ExternalIdentity
from .roles import Role, has_role, role_names, role_required

LEAD_GRANTABLE_ROLES = (Role.ANNOTATOR, Role.REVIEWER)


def grantable_roles(actor: User | AnonymousUser) -> tuple[str, ...]:
    """Return the roles `actor` may grant and revoke: every role for an admin, annotator and reviewer for a lead."""
    if has_role(actor, Role.ADMIN):
        return tuple(Role.values)
    if has_role(actor, Role.LEAD):
        return tuple(LEAD_GRANTABLE_ROLES)
    return ()


def changeable_roles(actor: User | AnonymousUser, user: User) -> tuple[str, ...]:
    """Return the roles of `user` that `actor` may grant or revoke (none of a superuser's, unless an admin)."""
    if user.is_superuser and not has_role(actor, Role.ADMIN):
        return ()
    return grantable_roles(actor)


def do_set_role(actor: User | AnonymousUser, user: User, role: str, granted: bool) -> None:
    """Grant or revoke `role` for `user` on behalf of `actor` (PermissionDenied when it is not theirs to change)."""
    if role not in changeable_roles(actor, user):
        raise PermissionDenied(f"You may not change the {role} role of {user.username}.")
    group = Group.objects.get_or_create(name=role)[0]  # as create_user_with_role: a deleted role group comes back
    if granted:
        user.groups.add(group)
    else:
        user.groups.remove(group)


def people_rows(actor: User | AnonymousUser) -> list[dict[str, Any]]:
    """Every active user with their roles, single sign-on identities and the roles `actor` may change there;
    those without a role first."""
    users = (get_user_model().objects.filter(is_active=True).order_by("username")
             .prefetch_related(Prefetch("groups", queryset=Group.objects.only("name")),
                               Prefetch("external_identities", queryset=ExternalIdentity.objects.only(
                                   "user_id", "issuer", "claim_roles", "last_login_at"))))
    rows = []
    for user in users:
        roles = role_names([group.name for group in user.groups.all()], user.is_superuser)
        identities = list(user.external_identities.all())
        claim_roles = {role for identity in identities for role in identity.claim_roles}
        rows.append({"user": user, "roles": roles, "identities": identities, "claim_roles": claim_roles,
                     "changeable": changeable_roles(actor, user)})
    return sorted(rows, key=lambda row: bool(row["roles"]))


@role_required(Role.LEAD)
def people_list(request: HttpRequest) -> HttpResponse:
    return render(request, "alfa_platform/people.html", {
        "rows": people_rows(request.user), "grantable": grantable_roles(request.user), "all_roles": Role.values,
    })


@role_required(Role.LEAD)
@require_POST
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    role, action = request.POST.get("role", ""), request.POST.get("action", "")
    if role not in Role.values or action not in ("grant", "revoke"):
        return HttpResponseBadRequest("Name a role and grant or revoke.")
    user = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
    do_set_role(request.user, user, role, granted=action == "grant")
    verb = "Granted" if action == "grant" else "Revoked"
    messages.success(request, f"{verb} the {role} role {'to' if action == 'grant' else 'of'} {user.username}.")
    return redirect("people")
