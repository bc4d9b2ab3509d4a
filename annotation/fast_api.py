"""The annotation page's two hot endpoints, next item and submit, served without DRF's per-request machinery.

The page calls one of them for every judgment, so their CPU cost bounds how many judgments a server handles per
second. The DRF actions (`api.CampaignViewSet.next`, `api.AssignmentViewSet.submit`) stay the reference and answer
at the same URLs whenever this module does not: these views serve only the well-formed common case, a JSON POST
from an authenticated user holding a role, whose body is exactly what SubmitSerializer accepts without coercion,
and hand everything else to the DRF action before any side effect. That covers other methods, missing or bad
credentials, session requests failing the CSRF check, bodies DRF would coerce or reject, clients asking for the
browsable API, other users' assignments, and errors raised inside the (rolled back) transaction. The DRF action
then answers exactly as before. Authentication follows DRF's order: the session first, with DRF's CSRF check,
then the `Authorization: Token` header (the same token authentication, roles read in the same query).
"""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, cast

import orjson
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import get_authorization_header
from rest_framework.authtoken.models import Token

from alfa_platform.authentication import expiry_cutoff
from alfa_platform.roles import Role, has_role, role_names

from .api import served_payload, submit_payload
from .api_router import router
from .assignment import (
    AssignmentError,
    Conflict,
    do_assign_next_item,
    fetch_campaign,
    fetch_own_assignment,
    load_own_assignment,
    own_assignment_sql,
    prepared_cursor,
    row_loader,
)
from .models import Assignment, Campaign, Strength, UnacceptableReason
from .serializers import PICKS

MAX_MS = 86_400_000  # SubmitSerializer's bound for time_ms and duration_ms
PICK_VALUES = frozenset(str(pick) for pick in PICKS)
STRENGTH_VALUES = frozenset([*Strength.values, ""])
REASON_VALUES = frozenset(UnacceptableReason.values)
JSON_TYPES = ("application/json", "application/*", "*/*")


@cache
def _drf_view(name: str) -> Callable[..., HttpResponseBase]:
    """The router's view for a URL name: what answers whenever the lean view steps aside."""
    return next(pattern.callback for pattern in router.urls if pattern.name == name)  # type: ignore[union-attr,return-value]  # URLPatterns


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> str:  # the reason, not a 403 response:
        return reason


def _csrf_passes(request: HttpRequest) -> bool:
    """DRF's SessionAuthentication.enforce_csrf: the check CsrfViewMiddleware would make on this request."""
    check = _CSRFCheck(lambda _request: None)  # type: ignore[arg-type]  # never called: no response is made
    check.process_request(request)
    return check.process_view(request, None, (), {}) is None  # type: ignore[arg-type]  # None: no csrf_exempt


# What each endpoint reads with the token: (columns, LEFT JOIN with one placeholder, the primary key), and how.
SUBJECTS = {
    "campaign": lambda: (row_loader(Campaign, "c").columns, f"LEFT JOIN {Campaign._meta.db_table} c ON c.id = %s"),
    "assignment": lambda: (own_assignment_sql()[0],
                           f"LEFT JOIN ({own_assignment_sql()[1]}) ON a.id = %s AND a.annotator_id = u.id"),
}


def _load_subject(subject: str, row: Sequence[Any], offset: int, user: User) -> Campaign | Assignment | None:
    if subject == "campaign":
        return None if row[offset] is None else row_loader(Campaign, "c").load(row, offset)
    return load_own_assignment(row, offset, user)


def _fetch_subject(subject: str, user: User, pk: int) -> Campaign | Assignment | None:
    if subject == "campaign":
        try:
            return fetch_campaign(pk)
        except Campaign.DoesNotExist:
            return None
    return fetch_own_assignment(user, pk)


@cache
def _token_sql(subject: str) -> str:
    users = row_loader(get_user_model(), "u")
    groups, memberships = Group._meta.db_table, get_user_model().groups.through._meta.db_table
    columns, join = SUBJECTS[subject]()
    return (
        f"SELECT {users.columns}, ARRAY(SELECT g.name FROM {groups} g JOIN {memberships} ug "  # noqa: S608
        f"ON ug.group_id = g.id WHERE ug.user_id = u.id), {columns} FROM {users.model._meta.db_table} u "
        f"JOIN {Token._meta.db_table} t ON t.user_id = u.id {join} WHERE t.key = %s AND t.created > %s"
    )


def _token_user(request: HttpRequest, subject: str, pk: int) -> tuple[User, Campaign | Assignment | None] | None:
    """alfa_platform's TokenAuthenticationWithRoles, and the endpoint's row, in one prepared statement.

    Returns (user with roles, the campaign or own assignment `pk` or None), or None wherever DRF's token
    authentication would fail or not apply (no or malformed header, unknown key, inactive user): the same
    header parsing (DRF's), tables and checks. The row is only used once the user's role has been checked.
    """
    parts = get_authorization_header(request).split()  # type: ignore[arg-type]  # it reads META, which both have
    if len(parts) != 2 or parts[0].lower() != b"token":
        return None
    try:
        key = parts[1].decode()
    except UnicodeError:
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_token_sql(subject), [pk, key, expiry_cutoff()])  # an expired token: DRF answers 401
        row = cursor.fetchone()
    users = row_loader(get_user_model(), "u")
    if row is None:
        return None
    user = users.load(row)
    if not user.is_active:
        return None
    cast(Any, user)._alfa_roles = role_names(row[users.width], user.is_superuser)  # roles_of's per-request cache
    return user, _load_subject(subject, row, users.width + 1, user)


