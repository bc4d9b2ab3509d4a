"""REST API routes of the annotation app, under /api/annotation/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api, fast_api

router = DefaultRouter()
router.register("campaigns", api.CampaignViewSet, basename="annotation-campaign")
router.register("assignments", api.AssignmentViewSet, basename="annotation-assignment")
router.register("judgments", api.JudgmentViewSet, basename="annotation-judgment")
router.register("adjudications", api.AdjudicationViewSet, basename="annotation-adjudication")
router.register("gold", api.GoldViewSet, basename="annotation-gold")
router.register("releases", api.ReleaseViewSet, basename="annotation-release")


# The page's two hot endpoints first: annotation/fast_api.py serves their common case and hands everything else to
# the router's DRF actions below, which stay the reference (and what the OpenAPI schema describes).
urlpatterns = [
    path("campaigns/<int:pk>/next/", fast_api.next_item),
    path("assignments/<int:pk>/submit/", fast_api.submit),
    *router.urls,
]
