"""REST endpoints for the corpus: threads, questions, posts and MCQ cases (every role reads), imports (leads)."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import F, Prefetch, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from alfa_platform.roles import IsAnnotator, IsLead

from .actions import ImportRequestError, do_enqueue_import
from .models import ImportRun, MultipleChoiceCase, Post, Question, Thread
from .search import filter_threads, load_list_rows, thread_keys
from .serializers import (
    CorpusImportQueuedSerializer,
    CorpusImportUploadSerializer,
    ImportRunSerializer,
    MultipleChoiceCaseFilterSerializer,
    PostFilterSerializer,
    PostSerializer,
    QuestionFilterSerializer,
    QuestionSerializer,
    ThreadDetailSerializer,
    ThreadFilterSerializer,
    ThreadListSerializer,
    mcq_serializer_for,
)

MAX_QIDS = 500


def cursor_pagination(key: str) -> type[CursorPagination]:
    """Return a keyset (cursor) pagination over a unique column: no COUNT, late pages as fast as the first."""
    return type(f"CursorBy{key.title()}", (CursorPagination,), {
        "ordering": key, "page_size": 50, "page_size_query_param": "page_size", "max_page_size": 500,
    })


def validated_params(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    """Return the query parameters checked by `serializer_class` (a 400 names any bad one)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CorpusReadViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only for every role; nobody writes the corpus through the API except by importing."""

    permission_classes = [IsAnnotator]
    lookup_value_regex = "[^/]+"
    filter_serializer: type[BaseSerializer] | None = None

    def params(self) -> dict[str, Any]:
        if self.action != "list":
            return {}
        assert self.filter_serializer is not None  # every list endpoint names its filters
        return validated_params(self.filter_serializer, self.request)


@extend_schema(tags=["corpus"])
class ThreadViewSet(CorpusReadViewSet):
    lookup_field = "thread_id"
    pagination_class = cursor_pagination("thread_id")
    filter_serializer = ThreadFilterSerializer

    def get_queryset(self) -> QuerySet[Thread]:
        if self.action == "list":  # keys only: list() loads the page's rows by id after paging
            return filter_threads(thread_keys(), **self.params())
        return Thread.objects.select_related("post").prefetch_related(
            "comments",
            Prefetch("questions", Question.objects.annotate(comment_key=F("comment__comment_id"))
                     .order_by("turn_index", "question_index", "qid")),
            Prefetch("mcqs", MultipleChoiceCase.objects.annotate(thread_key=F("thread__thread_id"))),
        )

    def get_serializer_class(self) -> type[BaseSerializer]:
        return ThreadListSerializer if self.action == "list" else ThreadDetailSerializer

    @extend_schema(parameters=[ThreadFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        keys = self.paginate_queryset(self.get_queryset())
        assert keys is not None  # pagination_class is set: there is always a page
        serializer = self.get_serializer(load_list_rows(keys), many=True)
        return self.get_paginated_response(serializer.data)


@extend_schema(tags=["corpus"])
class QuestionViewSet(CorpusReadViewSet):
    lookup_field = "qid"
    serializer_class = QuestionSerializer
    pagination_class = cursor_pagination("qid")
    filter_serializer = QuestionFilterSerializer

    def get_queryset(self) -> QuerySet[Question]:
        questions = Question.objects.annotate(
            thread_key=F("thread__thread_id"), split_key=F("thread__post__split"), comment_key=F("comment__comment_id")
        )
        params = self.params()
        if split := params.get("split"):
            questions = questions.filter(thread__post__split=split)
        if question_type := params.get("question_type"):
            questions = questions.filter(question_type=question_type)
        if thread := params.get("thread"):
            questions = questions.filter(thread__thread_id=thread)
        if qids := self.qids(params):
            questions = questions.filter(qid__in=qids)
        return questions

    def qids(self, params: dict[str, Any]) -> list[str]:
        """Return the qids asked for, as ?qid=a,b or repeated ?qid=a&qid=b."""
        if not params.get("qid"):
            return []
        values = self.request.query_params.getlist("qid")
        return [qid for value in values for qid in value.split(",") if qid.strip()][:MAX_QIDS]

    @extend_schema(parameters=[QuestionFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["corpus"])
class PostViewSet(CorpusReadViewSet):
    lookup_field = "post_id"
    serializer_class = PostSerializer
    pagination_class = cursor_pagination("post_id")
    filter_serializer = PostFilterSerializer

    def get_queryset(self) -> QuerySet[Post]:
        posts = Post.objects.prefetch_related(
            Prefetch("threads", Thread.objects.only("thread_id", "post_id").order_by("thread_id"))
        )
        if split := self.params().get("split"):
            posts = posts.filter(split=split)
        return posts

    @extend_schema(parameters=[PostFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["corpus"])
class MultipleChoiceCaseViewSet(CorpusReadViewSet):
    lookup_value_regex = "[0-9]+"
    pagination_class = cursor_pagination("id")
    filter_serializer = MultipleChoiceCaseFilterSerializer

    def get_serializer_class(self) -> type[BaseSerializer]:
        return mcq_serializer_for(self.request)

    def get_queryset(self) -> QuerySet[MultipleChoiceCase]:
        cases = MultipleChoiceCase.objects.annotate(thread_key=F("thread__thread_id"))
        params = self.params()
        for param, lookup in (("source", "source"), ("thread", "thread__thread_id"), ("case_id", "case_id")):
            if value := params.get(param):
                cases = cases.filter(**{lookup: value})
        return cases

    @extend_schema(parameters=[MultipleChoiceCaseFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["corpus"])
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Import reports, and uploads that run as a background job (leads only)."""

    permission_classes = [IsLead]
    parser_classes = [MultiPartParser, FormParser]
    queryset = ImportRun.objects.order_by("-started_at", "-pk")
    serializer_class = ImportRunSerializer

    @extend_schema(
        request={"multipart/form-data": CorpusImportUploadSerializer},
        responses={202: CorpusImportQueuedSerializer, 400: OpenApiResponse(description="Invalid upload.")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = CorpusImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            job = do_enqueue_import(data["files"], format=data["format"], split=data.get("split") or None,
                                    owner=cast(User, request.user))  # IsLead admits signed-in users only
        except ImportRequestError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        job_url = request.build_absolute_uri(reverse("job-detail", args=[job.pk]))
        queued = {
            "job_id": job.pk, "job_url": job_url, "page_url": request.build_absolute_uri(job.get_absolute_url()),
            "status": job.status, "files": [file.name for file in data["files"]],
        }
        return Response(CorpusImportQueuedSerializer(queued).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": job_url})
