"""REST endpoints of evaluation, leads only (episodes carry the MCQ keys): runs, episodes, case sets, the
leaderboard, and launching runs."""

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from alfa_platform.auth_requests import AuthenticatedRequest
from alfa_platform.params import parse_id
from alfa_platform.roles import IsLead

from .actions import (
    EvaluationError,
    do_enqueue_generation,
    do_enqueue_interactive,
    do_enqueue_winrate,
    do_start_expert_check,
)
from .models import CaseSet, Episode, EvaluationRun, RunKind
from .results import leaderboard, run_export
from .serializers import (
    CaseSetSerializer,
    EpisodeDetailSerializer,
    EpisodeSerializer,
    ExpertCheckRequestSerializer,
    GenerationRequestSerializer,
    InteractiveRequestSerializer,
    RunDetailSerializer,
    RunSerializer,
    WinrateRequestSerializer,
)


@extend_schema(tags=["evaluation"])
class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Runs, newest first (filter by ?kind=); POST to interactive/, winrate/, generation/ or expert_check/."""

    permission_classes = [IsLead]
    queryset = EvaluationRun.objects.select_related("job", "case_set")
    request: AuthenticatedRequest

    def get_serializer_class(self) -> type[BaseSerializer]:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_queryset(self) -> QuerySet[EvaluationRun]:
        queryset = super().get_queryset()
        if (kind := self.request.query_params.get("kind")) in RunKind.values:
            queryset = queryset.filter(kind=kind)
        return queryset

    def launch(self, serializer_class: type[BaseSerializer], enqueue: Callable[..., EvaluationRun]) -> Response:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        try:
            run = enqueue(serializer.validated_data["config"], owner=self.request.user)
        except EvaluationError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(RunDetailSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InteractiveRequestSerializer, responses={201: RunDetailSerializer})
    @action(detail=False, methods=["post"])
    def interactive(self, request: Request) -> Response:
        return self.launch(InteractiveRequestSerializer, do_enqueue_interactive)

    @extend_schema(request=WinrateRequestSerializer, responses={201: RunDetailSerializer})
    @action(detail=False, methods=["post"])
    def winrate(self, request: Request) -> Response:
        return self.launch(WinrateRequestSerializer, do_enqueue_winrate)

    @extend_schema(request=GenerationRequestSerializer, responses={201: RunDetailSerializer})
    @action(detail=False, methods=["post"])
    def generation(self, request: Request) -> Response:
        return self.launch(GenerationRequestSerializer, do_enqueue_generation)

    @extend_schema(request=ExpertCheckRequestSerializer, responses={201: RunDetailSerializer})
    @action(detail=False, methods=["post"])
    def expert_check(self, request: Request) -> Response:
        return self.launch(ExpertCheckRequestSerializer, do_start_expert_check)

    @extend_schema(responses={200: EpisodeSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def episodes(self, request: Request, pk: str | None = None) -> Response:
        """The run's episodes without transcripts (GET /api/evaluation/episodes/ID/ for one with its transcript)."""
        episodes = self.get_object().episodes.order_by("repeat", "item__position")
        page = self.paginate_queryset(episodes)
        return self.get_paginated_response(EpisodeSerializer(page, many=True).data)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str | None = None) -> Response:
        """Everything about the run as one object: parameters, provenance, metrics and per-item results."""
        return Response(run_export(self.get_object()))


@extend_schema(tags=["evaluation"])
class EpisodeViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = EpisodeDetailSerializer
    queryset = Episode.objects.order_by("run", "repeat", "item__position")


@extend_schema(tags=["evaluation"])
class CaseSetViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = CaseSetSerializer
    queryset = CaseSet.objects.all()


@extend_schema(tags=["evaluation"], responses={200: dict},
               parameters=[OpenApiParameter("baseline", int, description="Interactive run for error reduction.")])
class LeaderboardView(APIView):
    """Every evaluated model with its newest win-rates and interactive accuracy, with intervals."""

    permission_classes = [IsLead]

    def get(self, request: Request) -> Response:
        baseline = None
        if (value := parse_id(request.query_params.get("baseline", ""))) is not None:
            baseline = EvaluationRun.objects.filter(pk=value, kind=RunKind.INTERACTIVE,
                                                    finished_at__isnull=False).first()
        return Response(leaderboard(baseline))
