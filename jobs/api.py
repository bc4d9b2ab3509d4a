"""REST endpoints for jobs: list, read and retry (leads), cancel (also the job's creator)."""

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from alfa_platform.roles import IsLead

from .actions import JobError, do_cancel_job, do_retry_job
from .models import Job
from .permissions import MayCancelJob
from .serializers import JobDetailSerializer, JobSerializer


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Job]):
    permission_classes = [IsLead]
    queryset = Job.objects.select_related("owner").defer("log_tail", "traceback")

    def get_queryset(self) -> QuerySet[Job]:
        jobs = super().get_queryset()
        for field in ("kind", "status", "queue"):
            if value := self.request.query_params.get(field):
                jobs = jobs.filter(**{field: value})
        return jobs if self.action == "list" else Job.objects.select_related("owner")

    def get_serializer_class(self) -> type[BaseSerializer[Job]]:
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    def _transition(self, change: Callable[[Job], Job]) -> Response:
        job = self.get_object()
        try:
            job = change(job)
        except JobError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(JobDetailSerializer(job, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=JobDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[MayCancelJob])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(do_cancel_job)

    @extend_schema(request=None, responses=JobDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(do_retry_job)
