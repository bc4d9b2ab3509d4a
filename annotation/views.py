"""Annotation pages: home, campaigns, the annotation page, own judgments, dashboard, adjudication, gold, releases."""

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from alfa_platform.auth_requests import as_user
from alfa_platform.params import parse_id
from alfa_platform.roles import Role, has_role, role_required
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
    member_standing,
)
from .assignment import may_annotate
from .attributes import attribute_names
from .forms import (
    AdjudicationForm,
    BlindAnswerForm,
    CampaignForm,
    FactsForm,
    GoldEditForm,
    ImpliedForm,
    ImportForm,
    InitialInfoForm,
    RebalanceForm,
    ReleaseForm,
    SynthesisPairsForm,
)
from .models import (
    LETTERS,
    Adjudication,
    BenchmarkRelease,
    Campaign,
    CampaignMember,
    CampaignStatus,
    ComparisonItem,
    GoldLabel,
    GoldStatus,
    Judgment,
    RevisionKind,
    SkipReason,
    UnacceptableReason,
)
from .permissions import (
    campaigns_for_user,
    get_campaign_for_user,
    get_item_for_reviewer,
    items_judged_by,
    judges_campaign,
)
from .quality import STATISTICS, campaign_quality, disagreements
from .runners import ADD_PAIRS_JOB

# --- Home and campaigns ----------------------------------------------------------------------------------------------


@role_required(Role.ANNOTATOR)
def index(request: HttpRequest) -> HttpResponse:
    """An annotator's campaigns and progress; for reviewers and leads, their queues and tools too."""
    user = as_user(request.user)
    campaigns = list(campaigns_for_user(user).order_by("-created_at"))
    members = {m.campaign_id: m for m in CampaignMember.objects.filter(user=user)}
    rows = [{"campaign": c, "member": members.get(c.pk), "may_annotate": may_annotate(c, user)} for c in campaigns]
    context = {"rows": rows, "is_lead": has_role(user, Role.LEAD), "is_reviewer": has_role(user, Role.REVIEWER)}
    return render(request, "annotation/index.html", context)


@role_required(Role.LEAD)
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        annotators = data.pop("annotators")
        try:
            campaign = do_create_campaign(created_by=as_user(request.user), annotators=annotators, **data)
        except CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Campaign created. Import its items next.")
            return redirect(campaign)
    return render(request, "annotation/campaign_form.html", {"form": form})


@role_required(Role.LEAD)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A campaign's settings, items, members and status (leads)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            do_update_campaign(campaign, **form.cleaned_data)
        except CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Settings saved.")
            return redirect(campaign)
    counts = campaign.items.aggregate(total=Count("id"), gold=Count("id", filter=Q(is_gold=True)),
                                      qualification=Count("id", filter=Q(is_qualification=True)))
    members = [(member, member_standing(campaign, member))
               for member in campaign.members.select_related("user").order_by("user__username")]
    context = {"campaign": campaign, "form": form, "import_form": ImportForm(), "counts": counts,
               "members": members, "statuses": CampaignStatus.choices, "pairs_form": SynthesisPairsForm()}
    return render(request, "annotation/campaign_detail.html", context)


