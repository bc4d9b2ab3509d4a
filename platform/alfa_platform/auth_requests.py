"""The signed-in user of views that only signed-in users reach (their role checks refuse anonymous requests first).

For the type checker: `request.user` is `User | AnonymousUser` on a plain request, and the actions of the apps
take a `User`. Nothing here changes what Django and DRF do.
"""

from typing import cast

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.request import Request


def as_user(user: User | AnonymousUser) -> User:
    """Return a request's user as the User it is: the role checks of pages and API admit signed-in users only."""
    return cast(User, user)


class AuthenticatedRequest(Request):
    """A DRF request behind an authenticated permission class (IsAnnotator, IsReviewer, IsLead)."""

    user: User
