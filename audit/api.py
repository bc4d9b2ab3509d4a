"""The audit trail over the API: read-only, admins only, with the page's filters."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError

from alfa_platform.roles import IsAdmin

from .filters import TrailFilterForm
from .models import AuditRecord
from .serializers import AuditRecordSerializer

FILTERS = [
    OpenApiParameter("user", OpenApiTypes.STR, description="The acting user's username."),
    OpenApiParameter("object_type", OpenApiTypes.STR, description="app.model, e.g. annotation.campaign."),
    OpenApiParameter("object_id", OpenApiTypes.STR),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Records are never written through the API: there is no create, update or delete."""

    permission_classes = [IsAdmin]
    serializer_class = AuditRecordSerializer
    lookup_field = "sequence"
    queryset = AuditRecord.objects.select_related("content_type")

    def get_queryset(self):
        if self.action != "list":
            return super().get_queryset()
        form = TrailFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        return form.filter(super().get_queryset())
