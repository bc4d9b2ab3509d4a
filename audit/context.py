"""Who is acting: the request's user (read when a record is written) or the user a job runs for."""

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from auditlog.cid import set_cid
from django.http import HttpRequest
from django.http.response import HttpResponseBase

if TYPE_CHECKING:  # the auth models are not importable before the app registry is ready
    from django.contrib.auth.models import User

# (request or None, user or None): a request's user is read at write time, because DRF authenticates a token
# inside the view, after every middleware has run (auditlog's own middleware reads it too early for tokens).
_acting: ContextVar["tuple[HttpRequest | None, User | None]"] = ContextVar("audit_acting", default=(None, None))


def current_actor() -> "tuple[User | None, str | None]":
    """Return (the acting user or None, the request's remote address or None)."""
    request, user = _acting.get()
    if request is None:
        return user, None
    request_user = getattr(request, "user", None)
    if request_user is not None and request_user.is_authenticated:
        user = request_user
    return user, request.META.get("REMOTE_ADDR") or None


@contextlib.contextmanager
def acting_as(user: "User | None") -> Iterator[None]:
    """Attribute the records written inside the block to `user` (a job's owner in a worker, a command's user)."""
    token = _acting.set((None, user))
    try:
        yield
    finally:
        _acting.reset(token)


class AuditContextMiddleware:
    """Attribute the records a request writes to its user and address, and give them auditlog's correlation id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        set_cid(request)
        token = _acting.set((request, None))
        try:
            return self.get_response(request)
        finally:
            _acting.reset(token)
