"""REST endpoints (leads): datasets, versions (create from a filter, rows, card, diff, export), exports."""


from collections.abc import Mapping
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings

from alfa_platform.roles import IsLead
from jobs.configs.serializers import nested_errors

from .actions import DatasetError, do_create_version, do_export_version
from .card import dataset_card
from .diffs import diff_versions
from .downloads import export_download
from .formats import FormatError
from .models import Dataset, DatasetExport, DatasetRow, DatasetVersion
from .selection import SelectionError
from .serializers import (
    CreateVersionSerializer,
    DatasetSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    RowSerializer,
    VersionSerializer,
)


@extend_schema(tags=["datasets"])
class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = DatasetSerializer
    queryset = Dataset.objects.prefetch_related("versions")
    lookup_field = "name"


def filter_rows(rows: QuerySet[DatasetRow], params: Mapping[str, str]) -> QuerySet[DatasetRow]:
    for name in ("split", "attribute", "pair_type", "qid"):
        if value := params.get(name):
            rows = rows.filter(**{name: value})
    if text := params.get("q"):
        rows = rows.filter(row_id__icontains=text)
    return rows


@extend_schema(tags=["datasets"])
class VersionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    queryset = DatasetVersion.objects.select_related("dataset", "created_by").prefetch_related(
        "source_jobs", "templates", "campaigns")

    def get_serializer_class(self) -> type[BaseSerializer]:
        return CreateVersionSerializer if self.action == "create" else VersionSerializer

    def get_queryset(self) -> QuerySet[DatasetVersion]:
        versions = super().get_queryset()
        if name := self.request.query_params.get("dataset"):
            versions = versions.filter(dataset__name=name)
        return versions

    @extend_schema(request=CreateVersionSerializer, responses={202: VersionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CreateVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            version = do_create_version(data["name"], data["selection"]["config"].to_dict(),
                                        cast(User, request.user), data["description"])  # IsLead: signed in
        except SelectionError as exc:  # the filter passed the serializer; the database changed since
            raise ValidationError({"selection": nested_errors(exc.errors)}) from exc
        except DatasetError as exc:  # as a nested serializer's own non-field errors, so `selection` is one shape
            raise ValidationError({"selection": {api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]}}) from exc
        version.refresh_from_db()
        return Response(VersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=RowSerializer(many=True), parameters=[
        OpenApiParameter(name, str, required=False) for name in ("split", "attribute", "pair_type", "qid", "q")])
    @action(detail=True)
    def rows(self, request: Request, pk: str | None = None) -> Response:
        rows = filter_rows(self.get_object().rows.order_by("position"), request.query_params)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RowSerializer(page, many=True).data)

    @extend_schema(responses={200: {"type": "object", "properties": {"card": {"type": "string"}}}})
    @action(detail=True)
    def card(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        if not version.is_ready:
            raise ValidationError({"detail": f"{version} is {version.status}; its card comes when it is ready."})
        return Response({"card": dataset_card(version)})

    @extend_schema(parameters=[OpenApiParameter("against", int, required=True)],
                   responses={200: {"type": "object"}})
    @action(detail=True)
    def diff(self, request: Request, pk: str | None = None) -> Response:
        against = request.query_params.get("against", "")
        if not against.isascii() or not against.isdigit():
            raise ValidationError({"against": ["Give the id of the version to compare with."]})
        other = DatasetVersion.objects.filter(pk=int(against)).first()
        if other is None:
            raise Http404("No such version.")
        return Response(diff_versions(other, self.get_object()))

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    @action(detail=True, methods=["post"])
    def export(self, request: Request, pk: str | None = None) -> Response:
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            export = do_export_version(self.get_object(), serializer.validated_data["format"],
                                       serializer.validated_data["files"], cast(User, request.user))
        except (DatasetError, FormatError) as exc:
            raise ValidationError({"detail": [str(exc)]}) from exc
        export.refresh_from_db()
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["datasets"])
class ExportViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = ExportSerializer
    queryset = DatasetExport.objects.select_related("version__dataset")

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True)
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        return export_download(self.get_object())
