"""REST API routes of the synthesis app, under /api/synthesis/."""

from rest_framework.routers import DefaultRouter

from .api import (
    AttributeViewSet,
    EndpointViewSet,
    PreferencePairViewSet,
    PromptTemplateViewSet,
    RewriteViewSet,
    SynthesisJobViewSet,
    VerificationViewSet,
)

router = DefaultRouter()
router.register("attributes", AttributeViewSet, basename="synthesis-attribute")
router.register("templates", PromptTemplateViewSet, basename="synthesis-template")
router.register("endpoints", EndpointViewSet, basename="synthesis-endpoint")
router.register("rewrites", RewriteViewSet, basename="synthesis-rewrite")
router.register("verifications", VerificationViewSet, basename="synthesis-verification")
router.register("pairs", PreferencePairViewSet, basename="synthesis-pair")
router.register("jobs", SynthesisJobViewSet, basename="synthesis-job")
urlpatterns = router.urls