def _admit(request: HttpRequest, subject: str, pk: int) -> tuple[User, Any] | None:
    """(the annotator sending this request, the endpoint's row or None), or None to let the DRF action answer."""
    if request.method != "POST" or connection.vendor != "postgresql" or request.GET:
        return None  # other methods (405, OPTIONS), SQLite, ?format= overrides: the DRF action
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and ("text/html" in accept or not any(kind in accept for kind in JSON_TYPES)):
        return None  # the browsable API, or a 406
    user = request.user  # the session's user (AuthenticationMiddleware), anonymous without a session cookie
    if user.is_authenticated:  # DRF tries the session first, and then checks CSRF
        if not user.is_active or not _csrf_passes(request) or not has_role(user, Role.ANNOTATOR):
            return None
        return user, _fetch_subject(subject, user, pk)
    admitted = _token_user(request, subject, pk)
    return admitted if admitted is not None and has_role(admitted[0], Role.ANNOTATOR) else None


def _json(payload: Any, status: int = 200) -> HttpResponse:
    response = HttpResponse(orjson.dumps(payload), content_type="application/json", status=status)
    response.headers["Vary"] = "Accept"  # what DRF's responses carry
    response.headers["Allow"] = "POST, OPTIONS"
    return response


def _is_ms(value: object) -> bool:
    return value is None or (type(value) is int and 0 <= value <= MAX_MS)


def _plain_entry(entry: object) -> bool:
    """Whether one judgment entry is one SubmitSerializer keeps unchanged (no coercion, no error)."""
    if type(entry) is not dict:
        return False
    attribute, pick = entry.get("attribute"), entry.get("pick")
    if type(attribute) is not str or not 0 < len(attribute) <= 32 or attribute != attribute.strip():
        return False
    if type(pick) is not str or pick not in PICK_VALUES:
        return False
    if "strength" in entry and (type(entry["strength"]) is not str or entry["strength"] not in STRENGTH_VALUES):
        return False
    if "reasons" in entry:
        reasons = entry["reasons"]
        if type(reasons) is not list or any(type(r) is not str or r not in REASON_VALUES for r in reasons):
            return False
    if "rationale" in entry:
        rationale = entry["rationale"]
        if type(rationale) is not str or len(rationale) > 5000 or "\x00" in rationale:
            return False
    return "time_ms" not in entry or _is_ms(entry["time_ms"])


def _plain_submission(request: HttpRequest) -> tuple[list[dict[str, Any]], int | None, bool] | None:
    """The (judgments, duration_ms, next) of a JSON body SubmitSerializer would accept as it is, else None."""
    if request.content_type != "application/json":
        return None
    try:
        body = orjson.loads(request.body)  # refuses lone surrogates, which DRF's CharField rejects too
    except orjson.JSONDecodeError:
        return None
    if type(body) is not dict or type(body.get("judgments")) is not list:
        return None
    duration, want_next = body.get("duration_ms"), body.get("next", False)
    if not _is_ms(duration) or type(want_next) is not bool:
        return None
    if not all(_plain_entry(entry) for entry in body["judgments"]):
        return None
    return body["judgments"], duration, want_next


@csrf_exempt  # session requests get DRF's CSRF check in _admit; token requests need none
def next_item(request: HttpRequest, pk: int) -> HttpResponseBase:
    """POST /api/annotation/campaigns/{pk}/next/ (see api.CampaignViewSet.next)."""
    admitted = _admit(request, "campaign", pk)
    if admitted is not None and admitted[1] is not None:
        user, campaign = admitted
        try:
            assignment = do_assign_next_item(campaign, user)
        except AssignmentError:
            pass  # nothing changed (rolled back): the DRF action answers 404 or 400
        else:
            return _json(served_payload(campaign, user, assignment))
    return _drf_view("annotation-campaign-next")(request, pk=str(pk))


@csrf_exempt  # as next_item
def submit(request: HttpRequest, pk: int) -> HttpResponseBase:
    """POST /api/annotation/assignments/{pk}/submit/ (see api.AssignmentViewSet.submit)."""
    submission = _plain_submission(request) if request.method == "POST" else None
    admitted = _admit(request, "assignment", pk) if submission is not None else None
    if admitted is not None and admitted[1] is not None and submission is not None:
        (user, assignment), (entries, duration, want_next) = admitted, submission
        try:
            return _json(submit_payload(assignment, user, entries, duration, want_next))
        except Conflict as exc:
            return _json({"detail": str(exc)}, status=409)
        except AssignmentError:
            pass  # rolled back; the DRF action repeats it and answers 400 or 404
    return _drf_view("annotation-assignment-submit")(request, pk=str(pk))
