"""REST endpoints of synthesis, leads only: catalogue, templates, endpoints, rewrites, verdicts, pairs and jobs."""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import IsLead
from jobs.models import Job
from jobs.serializers import JobSerializer

from .actions import (
    SynthesisError,
    active_template,
    do_enqueue_pair_build,
    do_enqueue_synthesis,
    do_enqueue_verification,
    do_override_verdict,
    do_save_endpoint,
    do_supersede_template,
)
from .models import Attribute, ModelEndpoint, PreferencePair, PromptTemplate, Rewrite, Verification
from .prompts import lint_template
from .reports import acceptance_table
from .serializers import (
    AcceptanceRowSerializer,
    AttributeSerializer,
    EndpointSerializer,
    LintIssueSerializer,
    OverrideSerializer,
    PairBuildRequestSerializer,
    PreferencePairSerializer,
    PromptTemplateSerializer,
    RewriteSerializer,
    SynthesisRequestSerializer,
    VerificationRequestSerializer,
    VerificationSerializer,
)

M = TypeVar("M", bound=Model)


def django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def filter_by(queryset: QuerySet[M], params: Mapping[str, Any], mapping: Mapping[str, str]) -> QuerySet[M]:
    for param, lookup in mapping.items():
        if value := params.get(param):
            queryset = queryset.filter(**{lookup: value})
    return queryset


@extend_schema(tags=["synthesis"])
class AttributeViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = AttributeSerializer
    queryset = Attribute.objects.all()
    lookup_field = "key"
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer: BaseSerializer[Attribute]) -> None:
        try:
            instance = serializer.save(updated_by=self.request.user)
            instance.full_clean()
        except DjangoValidationError as exc:
            raise django_errors(exc) from exc


@extend_schema(tags=["synthesis"])
class PromptTemplateViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Templates are versions: POST makes the next version of (kind, attribute) and activates it."""

    permission_classes = [IsLead]
    serializer_class = PromptTemplateSerializer
    queryset = PromptTemplate.objects.select_related("attribute")

    def get_queryset(self) -> QuerySet[PromptTemplate]:
        return filter_by(super().get_queryset(), self.request.query_params,
                         {"kind": "kind", "attribute": "attribute__key", "status": "status"})

    def perform_create(self, serializer: BaseSerializer[PromptTemplate]) -> None:
        data = serializer.validated_data
        try:
            current = active_template(data["kind"], data.get("attribute"))
            serializer.instance = do_supersede_template(
                current, as_user(self.request.user), data.get("system_text", ""), data["user_text"],
                data["placeholders"], data.get("notes", ""))
        except SynthesisError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        except DjangoValidationError as exc:
            raise django_errors(exc) from exc

    @extend_schema(responses=LintIssueSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lint(self, request: Request, pk: str | None = None) -> Response:
        issues = lint_template(self.get_object(), list(Attribute.objects.all()))
        return Response(LintIssueSerializer(issues, many=True).data)


@extend_schema(tags=["synthesis"])
class EndpointViewSet(viewsets.ModelViewSet):
    permission_classes = [IsLead]
    serializer_class = EndpointSerializer
    queryset = ModelEndpoint.objects.all()

    def perform_create(self, serializer: BaseSerializer[ModelEndpoint]) -> None:
        self._save(serializer)

    def perform_update(self, serializer: BaseSerializer[ModelEndpoint]) -> None:
        self._save(serializer)

    def _save(self, serializer: BaseSerializer[ModelEndpoint]) -> None:
        instance = serializer.instance or ModelEndpoint()
        for name, value in serializer.validated_data.items():
            setattr(instance, name, value)
        try:
            serializer.instance = do_save_endpoint(instance, actor=self.request.user)
        except DjangoValidationError as exc:
            raise django_errors(exc) from exc


@extend_schema(tags=["synthesis"])
class RewriteViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = RewriteSerializer
    queryset = Rewrite.objects.select_related("question", "attribute", "template").order_by("pk")

    def get_queryset(self) -> QuerySet[Rewrite]:
        return filter_by(super().get_queryset(), self.request.query_params, {
            "qid": "question__qid", "attribute": "attribute__key", "direction": "direction", "model": "model_name",
            "job": "job_id"})


@extend_schema(tags=["synthesis"])
class VerificationViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = VerificationSerializer
    queryset = Verification.objects.select_related("question", "attribute").order_by("pk")

    def get_queryset(self) -> QuerySet[Verification]:
        return filter_by(super().get_queryset(), self.request.query_params, {
            "qid": "question__qid", "attribute": "attribute__key", "status": "status", "model": "judge_model"})


@extend_schema(tags=["synthesis"])
class PreferencePairViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsLead]
    serializer_class = PreferencePairSerializer
    queryset = PreferencePair.objects.select_related(
        "question", "attribute", "overridden_by", "chosen__question", "chosen__attribute",
        "chosen__template__attribute", "rejected__question", "rejected__attribute",
        "rejected__template__attribute").order_by("pk")

    def get_queryset(self) -> QuerySet[PreferencePair]:
        return filter_by(super().get_queryset(), self.request.query_params, {
            "qid": "question__qid", "attribute": "attribute__key", "pair_type": "pair_type", "verdict": "verdict",
            "judge_model": "judge_model", "generator_model": "chosen__model_name"})

    @extend_schema(request=OverrideSerializer, responses=PreferencePairSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request: Request, pk: str | None = None) -> Response:
        serializer = OverrideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = self.get_object()
        try:
            do_override_verdict(pair, serializer.validated_data["verdict"], as_user(request.user),
                                serializer.validated_data["reason"])
        except DjangoValidationError as exc:
            raise django_errors(exc) from exc
        return Response(PreferencePairSerializer(pair).data)

    @extend_schema(responses=AcceptanceRowSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)  # one unpaginated table, as the schema now says
    def acceptance(self, request: Request) -> Response:
        """Acceptance rates per attribute and pair type over the filtered pairs."""
        rows = acceptance_table(self.get_queryset())
        return Response(AcceptanceRowSerializer(rows, many=True).data)


@extend_schema(tags=["synthesis"])
class SynthesisJobViewSet(viewsets.GenericViewSet):
    """Queue synthesis, verification and pair-building jobs; watch them under /api/jobs/."""

    permission_classes = [IsLead]
    serializer_class = SynthesisRequestSerializer

    def _enqueue(self, serializer_class: type[BaseSerializer[Any]],
                 enqueue: Callable[[Any, User, str | None], Job]) -> Response:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        config, queue = serializer.validated_data["config"], serializer.validated_data.get("queue") or None
        try:
            job = enqueue(config, as_user(self.request.user), queue)
        except SynthesisError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(JobSerializer(job, context={"request": self.request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SynthesisRequestSerializer, responses={201: JobSerializer})
    @action(detail=False, methods=["post"])
    def synthesize(self, request: Request) -> Response:
        return self._enqueue(SynthesisRequestSerializer, lambda c, u, q: do_enqueue_synthesis(c, owner=u, queue=q))

    @extend_schema(request=VerificationRequestSerializer, responses={201: JobSerializer})
    @action(detail=False, methods=["post"])
    def verify(self, request: Request) -> Response:
        return self._enqueue(VerificationRequestSerializer,
                             lambda c, u, q: do_enqueue_verification(c, owner=u, queue=q))

    @extend_schema(request=PairBuildRequestSerializer, responses={201: JobSerializer})
    @action(detail=False, methods=["post"], url_path="build-pairs")
    def build_pairs(self, request: Request) -> Response:
        return self._enqueue(PairBuildRequestSerializer, lambda c, u, q: do_enqueue_pair_build(c, owner=u))
