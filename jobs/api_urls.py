"""REST API routes of the jobs app."""

from rest_framework.routers import DefaultRouter

from .api import JobViewSet

router = DefaultRouter()
router.register("", JobViewSet, basename="job")
urlpatterns = router.urls
