"""REST API routes of the audit app."""

from rest_framework.routers import DefaultRouter

from .api import AuditRecordViewSet

router = DefaultRouter()
router.register("records", AuditRecordViewSet, basename="audit-record")
urlpatterns = router.urls
