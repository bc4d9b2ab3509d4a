"""REST API routes of every app, under /api/."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("token/", obtain_auth_token, name="api-token"),
    path("corpus/", include("corpus.api_urls")),
    path("jobs/", include("jobs.api_urls")),
    path("synthesis/", include("synthesis.api_urls")),
    path("annotation/", include("annotation.api_urls")),
    path("datasets/", include("dataversions.api_urls")),
    path("training/", include("training.api_urls")),
    path("evaluation/", include("evaluation.api_urls")),
]
