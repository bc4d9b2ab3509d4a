"""REST endpoints: campaigns, the annotation loop (next, submit, skip, undo), quality, adjudication, gold, releases."""

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from alfa_platform.auth_requests import AuthenticatedRequest
from alfa_platform.authentication import TokenAuthenticationWithRoles
from alfa_platform.params import parse_flag, parse_id
from alfa_platform.plain_data import validated_data
from alfa_platform.roles import IsAnnotator, IsLead, IsReviewer, Role, has_role
from corpus.models import MultipleChoiceCase
from jobs.actions import do_enqueue_job

from . import gold as gold_actions
from .actions import (
    CampaignError,
    ImportRejected,
    do_adjudicate,
    do_change_member,
    do_create_campaign,
    do_import_items,
    do_set_campaign_status,
    do_update_campaign,
)
from .assignment import (
    AssignmentError,
    Conflict,
    NotEligible,
    NotQualified,
    Removed,
    do_assign_next_item,
    do_skip_assignment,
    do_submit_and_assign_next,
    do_submit_assignment,
    do_undo_last_submission,
    fetch_campaign,
)
from .models import (
    Adjudication,
    Assignment,
    BenchmarkRelease,
    Campaign,
    CampaignMember,
    ComparisonItem,
    GoldLabel,
    Judgment,
)
from .pairs import PairSelection
from .permissions import campaigns_for_user, get_assignment_for_user, items_judged_by, judges_campaign
from .quality import campaign_quality, disagreements
from .runners import ADD_PAIRS_JOB
from .serializers import (
    AdjudicationSerializer,
    BlindAnswerInputSerializer,
    CampaignLeadSerializer,
    CampaignSerializer,
    DisagreementSerializer,
    FactsSerializer,
    GoldBlindSerializer,
    GoldDetailSerializer,
    GoldEditSerializer,
    GoldLabelViewSerializer,
    GoldListSerializer,
    GoldRevisionSerializer,
    ImpliedSerializer,
    ImportReportSerializer,
    ImportUploadSerializer,
    InitialInfoSerializer,
    ItemSerializer,
    JobQueuedSerializer,
    JudgmentSerializer,
    MemberChangeSerializer,
    MemberSerializer,
    NextResponseSerializer,
    OwnJudgmentSerializer,
    PairSelectionSerializer,
    RebalanceSerializer,
    ReleaseSerializer,
    ReopenSerializer,
    SkipSerializer,
    SubmitSerializer,
    assignment_payload,
    progress_payload,
)

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

LEAD_ACTIONS = {"create", "update", "partial_update", "import_items", "set_status", "quality", "add_pairs", "members",
                "change_member", "items"}


class ItemPagination(CursorPagination):
    """A campaign's items in id order, 50 a page (up to 500 with ?page_size=): no COUNT over 100,000 rows."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


AUTHENTICATION = [SessionAuthentication, TokenAuthenticationWithRoles]


def _member(campaign: Campaign, user: User) -> CampaignMember | None:
    return CampaignMember.objects.filter(campaign=campaign, user=user).first()


class StateConflict(APIException):
    """409: the campaign is paused or closed, or the annotator was removed from it or paused (the detail says which)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class QualificationConflict(StateConflict):
    """409 for an annotator with no real item until qualified: the detail and their standing in the round."""

    def __init__(self, exc: NotQualified) -> None:
        super().__init__(str(exc))
        detail: dict[str, Any] = {"detail": str(exc), "qualification": exc.state}  # numbers kept as numbers
        self.detail = detail


def campaign_for_annotating(pk: str | int | None) -> Campaign:
    """Return a campaign by id for the annotation loop; lock_member then decides eligibility (404 otherwise)."""
    try:
        return fetch_campaign(int(pk))  # type: ignore[arg-type]  # None raises the TypeError caught below
    except (Campaign.DoesNotExist, TypeError, ValueError) as exc:
        raise Http404("No such campaign.") from exc


def next_payload(campaign: Campaign, user: User) -> dict[str, Any]:
    """Serve the user's next item and return the page payload ({"item": None} when the campaign is done)."""
    try:
        assignment = do_assign_next_item(campaign, user)
    except (NotEligible, Removed) as exc:
        raise Http404("No such campaign.") from exc  # uninvited annotators learn nothing about the campaign
    except NotQualified as exc:
        raise QualificationConflict(exc) from exc
    except Conflict as exc:
        raise StateConflict(str(exc)) from exc
    except AssignmentError as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    return served_payload(campaign, user, assignment)


