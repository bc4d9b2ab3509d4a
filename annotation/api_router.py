"""The annotation API's DRF router: api_urls serves its routes, and fast_api hands it what the lean views do not."""

from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("campaigns", api.CampaignViewSet, basename="annotation-campaign")
router.register("assignments", api.AssignmentViewSet, basename="annotation-assignment")
router.register("judgments", api.JudgmentViewSet, basename="annotation-judgment")
router.register("adjudications", api.AdjudicationViewSet, basename="annotation-adjudication")
router.register("gold", api.GoldViewSet, basename="annotation-gold")
router.register("releases", api.ReleaseViewSet, basename="annotation-release")
