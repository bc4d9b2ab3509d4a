"""API tokens: issued by /api/token/ (locked out by django-axes after repeated failures), expiring after
settings.ALFA_API_TOKEN_TTL_DAYS, listed and revoked by their owner on /account/tokens/ and /api/tokens/
(admins: anyone's). DRF's Token model keeps one token per user; its id here is the owner's user id, never the key.
"""

from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .authentication import expires_at, is_expired
from .roles import IsAnnotator, Role, has_role, role_required


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this account or from this address; try again in {minutes} minutes "
        "or ask an admin to unlock it."
    )


LOCAL_LOGIN_OFF_MESSAGE = "Password login is switched off (ALFA_LOCAL_LOGIN); sign in with single sign-on."


def issue_token(user: User) -> Token:
    """Return the user's token, replacing an expired one with a fresh key."""
    token = Token.objects.filter(user=user).first()
    if token is not None and is_expired(token):
        token.delete()
        token = None
    return token or Token.objects.create(user=user)


def visible_tokens(user: User | AnonymousUser) -> QuerySet[Token]:
    """The tokens a user may list and revoke: their own, or everyone's for an admin."""
    tokens = Token.objects.select_related("user").order_by("user__username")
    # callers admit only users with a role, so never an anonymous one
    return tokens if has_role(user, Role.ADMIN) else tokens.filter(user=cast(User, user))


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id", read_only=True, help_text="The owner's user id.")
    user = serializers.CharField(source="user.username", read_only=True)
    created = serializers.DateTimeField(read_only=True)
    expires_at = serializers.SerializerMethodField()
    expired = serializers.SerializerMethodField()

    def get_expires_at(self, token: Token) -> datetime:
        return expires_at(token)

    def get_expired(self, token: Token) -> bool:
        return is_expired(token)


class ObtainExpiringAuthToken(ObtainAuthToken):
    """DRF's token endpoint, answering 429 once django-axes locks the account or address, with an expiry date."""

    # The project's parsers (ObtainAuthToken names its own): the same body checks as every other endpoint.
    # api_settings imports the classes; its stub types the setting as their dotted paths
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # type: ignore[assignment]

    @extend_schema(
        request=ObtainAuthToken.serializer_class,
        responses={
            200: inline_serializer("IssuedToken", {"token": serializers.CharField(),
                                                   "expires_at": serializers.DateTimeField()}),
            # Wrong credentials (non_field_errors), a missing field (its name), or a body that does not parse (detail).
            400: inline_serializer("TokenRefused", {
                "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
                "username": serializers.ListField(child=serializers.CharField(), required=False),
                "password": serializers.ListField(child=serializers.CharField(), required=False),
                "detail": serializers.CharField(required=False),
            }),
            403: inline_serializer("PasswordLoginOff", {"detail": serializers.CharField()}),
            429: inline_serializer("TokenLockedOut", {"detail": serializers.CharField()}),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not settings.ALFA_LOCAL_LOGIN:
            return Response({"detail": LOCAL_LOGIN_OFF_MESSAGE}, status=status.HTTP_403_FORBIDDEN)
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # AxesBackend marks the request when the account or the address is locked out.
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            raise
        token = issue_token(serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": expires_at(token)})


class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):
    """List and revoke API tokens: your own, or anyone's as an admin; another user's token answers 404."""

    serializer_class = TokenSerializer
    permission_classes = [IsAnnotator]
    lookup_field = "user_id"
    lookup_value_regex = r"\d+"
    pagination_class = None

    def get_queryset(self) -> QuerySet[Token]:
        return visible_tokens(self.request.user)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page with the lockout message (429), or JSON under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=429)
    return render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)


@role_required(Role.ANNOTATOR)
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = [{"token": token, "expires_at": expires_at(token), "expired": is_expired(token)}
              for token in visible_tokens(request.user)]
    return render(request, "alfa_platform/tokens.html", {
        "tokens": tokens, "ttl_days": settings.ALFA_API_TOKEN_TTL_DAYS, "is_admin": has_role(request.user, Role.ADMIN),
    })


@role_required(Role.ANNOTATOR)
@require_POST
def token_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    token = visible_tokens(request.user).filter(user_id=user_id).first()
    if token is None:
        raise Http404("No such token.")
    token.delete()
    messages.success(request, f"Revoked the API token of {token.user.username}.")
    return redirect("tokens")