@role_required(Role.LEAD)
@require_POST
def campaign_import(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a JSONL file.")
        return redirect(campaign)
    try:
        report = do_import_items(campaign, form.cleaned_data["file"].read())
    except ImportRejected as exc:
        return render(request, "annotation/import_errors.html", {"campaign": campaign, "rejected": exc}, status=400)
    messages.success(request, f"Imported {report.created} item(s) ({report.gold} gold, of which "
                              f"{report.qualification} qualification); {report.unchanged} already present.")
    return redirect(campaign)


@role_required(Role.LEAD)
@require_POST
def campaign_add_pairs(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a job that snapshots the chosen synthesis pairs into the campaign; show its progress."""
    campaign = get_object_or_404(Campaign, pk=pk)
    form = SynthesisPairsForm(request.POST, request.FILES)
    if not form.is_valid():
        # the stub's ErrorList yields ValidationErrors too; Django's yields their message strings
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))  # type: ignore[arg-type]
        return redirect(campaign)
    job = do_enqueue_job(ADD_PAIRS_JOB, {"campaign": campaign.pk, "selection": form.selection().as_dict()},
                         owner=as_user(request.user))
    return redirect(job)


@role_required(Role.LEAD)
@require_POST
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        do_set_campaign_status(campaign, request.POST.get("status", ""))
    except CampaignError as exc:
        messages.error(request, str(exc))
    return redirect(campaign)


MEMBER_CHANGES = {"pause": {"paused": True}, "resume": {"paused": False}, "exclude": {"excluded": True},
                  "include": {"excluded": False}, "retry": {"retry_qualification": True}}


@role_required(Role.LEAD)
@require_POST
def campaign_member(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    """A lead pauses or resumes an annotator, excludes or includes their judgments, or allows a qualification retry."""
    campaign = get_object_or_404(Campaign, pk=pk)
    member = get_object_or_404(CampaignMember.objects.select_related("user"), pk=member_pk, campaign=campaign)
    change = MEMBER_CHANGES.get(request.POST.get("change", ""))
    if change is None:
        messages.error(request, "Unknown change.")
    else:
        try:
            do_change_member(campaign, member, **change)
        except CampaignError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{member.user.username}: {request.POST['change']} done.")
    if request.POST.get("back") == "dashboard":
        return redirect("annotation:dashboard", pk=campaign.pk)
    return redirect(campaign)


# --- Annotating ------------------------------------------------------------------------------------------------------


@role_required(Role.ANNOTATOR)
def annotate(request: HttpRequest, pk: int) -> HttpResponse:
    """The annotation page; the item itself is loaded through the API so that Enter never reloads the page."""
    campaign = get_campaign_for_user(as_user(request.user), pk)
    if not may_annotate(campaign, as_user(request.user)):
        raise Http404("No such campaign.")
    context = {
        "campaign": campaign,
        "config": {
            "campaign": campaign.pk,
            "nextUrl": reverse("annotation-campaign-next", args=[campaign.pk]),
            "undoUrl": reverse("annotation-campaign-undo", args=[campaign.pk]),
            "submitUrl": reverse("annotation-assignment-submit", args=[0]),
            "skipUrl": reverse("annotation-assignment-skip", args=[0]),
            "guidelinesUrl": reverse("annotation:guidelines", args=[campaign.pk]),
            "reasons": UnacceptableReason.choices,
            "skipReasons": SkipReason.choices,
            "serving": campaign.is_serving,
        },
    }
    return render(request, "annotation/annotate.html", context)


@role_required(Role.ANNOTATOR)
def guidelines(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(as_user(request.user), pk)
    return render(request, "annotation/guidelines.html", {"campaign": campaign})


@role_required(Role.ANNOTATOR)
def my_judgments(request: HttpRequest) -> HttpResponse:
    """The user's own past judgments (never anyone else's)."""
    judgments = (
        Judgment.objects.filter(annotator=as_user(request.user), retracted_at__isnull=True)
        .select_related("assignment", "item", "campaign").order_by("-created_at", "-pk")
    )
    if (campaign_id := parse_id(request.GET.get("campaign", ""))) is not None:
        judgments = judgments.filter(campaign_id=campaign_id)
    page = Paginator(judgments, 25).get_page(request.GET.get("page"))
    rows = [_own_row(judgment) for judgment in page]
    return render(request, "annotation/my_judgments.html", {"page": page, "rows": rows, "names": attribute_names(),
                                                             "campaign_id": "" if campaign_id is None else campaign_id})


def _own_row(judgment: Judgment) -> dict[str, Any]:
    from .assignment import screen_pick

    item, left_is_a = judgment.item, judgment.assignment.left_is_a
    return {
        "judgment": judgment, "pick": screen_pick(judgment.choice, left_is_a),
        "left": item.question_a if left_is_a else item.question_b,
        "right": item.question_b if left_is_a else item.question_a,
    }


# --- Quality ---------------------------------------------------------------------------------------------------------


@role_required(Role.LEAD)
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Agreement with CIs, position bias, annotators and judge agreement; filterable by campaign and attribute."""
    campaign = get_object_or_404(Campaign, pk=pk)
    attribute = request.GET.get("attribute") or None
    if attribute is not None and len(attribute) > 32:  # a snapshot's column: PostgreSQL refused it (a 500)
        raise Http404("No such attribute.")
    quality = campaign_quality(campaign, attribute, allow_stale=True)
    from .quality import progress

    members = {member.user_id: member for member in campaign.members.all()}
    for row in quality["annotators"]:
        row["member"] = members.get(row.get("user_id"))
    context = {
        "campaign": campaign, "campaigns": Campaign.objects.order_by("-created_at"), "attribute": attribute,
        "attributes": attribute_names(), "quality": quality, "statistics": STATISTICS, "progress": progress(campaign),
        "chart_data": _chart_data(quality),
    }
    return render(request, "annotation/dashboard.html", context)


def _chart_data(quality: Mapping[str, Any]) -> dict[str, Any]:
    rows = quality["agreement"]
    return {
        "labels": [row["name"] for row in rows],
        "alpha": [row["krippendorff_alpha"]["value"] for row in rows],
        "alphaCi": [[row["krippendorff_alpha"]["low"], row["krippendorff_alpha"]["high"]] for row in rows],
        "kappa": [row["cohen_kappa"]["value"] for row in rows],
        "bias": [
            {"label": row["annotator"], "share": row["share_left"], "flagged": row["flagged"]}
            for row in quality["position_bias"] if row["attribute"] == "all"
        ],
    }


@role_required(Role.REVIEWER)
def adjudication_queue(request: HttpRequest) -> HttpResponse:
    """Items whose annotators disagree and that nobody has resolved yet."""
    campaigns = Campaign.objects.order_by("-created_at")
    campaign_id = parse_id(request.GET.get("campaign", ""))
    campaign = campaigns.filter(pk=campaign_id).first() if campaign_id is not None else campaigns.first()
    rows = []
    page = None
    if campaign is not None:
        open_rows = disagreements(campaign, request.GET.get("attribute") or None)
        if judges_campaign(as_user(request.user), campaign):  # see get_item_for_reviewer
            open_rows = open_rows.filter(item_id__in=items_judged_by(as_user(request.user), campaign))
        page = Paginator(open_rows, 30).get_page(request.GET.get("page"))
        items = ComparisonItem.objects.in_bulk([row["item_id"] for row in page])
        rows = [{**row, "item": items[row["item_id"]]} for row in page]
    context = {"campaigns": campaigns, "campaign": campaign, "rows": rows, "page": page, "names": attribute_names()}
    return render(request, "annotation/adjudication_queue.html", context)


@role_required(Role.REVIEWER)
def adjudicate(request: HttpRequest, item_pk: int) -> HttpResponse:
    """One item: every annotator's judgment (raw, never changed) and the resolutions beside them."""
    item = get_item_for_reviewer(as_user(request.user), item_pk)
    form = AdjudicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_adjudicate(item, form.cleaned_data["attribute"], form.cleaned_data["choice"],
                          form.cleaned_data["note"], as_user(request.user))
        except CampaignError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Resolution recorded.")
            return redirect(f"{reverse('annotation:adjudication')}?campaign={item.campaign_id}")
    judgments = item.judgments.filter(retracted_at__isnull=True).select_related("annotator").order_by("attribute")
    by_attribute: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        by_attribute.setdefault(judgment.attribute, []).append(judgment)
    resolutions = Adjudication.objects.filter(item=item).select_related("author")
    context = {"item": item, "by_attribute": by_attribute, "resolutions": resolutions, "form": form,
               "names": attribute_names()}
    return render(request, "annotation/adjudicate.html", context)


# --- Gold labels -----------------------------------------------------------------------------------------------------


@role_required(Role.REVIEWER)
def gold_list(request: HttpRequest) -> HttpResponse:
    cases = MultipleChoiceCase.objects.filter(source=MultipleChoiceCase.Source.ASKDOCS).order_by("case_id")
    status = request.GET.get("status", "")
    if status == "todo":
        cases = cases.exclude(gold__status=GoldStatus.SIGNED_OFF)
    elif status in GoldStatus.values:
        cases = cases.filter(gold__status=status)
    page = Paginator(cases.select_related("gold", "gold__signed_off_by"), 50).get_page(request.GET.get("page"))
    counts = GoldLabel.objects.values("status").annotate(n=Count("id"))
    return render(request, "annotation/gold_list.html", {
        "page": page, "status": status, "counts": {row["status"]: row["n"] for row in counts},
        "total": MultipleChoiceCase.objects.filter(source=MultipleChoiceCase.Source.ASKDOCS).count(),
    })


GOLD_FORMS = {
    "blind": BlindAnswerForm, "implied": ImpliedForm, "edit": GoldEditForm, "facts": FactsForm,
    "initial_info": InitialInfoForm,
}


@role_required(Role.REVIEWER)
def gold_label(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Blind answer first; then the key, implied marks, edits, facts, chief complaint and sign-off."""
    case = get_object_or_404(MultipleChoiceCase, pk=case_pk, source=MultipleChoiceCase.Source.ASKDOCS)
    gold = gold_actions.get_or_create_gold(case, as_user(request.user))
    if request.method == "POST":
        try:
            _gold_post(request, gold)
        except gold_actions.GoldError as exc:
            messages.error(request, str(exc))
        return redirect("annotation:gold-label", case_pk=case.pk)
    gold.refresh_from_db()
    return render(request, "annotation/gold_label.html", _gold_context(request, case, gold))


def _gold_post(request: HttpRequest, gold: GoldLabel) -> None:
    step, user = request.POST.get("step", ""), as_user(request.user)
    form_class = GOLD_FORMS.get(step)
    if step == "sign_off":
        gold_actions.do_sign_off(gold, user)
        messages.success(request, "Signed off.")
        return
    if step == "reopen":
        note = forms.CharField(required=False, max_length=2000)  # refuses NUL, which PostgreSQL cannot store
        try:
            gold_actions.do_reopen_gold(gold, user, note.clean(request.POST.get("note", "")))
        except forms.ValidationError as exc:
            raise gold_actions.GoldError(f"note: {' '.join(exc.messages)}") from exc
        return
    if form_class is None:
        raise gold_actions.GoldError("Unknown step.")
    form = form_class(request.POST, options=gold.options) if step == "implied" else form_class(request.POST)
    if not form.is_valid():
        raise gold_actions.GoldError("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    _apply_gold_form(step, form, gold, user)
    messages.success(request, "Saved.")


def _apply_gold_form(step: str, form: forms.Form, gold: GoldLabel, user: User) -> None:
    data = form.cleaned_data
    if step == "blind":
        gold_actions.do_record_blind_answer(gold, user, data["letter"], data.get("time_ms"))
    elif step == "implied":
        gold_actions.do_mark_implied(gold, user, cast(ImpliedForm, form).marks())
    elif step == "edit":
        gold_actions.do_edit_gold(gold, user, stem=data["stem"], options=cast(GoldEditForm, form).options(),
                                  answer_idx=data["answer_idx"], note=data["note"])
    elif step == "facts":
        gold_actions.do_curate_facts(gold, user, cast(FactsForm, form).facts(), data["note"])
    elif step == "initial_info":
        gold_actions.do_set_initial_info(gold, user, data["initial_info"])


def _gold_context(request: HttpRequest, case: MultipleChoiceCase, gold: GoldLabel) -> dict[str, Any]:
    title, body, turns = gold_actions.case_conversation(case)
    answered = gold.blind_answers.filter(user=as_user(request.user)).first()
    context = {"case": case, "gold": gold, "title": title, "body": body, "turns": turns, "answered": answered,
               "letters": LETTERS, "blind_form": BlindAnswerForm()}
    if answered is None:
        return context
    initial_options = {f"option_{letter}": gold.options.get(letter, "") for letter in LETTERS}
    context.update(
        implied_form=ImpliedForm(options=gold.options, initial={
            f"implied_{k}": ("yes" if v else "no") for k, v in gold.option_implied.items()
        }),
        edit_form=GoldEditForm(initial={"stem": gold.stem, "answer_idx": gold.answer_idx, **initial_options}),
        facts=[{"text": fact, "meta": gold_actions.is_meta_fact(fact),
                "bullet": bool(gold_actions.BULLET.match(fact))} for fact in gold.atomic_facts],
        facts_form=FactsForm(initial={"atomic_facts": "\n".join(gold.atomic_facts)}),
        facts_curated=gold.revisions.filter(kind=RevisionKind.FACTS).exists(),
        initial_form=InitialInfoForm(initial={"initial_info": gold.initial_info}),
        problems=gold_actions.sign_off_problems(gold, as_user(request.user)),
        revisions=gold.revisions.select_related("author").order_by("-version")[:50],
        blind_answers=gold.blind_answers.select_related("user").order_by("created_at"),
        key_is_longest=gold_actions.key_is_longest(gold.options, gold.answer_idx),
    )
    return context


@role_required(Role.LEAD)
def balance(request: HttpRequest) -> HttpResponse:
    """Key positions and key-is-longest, published vs gold, with one-click rebalancing."""
    if request.method == "POST":
        form = RebalanceForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The seed must be a whole number from 0 to 4294967295.")
            return redirect("annotation:balance")
        changed = gold_actions.do_rebalance_options(as_user(request.user), seed=form.cleaned_data["seed"] or 0)
        messages.success(request, f"Reordered the options of {changed} case(s); every key still points at its text.")
        return redirect("annotation:balance")
    return render(request, "annotation/balance.html", {"report": gold_actions.balance_report(), "letters": LETTERS})


@role_required(Role.LEAD)
def releases(request: HttpRequest) -> HttpResponse:
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            release = gold_actions.do_create_release(form.cleaned_data["name"], as_user(request.user),
                                                     form.cleaned_data["description"])
        except gold_actions.GoldError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Released {release.item_count} item(s) as {release.name}.")
            return redirect(release)
    signed = GoldLabel.objects.filter(status=GoldStatus.SIGNED_OFF).count()
    return render(request, "annotation/releases.html", {
        "form": form, "releases": BenchmarkRelease.objects.select_related("created_by"), "signed_off": signed,
    })


@role_required(Role.LEAD)
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(BenchmarkRelease, pk=pk)
    items = release.items.order_by("position")[:500]
    return render(request, "annotation/release_detail.html", {"release": release, "items": items})


@role_required(Role.LEAD)
def release_export(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(BenchmarkRelease, pk=pk)
    response = HttpResponse(gold_actions.release_jsonl(release), content_type="application/jsonl")
    response["Content-Disposition"] = content_disposition_header(True, gold_actions.release_filename(release))
    return response
