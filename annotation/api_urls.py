"""REST API routes of the annotation app, under /api/annotation/."""

from django.urls import path

from . import fast_api
from .api_router import router

# The page's two hot endpoints first: annotation/fast_api.py serves their common case and hands everything else to
# the router's DRF actions below, which stay the reference (and what the OpenAPI schema describes).
urlpatterns = [
    path("campaigns/<int:pk>/next/", fast_api.next_item),
    path("assignments/<int:pk>/submit/", fast_api.submit),
    *router.urls,
]
