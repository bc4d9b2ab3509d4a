"""Project-level pages: the home dashboard and a health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "alfa_platform/home.html")


def health(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database answers (used by docker-compose and make run)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