def served_payload(campaign: Campaign, user: User, assignment: Assignment | None) -> dict[str, Any]:
    """The payload for the assignment just served (None: the campaign has nothing left for this user)."""
    if assignment is None:
        return {"item": None, "progress": progress_payload(campaign, _member(campaign, user))}
    payload = assignment_payload(assignment, assignment.member)
    return {"item": payload, "progress": payload["progress"]}


def after_payload(assignment: Assignment, user: User, want_next: bool = False) -> dict[str, Any]:
    """The response after a submit or skip: the next item if asked for (and the campaign serves), else progress."""
    campaign = assignment.campaign
    if want_next and campaign.is_serving:
        return next_payload(campaign, user)
    member: CampaignMember | SimpleNamespace | None
    if want_next or getattr(assignment, "done_count", None) is None:
        member = _member(campaign, user)
    else:  # the submit statement returned the annotator's counters: no query for the progress
        member = SimpleNamespace(done_count=assignment.done_count, skipped_count=assignment.skipped_count)
    return {"item": None, "progress": progress_payload(campaign, member)}


def submit_payload(assignment: Assignment, user: User, entries: list[dict[str, Any]], duration_ms: int | None,
                   want_next: bool) -> dict[str, Any]:
    """Store the judgments (validated entries) and return the response: the next item with next=true, else progress.

    Raises Conflict (a second submit, a paused or closed campaign, a removed annotator), NotEligible and
    AssignmentError; the callers turn them into 409, 404, 400.
    """
    if not want_next:
        do_submit_assignment(assignment, entries, duration_ms)
        return _with_feedback(after_payload(assignment, user), assignment)
    following = do_submit_and_assign_next(assignment, entries, duration_ms)
    if following is None:
        return _with_feedback(after_payload(assignment, user), assignment)  # after a failed round: the feedback says
    payload = assignment_payload(following, following.member)
    return _with_feedback({"item": payload, "progress": payload["progress"]}, assignment)


