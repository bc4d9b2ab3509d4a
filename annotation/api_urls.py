"""REST API routes of the annotation app, under /api/annotation/."""

from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("campaigns", api.CampaignViewSet, basename="annotation-campaign")
router.register("assignments", api.AssignmentViewSet, basename="annotation-assignment")
router.register("judgments", api.JudgmentViewSet, basename="annotation-judgment")
router.register("adjudications", api.AdjudicationViewSet, basename="annotation-adjudication")
router.register("gold", api.GoldViewSet, basename="annotation-gold")
router.register("releases", api.ReleaseViewSet, basename="annotation-release")
urlpatterns = router.urls
