"""REST API routes of the audit app."""

from rest_framework.routers import DefaultRouter

from .api import AuditRecordViewSet, SoftDeletionViewSet

router = DefaultRouter()
router.register("records", AuditRecordViewSet, basename="audit-record")
router.register("deletions", SoftDeletionViewSet, basename="audit-deletion")
urlpatterns = router.urls
