"""Project-level pages: the home dashboard, the login page and a health check."""

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .oidc import is_local_login_enabled, is_sso_enabled


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "alfa_platform/home.html")


class LoginView(auth_views.LoginView):
    """Django's login page, offering single sign-on when configured; passwords refused (403) with local login off."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_local_login_enabled():
            return self.render_to_response(self.get_context_data(password_refused=True), status=403)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            sso_enabled=is_sso_enabled(), sso_name=settings.ALFA_OIDC_PROVIDER_NAME,
            local_login=is_local_login_enabled(), **kwargs,
        )


def health(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database answers (used by docker-compose and make run)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
