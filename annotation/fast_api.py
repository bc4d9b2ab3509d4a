"""The annotation page's two hot endpoints, next item and submit, without DRF's per-view dispatch.

The page calls one of them for every judgment, so their CPU cost bounds how many judgments a server handles per
second. The DRF actions (`api.CampaignViewSet.next`, `api.AssignmentViewSet.submit`) stay the reference and answer
at the same URLs whenever these views do not. These views are built from DRF's own parts, not copies of them: a
rest_framework Request with the actions' authentication classes (the session with DRF's CSRF check, then the
token), their permission class, DRF's content negotiation, DRF's JSON parser and SubmitSerializer. What they
leave out is the dispatch around them (the viewset, its queryset and lookup, the browsable-API renderer), which
cost more than the operation. Whatever any of those parts refuses (other methods, bad credentials, a failed CSRF
check, a bad body, another user's assignment, a client asking for the browsable API) goes to the DRF action before
any side effect, and the DRF action answers exactly as it always does.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import BaseAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from alfa_platform.authentication import TokenAuthenticationWithRoles
from alfa_platform.plain_data import validated_data
from alfa_platform.roles import IsAnnotator

from .api import AssignmentViewSet, CampaignViewSet, served_payload, submit_payload
from .api_router import router
from .assignment import AssignmentError, Conflict, assignment_store
from .models import Assignment, Campaign
from .serializers import SubmitSerializer


@cache
def _drf_view(name: str) -> Callable[..., HttpResponseBase]:
    """The router's view for a URL name: what answers whenever the lean view steps aside."""
    return next(pattern.callback for pattern in router.urls if pattern.name == name)  # type: ignore[union-attr,return-value]  # URLPatterns


class TokenAuthenticationWithOwnAssignment(TokenAuthenticationWithRoles):
    """The submit endpoint's token authentication: the viewset's, reading the token user's own assignment `pk` in
    the same statement (one round trip per judgment instead of two on PostgreSQL). The assignment is used only
    once the user's role has been checked, and never for anyone but its own annotator."""

    def __init__(self, pk: int) -> None:
        self.pk = pk
        self.assignment: Assignment | None = None

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        found, self.assignment = assignment_store().token_user_with_own_assignment(key, self.pk)
        return self.admit(key, found)


def _authenticators(viewset: type[GenericViewSet], token: TokenAuthenticationWithRoles | None
                    ) -> list[BaseAuthentication]:
    """The viewset's authentication classes, the token's replaced by `token` (a subclass of it) if given."""
    return [token if token is not None and isinstance(token, authentication) else authentication()
            for authentication in viewset.authentication_classes]


def _annotator_request(request: HttpRequest, viewset: type[GenericViewSet],
                       token: TokenAuthenticationWithRoles | None = None) -> tuple[Request, User] | None:
    """The DRF request and its annotator, as the viewset's action would authenticate and admit them; None to step
    aside.

    None for other methods and query strings (a `?format=` override), for a client the DRF action would answer
    with another renderer (the browsable API) or a 406, and wherever authentication or the permission fails.
    """
    if request.method != "POST" or request.GET:
        return None
    request.body  # noqa: B018  (read once and kept: the DRF action, if it answers, parses the body again)
    session_user = request.user  # DRF's Request replaces it when authentication fails; the DRF action needs it
    drf = Request(request, parsers=[parser() for parser in viewset.parser_classes],
                  authenticators=_authenticators(viewset, token))
    try:
        renderer, _media = DefaultContentNegotiation().select_renderer(
            drf, [renderer() for renderer in viewset.renderer_classes])
        user = drf.user  # DRF's authenticators: the session (with its CSRF check), then the token
        admitted = isinstance(renderer, JSONRenderer) and IsAnnotator().has_permission(drf, None)  # type: ignore[arg-type]  # no view: none is read
    except APIException:
        admitted = False
    if not admitted or not isinstance(user, User):
        request.user = session_user
        return None
    return drf, user


def _json(payload: Any, status: int = 200) -> HttpResponse:
    response = HttpResponse(orjson.dumps(payload), content_type="application/json", status=status)
    response.headers["Vary"] = "Accept"  # what DRF's responses carry
    response.headers["Allow"] = "POST, OPTIONS"
    return response


@csrf_exempt  # session requests get DRF's CSRF check from SessionAuthentication; token requests need none
def next_item(request: HttpRequest, pk: int) -> HttpResponseBase:
    """POST /api/annotation/campaigns/{pk}/next/ (see api.CampaignViewSet.next)."""
    admitted = _annotator_request(request, CampaignViewSet)
    if admitted is not None:
        user = admitted[1]
        try:
            campaign, assignment = assignment_store().next_item_for(pk, user)
            return _json(served_payload(campaign, user, assignment))
        except (Campaign.DoesNotExist, AssignmentError):
            pass  # nothing changed (rolled back): the DRF action answers 404, 409 or 400
    return _drf_view("annotation-campaign-next")(request, pk=str(pk))


@csrf_exempt  # as next_item
def submit(request: HttpRequest, pk: int) -> HttpResponseBase:
    """POST /api/annotation/assignments/{pk}/submit/ (see api.AssignmentViewSet.submit)."""
    token = TokenAuthenticationWithOwnAssignment(pk)
    admitted = _annotator_request(request, AssignmentViewSet, token)
    if admitted is not None:
        drf, user = admitted
        assignment = (token.assignment if drf.successful_authenticator is token
                      else assignment_store().fetch_own_assignment(user, pk))
        body = _valid_submission(drf) if assignment is not None else None
        if assignment is not None and body is not None:
            assignment.annotator = user  # the same row; keeps the roles already read for this request
            try:
                return _json(submit_payload(assignment, user, body["judgments"], body.get("duration_ms"),
                                            body["next"]))
            except Conflict as exc:
                return _json({"detail": str(exc)}, status=409)
            except AssignmentError:
                pass  # rolled back; the DRF action repeats it and answers 400 or 404
    return _drf_view("annotation-assignment-submit")(request, pk=str(pk))


def _valid_submission(drf: Request) -> dict[str, Any] | None:
    """The body as SubmitSerializer validates it, or None (a parse or validation error: the DRF action answers)."""
    try:
        return validated_data(SubmitSerializer, drf.data)
    except APIException:  # ParseError, ValidationError
        return None