def _with_feedback(payload: dict[str, Any], assignment: Assignment) -> dict[str, Any]:
    """Add a qualification item's feedback (expected answer, guideline passage, standing) to a submit's answer."""
    feedback = getattr(assignment, "feedback", None)
    return payload if feedback is None else {**payload, "feedback": feedback}


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Annotators see the campaigns they may annotate; leads see and manage all of them."""

    authentication_classes = AUTHENTICATION
    request: AuthenticatedRequest

    def get_permissions(self) -> list[BasePermission]:
        if self.action in LEAD_ACTIONS:
            return [IsLead()]
        if self.action == "disagreements":
            return [IsReviewer()]
        return [IsAnnotator()]

    def get_queryset(self) -> QuerySet[Campaign]:
        if self.action == "disagreements":  # reviewers adjudicate every campaign, not only their own
            return Campaign.objects.all()
        return campaigns_for_user(self.request.user).order_by("-created_at")

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "import_items":
            return ImportUploadSerializer
        if has_role(self.request.user, Role.LEAD):
            return CampaignLeadSerializer
        return CampaignSerializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        annotators = data.pop("annotators", [])
        try:
            serializer.instance = do_create_campaign(created_by=self.request.user, annotators=annotators, **data)
        except CampaignError as exc:
            raise ValidationError({"detail": str(exc)}) from exc

    def perform_update(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        assert serializer.instance is not None  # an update: the serializer holds the campaign
        try:
            do_update_campaign(serializer.instance, **data)
        except CampaignError as exc:
            raise ValidationError({"detail": str(exc)}) from exc

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses=ImportReportSerializer)
    @action(detail=True, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_items(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Import comparison items from a JSONL file; any invalid row rejects the file (errors by line)."""
        campaign = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach a JSONL file."})
        try:
            report = do_import_items(campaign, upload.read())
        except ImportRejected as exc:
            errors = [{"line": e.line, "field": e.field, "message": e.message} for e in exc.errors]
            return Response({"detail": str(exc), "error_count": exc.error_count, "errors": errors},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PairSelectionSerializer, responses={202: JobQueuedSerializer})
    @action(detail=True, methods=["post"], url_path="add-pairs")
    def add_pairs(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Queue a job snapshotting synthesis pairs (by attribute, pair type, verdict, split or ids) as items."""
        campaign = self.get_object()
        data = PairSelectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        selection = PairSelection(**data.validated_data)
        job = do_enqueue_job(ADD_PAIRS_JOB, {"campaign": campaign.pk, "selection": selection.as_dict()},
                             owner=request.user)
        return Response({"job": job.pk, "url": job.get_absolute_url()}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request={"application/json": {"type": "object", "properties": {"status": {"type": "string"}}}},
                   responses=CampaignLeadSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        campaign = self.get_object()
        try:
            # a JSON list as the body has no .get (an AttributeError, so a 500): reported, not changed here
            do_set_campaign_status(campaign, request.data.get("status", ""))  # type: ignore[union-attr]
        except CampaignError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(CampaignLeadSerializer(campaign).data)

    @extend_schema(request=None, responses=NextResponseSerializer)
    @action(detail=True, methods=["post"])
    def next(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Return the annotator's current item, or serve the least-annotated eligible one."""
        return Response(next_payload(campaign_for_annotating(pk), request.user))

    @extend_schema(request=None, responses=NextResponseSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Reopen the annotator's latest submission (its judgments are retracted, not deleted)."""
        campaign = campaign_for_annotating(pk)
        try:
            assignment = do_undo_last_submission(campaign, request.user)
        except Conflict as exc:  # paused, closed, or removed from the campaign: their own work, so not a 404
            raise StateConflict(str(exc)) from exc
        except NotEligible as exc:
            raise Http404("No such campaign.") from exc
        except AssignmentError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        payload = assignment_payload(assignment, _member(campaign, request.user))
        return Response({"item": payload, "progress": payload["progress"]})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def progress(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        campaign = self.get_object()
        return Response(progress_payload(campaign, _member(campaign, request.user)))

    @extend_schema(parameters=[OpenApiParameter("attribute", str)], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def quality(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Agreement with bootstrap CIs, position bias, per-annotator accuracy and speed, judge-expert agreement."""
        attribute = request.query_params.get("attribute") or None
        if attribute is not None and len(attribute) > 32:  # a snapshot's column: PostgreSQL refused it (a 500)
            raise ValidationError({"attribute": ["Ensure this field has no more than 32 characters."]})
        return Response(campaign_quality(self.get_object(), attribute, allow_stale=True))

    @extend_schema(parameters=[OpenApiParameter("attribute", str), OpenApiParameter("gold", bool),
                               OpenApiParameter("judged", bool, description="only items with a submitted judgment")],
                   responses=ItemSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=ItemPagination)
    def items(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The campaign's comparison items with their counters, for its leads (annotators never list them)."""
        rows = ComparisonItem.objects.filter(campaign=self.get_object()).only(*ItemSerializer.Meta.fields)
        if request.query_params.get("attribute"):
            rows = rows.filter(attribute=request.query_params["attribute"][:32])
        for name, condition in (("gold", Q(is_gold=True)), ("judged", Q(submitted_count__gt=0))):
            flag = request.query_params.get(name)
            if flag is not None:
                rows = rows.filter(condition) if parse_flag(name, flag) else rows.exclude(condition)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ItemSerializer(page, many=True).data)

    @extend_schema(responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # a campaign's members: one short list
    def members(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Every annotator of the campaign with their qualification, pause and exclusion."""
        campaign = self.get_object()
        rows = campaign.members.select_related("user").order_by("user__username")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(request=MemberChangeSerializer, responses=MemberSerializer)
    @action(detail=True, methods=["post"], url_path=r"members/(?P<username>[\w.@+-]{1,150})")
    def change_member(self, request: AuthenticatedRequest, pk: str | None = None, username: str | None = None
                      ) -> Response:
        """Pause or resume an annotator, exclude or include their judgments, or allow a qualification retry."""
        campaign = self.get_object()
        member = get_object_or_404(CampaignMember, campaign=campaign, user__username=username)
        data = MemberChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            member = do_change_member(campaign, member, **data.validated_data)
        except CampaignError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(MemberSerializer(member).data)

    @extend_schema(parameters=[OpenApiParameter("attribute", str)], responses=DisagreementSerializer(many=True))
    @action(detail=True, methods=["get"])
    def disagreements(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Items whose annotators disagree and that no reviewer has resolved yet."""
        campaign = self.get_object()
        rows = disagreements(campaign, request.query_params.get("attribute") or None)
        if judges_campaign(request.user, campaign):  # see permissions.get_item_for_reviewer
            rows = rows.filter(item_id__in=items_judged_by(request.user, campaign))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DisagreementSerializer(page, many=True).data)


class AssignmentViewSet(viewsets.GenericViewSet):
    """An annotator's own assignments: submit judgments or skip. Other annotators' assignments do not exist here."""

    permission_classes = [IsAnnotator]
    authentication_classes = AUTHENTICATION
    serializer_class = SubmitSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Assignment]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Assignment.objects.none()
        return Assignment.objects.filter(annotator=self.request.user)

    def _own(self, pk: str | None) -> Assignment:
        assignment = get_assignment_for_user(self.request.user, pk)
        assignment.annotator = self.request.user  # the same row; keeps the roles already read for this request
        return assignment

    @extend_schema(request=SubmitSerializer, responses=NextResponseSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Store one judgment per asked attribute; with next=true the response holds the next item."""
        assignment = self._own(pk)
        data = validated_data(SubmitSerializer, request.data)
        try:
            return Response(submit_payload(assignment, request.user, data["judgments"], data.get("duration_ms"),
                                           data["next"]))
        except Conflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except NotEligible as exc:
            raise Http404("No such campaign.") from exc
        except AssignmentError as exc:
            raise ValidationError({"detail": str(exc)}) from exc

    @extend_schema(request=SkipSerializer, responses=NextResponseSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Give the item back with a reason; it goes to another annotator."""
        assignment = self._own(pk)
        data = SkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            do_skip_assignment(assignment, data.validated_data["reason"], data.validated_data.get("note", ""))
        except Conflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except AssignmentError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return self._after(assignment, data.validated_data["next"])

    def _after(self, assignment: Assignment, want_next: bool) -> Response:
        return Response(after_payload(assignment, self.request.user, want_next))


class JudgmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Annotators list only their own judgments; reviewers and leads list everyone's."""

    permission_classes = [IsAnnotator]
    request: AuthenticatedRequest

    def is_reviewer(self) -> bool:
        return has_role(self.request.user, Role.REVIEWER)

    def get_serializer_class(self) -> type[BaseSerializer]:
        return JudgmentSerializer if self.is_reviewer() else OwnJudgmentSerializer

    @extend_schema(parameters=[OpenApiParameter("campaign", int), OpenApiParameter("item", int),
                               OpenApiParameter("annotator", str)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Judgment]:
        judgments = Judgment.objects.filter(retracted_at__isnull=True).select_related(
            "assignment", "item", "campaign", "annotator"
        ).order_by("-created_at", "-pk")
        if not self.is_reviewer():
            judgments = judgments.filter(annotator=self.request.user)
        elif username := self.request.query_params.get("annotator"):
            judgments = judgments.filter(annotator__username=username)
        for name in ("campaign", "item"):
            if (value := parse_id(self.request.query_params.get(name, ""))) is not None:
                judgments = judgments.filter(**{f"{name}_id": value})
        return judgments


class AdjudicationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Reviewers resolve disagreements; each resolution is a new row beside the judgments."""

    permission_classes = [IsReviewer]
    serializer_class = AdjudicationSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Adjudication]:
        rows = Adjudication.objects.select_related("author").order_by("-created_at")
        if (campaign := parse_id(self.request.query_params.get("campaign", ""))) is not None:
            rows = rows.filter(campaign_id=campaign)
        return rows

    def perform_create(self, serializer: BaseSerializer) -> None:
        item = serializer.validated_data["item"]
        try:
            serializer.instance = do_adjudicate(
                item, serializer.validated_data["attribute"], serializer.validated_data["choice"],
                serializer.validated_data["note"], self.request.user,
            )
        except CampaignError as exc:
            raise ValidationError({"detail": str(exc)}) from exc


# --- Gold labels ----------------------------------------------------------------------------------------------------


def _gold_call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        result = function(*args, **kwargs)
    except gold_actions.GoldError as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    return result[0] if isinstance(result, tuple) else result


# The whole label once the user has answered blind, else the blind view without the key (documented as one shape).
GOLD_RESPONSE = GoldLabelViewSerializer


class GoldViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Gold labels of MediQ-AskDocs cases, addressed by the case's id; the key stays hidden until answered blind."""

    permission_classes = [IsReviewer]
    queryset = GoldLabel.objects.select_related("case", "signed_off_by").order_by("case__case_id")
    serializer_class = GoldListSerializer
    lookup_url_kwarg = "case_pk"
    lookup_value_regex = r"[0-9]+"  # a case's primary key; anything else answers 404 (it reached int() as a 500)
    request: AuthenticatedRequest

    def get_permissions(self) -> "Sequence[_SupportsHasPermission]":
        if self.action in ("balance", "rebalance"):
            return [IsLead()]
        return super().get_permissions()

    def _gold(self, case_pk: str | None) -> GoldLabel:
        case = get_object_or_404(MultipleChoiceCase, pk=case_pk, source=MultipleChoiceCase.Source.ASKDOCS)
        return gold_actions.get_or_create_gold(case, self.request.user)

    def _detail(self, gold: GoldLabel) -> Response:
        if gold_actions.has_answered_blind(gold, self.request.user):
            return Response(GoldDetailSerializer(gold).data)
        return Response(GoldBlindSerializer(gold).data)

    @extend_schema(responses=GOLD_RESPONSE)
    def retrieve(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        """Before the blind answer: case, stem and options only; afterwards the whole label."""
        return self._detail(self._gold(case_pk))

    @extend_schema(request=BlindAnswerInputSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"], url_path="blind-answer")
    def blind_answer(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        gold = self._gold(case_pk)
        data = BlindAnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _gold_call(gold_actions.do_record_blind_answer, gold, request.user, data.validated_data["letter"],
                   data.validated_data.get("time_ms"))
        return self._detail(gold)

    @extend_schema(request=GoldEditSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"])
    def edit(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        data = GoldEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(_gold_call(gold_actions.do_edit_gold, self._gold(case_pk), request.user,
                                       **data.validated_data))

    @extend_schema(request=ImpliedSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"])
    def implied(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        data = ImpliedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(_gold_call(gold_actions.do_mark_implied, self._gold(case_pk), request.user,
                                       data.validated_data["marks"]))

    @extend_schema(request=FactsSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"])
    def facts(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        data = FactsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(_gold_call(gold_actions.do_curate_facts, self._gold(case_pk), request.user,
                                       data.validated_data["atomic_facts"], data.validated_data.get("note", "")))

    @extend_schema(request=InitialInfoSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"], url_path="initial-info")
    def initial_info(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        data = InitialInfoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(_gold_call(gold_actions.do_set_initial_info, self._gold(case_pk), request.user,
                                       data.validated_data["initial_info"]))

    @extend_schema(request=None, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        return self._detail(_gold_call(gold_actions.do_sign_off, self._gold(case_pk), request.user))

    @extend_schema(request=ReopenSerializer, responses=GOLD_RESPONSE)
    @action(detail=True, methods=["post"])
    def reopen(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        # Through a serializer: a raw form value carried NUL into the revision's note (a 500 on PostgreSQL).
        data = ReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(_gold_call(gold_actions.do_reopen_gold, self._gold(case_pk), request.user,
                                       data.validated_data["note"]))

    @extend_schema(responses=GoldRevisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def revisions(self, request: AuthenticatedRequest, case_pk: str | None = None) -> Response:
        gold = self._gold(case_pk)
        if not gold_actions.has_answered_blind(gold, request.user):
            raise PermissionDenied("Answer the case blind first: the history shows the key.")
        return Response(GoldRevisionSerializer(gold.revisions.select_related("author"), many=True).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def balance(self, request: AuthenticatedRequest) -> Response:
        """Key-position counts and how often the key is the longest option, published vs gold."""
        return Response(gold_actions.balance_report())

    @extend_schema(request=RebalanceSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"])
    def rebalance(self, request: AuthenticatedRequest) -> Response:
        """Reorder options so the key positions are balanced; the key stays correct."""
        data = RebalanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = gold_actions.do_rebalance_options(request.user, seed=data.validated_data["seed"])
        return Response({"changed": changed, **gold_actions.balance_report()})


class ReleaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Immutable benchmark releases of the signed-off gold labels (leads)."""

    permission_classes = [IsLead]
    serializer_class = ReleaseSerializer
    queryset = BenchmarkRelease.objects.select_related("created_by")
    request: AuthenticatedRequest

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = _gold_call(
            gold_actions.do_create_release, serializer.validated_data["name"], self.request.user,
            serializer.validated_data.get("description", ""),
        )

    @extend_schema(responses={(200, "application/jsonl"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"])
    def export(self, request: AuthenticatedRequest, pk: str | None = None) -> HttpResponse:
        """Download the release as MediQ JSONL (the published file's fields)."""
        release = self.get_object()
        response = HttpResponse(gold_actions.release_jsonl(release), content_type="application/jsonl")
        response["Content-Disposition"] = f'attachment; filename="mediq-askdocs-{release.pk}.jsonl"'
        return response
