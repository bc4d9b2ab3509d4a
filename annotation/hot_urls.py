"""The annotation page's two hot endpoints, which the root URLconf tries before any other pattern.

annotation/fast_api.py serves their common case and hands everything else to the router's DRF actions at the same
URLs (annotation/api_urls.py), which stay the reference (and what the OpenAPI schema describes).
"""

from django.urls import path

from . import fast_api

urlpatterns = [
    path("campaigns/<int:pk>/next/", fast_api.next_item),
    path("assignments/<int:pk>/submit/", fast_api.submit),
]
