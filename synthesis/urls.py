"""URLs of the synthesis app."""

from django.urls import path  # noqa: F401

app_name = "synthesis"
urlpatterns = []
