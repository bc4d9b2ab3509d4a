"""REST API routes of every app, under /api/."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .tokens import ObtainExpiringAuthToken, TokenViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tokens", TokenViewSet, basename="api-tokens")

urlpatterns = [
    path("token/", ObtainExpiringAuthToken.as_view(), name="api-token"),
    path("", include(router.urls)),
    path("corpus/", include("corpus.api_urls")),
    path("jobs/", include("jobs.api_urls")),
    path("synthesis/", include("synthesis.api_urls")),
    path("annotation/", include("annotation.api_urls")),
    path("datasets/", include("dataversions.api_urls")),
    path("training/", include("training.api_urls")),
    path("evaluation/", include("evaluation.api_urls")),
    path("audit/", include("audit.api_urls")),
]
