"""The audit trail over the API (read-only, admins, the page's filters), and soft deletion and restore."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import IsAdmin, IsLead

from .filters import TrailFilterForm
from .models import AuditRecord, SoftDeletion
from .serializers import AuditRecordSerializer, DeleteRequestSerializer, SoftDeletionSerializer
from .softdelete import SoftDeleteError, closing_changes, do_restore, do_soft_delete, live_object

FILTERS = [
    OpenApiParameter("user", OpenApiTypes.STR, description="The acting user's username."),
    OpenApiParameter("object_type", OpenApiTypes.STR, description="app.model, e.g. annotation.campaign."),
    OpenApiParameter("object_id", OpenApiTypes.STR),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AuditRecord]):
    """Records are never written through the API: there is no create, update or delete."""

    permission_classes = [IsAdmin]
    serializer_class = AuditRecordSerializer
    lookup_value_regex = r"\d+"
    queryset = AuditRecord.objects.select_related("content_type")

    def get_queryset(self) -> QuerySet[AuditRecord]:
        if self.action != "list":
            return super().get_queryset()
        form = TrailFilterForm(self.request.query_params)
        if not form.is_valid():
            # DRF takes a form's ErrorDict (a dict of lists); the stub's input type has no ErrorList
            raise ValidationError(form.errors)  # type: ignore[arg-type]
        return form.filter(super().get_queryset())


class SoftDeletionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[SoftDeletion]):
    """Leads soft-delete a campaign or dataset version; admins list what is deleted and restore it."""

    queryset = SoftDeletion.objects.select_related("content_type", "deleted_by")
    serializer_class = SoftDeletionSerializer

    def get_permissions(self) -> list[BasePermission]:
        return [IsLead()] if self.action == "create" else [IsAdmin()]

    @extend_schema(request=DeleteRequestSerializer, responses={201: SoftDeletionSerializer})
    def create(self, request: Request) -> Response:
        data = DeleteRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = live_object(data.validated_data["object_type"], data.validated_data["object_id"])
        if obj is None:
            raise NotFound("No such campaign or dataset version.")
        deletion = do_soft_delete(obj, as_user(request.user), **closing_changes(obj))
        return Response(SoftDeletionSerializer(deletion).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SoftDeletionSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        deletion = self.get_object()
        try:
            do_restore(deletion, as_user(request.user))
        except SoftDeleteError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(SoftDeletionSerializer(deletion).data)
