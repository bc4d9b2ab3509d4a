"""REST endpoints (leads): training runs (create, metrics, cancel), trained models and merges."""


from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import IsLead
from jobs.actions import JobError, do_cancel_job
from jobs.serializers import JobSerializer

from .actions import TrainingError, do_create_merge, do_create_training_run, do_serve_model, find_dataset_version
from .models import TrainedModel, TrainingRun
from .serializers import (
    CreateTrainingRunSerializer,
    MergeSerializer,
    ServeSerializer,
    TrainedModelSerializer,
    TrainingMetricSerializer,
    TrainingRunSerializer,
)


def refused(exc: Exception) -> ValidationError:
    """Return the API's 400 for a request the actions refuse, with the message every front end shows."""
    return ValidationError({"non_field_errors": [str(exc)]})


@extend_schema(tags=["training"])
class RunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    queryset = TrainingRun.objects.select_related("job", "dataset_version__dataset", "base_trained_model",
                                                  "trained_model", "created_by")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return CreateTrainingRunSerializer if self.action == "create" else TrainingRunSerializer

    @extend_schema(request=CreateTrainingRunSerializer, responses={202: TrainingRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CreateTrainingRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            run = do_create_training_run(
                data["method"], find_dataset_version(data["dataset_version"]), data["base_model"],
                attributes=data["attributes"], pair_types=data["pair_types"], config=data["config"],
                name=data["name"], user=as_user(request.user), queue=data["queue"])
        except TrainingError as exc:
            raise refused(exc) from exc
        return Response(TrainingRunSerializer(self.get_queryset().get(pk=run.pk)).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=TrainingMetricSerializer(many=True), parameters=[
        OpenApiParameter("split", str, required=False, description="train or eval"),
        OpenApiParameter("after", int, required=False, description="Only steps after this one (for polling).")])
    @action(detail=True)
    def metrics(self, request: Request, pk: str | None = None) -> Response:
        metrics = self.get_object().metrics.order_by("split", "step")
        if split := request.query_params.get("split"):
            metrics = metrics.filter(split=split)
        after = request.query_params.get("after", "")
        if after.isascii() and after.isdigit():
            metrics = metrics.filter(step__gt=int(after))
        page = self.paginate_queryset(metrics)
        return self.get_paginated_response(TrainingMetricSerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        try:
            job = do_cancel_job(run.job)
        except JobError as exc:
            raise refused(exc) from exc
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["training"])
class TrainedModelViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = TrainedModelSerializer
    queryset = TrainedModel.objects.select_related("endpoint").prefetch_related("parent_links__parent")
    lookup_field = "name"

    @extend_schema(request=MergeSerializer, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def merge(self, request: Request) -> Response:
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            job = do_create_merge(data["models"], data["name"], weights=data["weights"],
                                  leave_one_out=data["leave_one_out"], user=as_user(request.user))
        except TrainingError as exc:
            raise refused(exc) from exc
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ServeSerializer, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def serve(self, request: Request, name: str | None = None) -> Response:
        """Serve the model over HTTP as endpoint <name>-http until the returned job is cancelled."""
        serializer = ServeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = do_serve_model(self.get_object(), port=serializer.validated_data["port"],
                                 user=as_user(request.user))
        except TrainingError as exc:
            raise refused(exc) from exc
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
