"""REST routes of dataset versions, under /api/datasets/."""

from rest_framework.routers import DefaultRouter

from .api import DatasetViewSet, ExportViewSet, VersionViewSet

router = DefaultRouter()
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("versions", VersionViewSet, basename="dataset-version")
router.register("exports", ExportViewSet, basename="dataset-export")
urlpatterns = router.urls
