"""Evaluation pages for leads: runs, launching, a run with live progress, transcripts, the leaderboard with charts,
and exports."""

import json
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import DetailView, TemplateView

from alfa_platform.auth_requests import as_user
from alfa_platform.params import parse_id
from alfa_platform.roles import Role, RoleRequiredMixin, has_role, require_role
from corpus.actions import store_upload
from jobs.configs import config_form_class
from synthesis.models import ModelEndpoint

from .actions import ENQUEUE, EvaluationError
from .casesets import BUILT_IN, CaseSetError, file_case_set
from .configs import ExpertCheckConfig, GenerationConfig, InteractiveConfig, WinrateConfig
from .expert import expert_check_metrics
from .models import CaseSet, Episode, EvaluationRun, InitialInfo, RunKind
from .results import chart_data, leaderboard, leaderboard_csv, run_csv, run_export
from .winrate import item_scores

# Leads (and admins) only: transcripts and exports show the MCQ keys, which the reviewers who gold-label the cases
# must not see before their blind answer (tests/annotation/test_blind.py); physicians take part in expert checks
# through the annotation pages.
VIEW_ROLE = Role.LEAD


class InteractiveForm(config_form_class(InteractiveConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class WinrateForm(config_form_class(WinrateConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class GenerationForm(config_form_class(GenerationConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class ExpertCheckForm(config_form_class(ExpertCheckConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


FORMS: dict[str, type[InteractiveForm | WinrateForm | GenerationForm | ExpertCheckForm]] = {
    "interactive": InteractiveForm, "winrate": WinrateForm, "generation": GenerationForm,
    "expert_check": ExpertCheckForm}


class IndexView(RoleRequiredMixin, TemplateView):
    template_name = "evaluation/index.html"
    required_role = VIEW_ROLE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        runs = EvaluationRun.objects.select_related("job", "case_set").exclude(
            kind=RunKind.GENERATION, job__kind="evaluate_winrate")  # a win-rate's own generations show on its page
        kind = self.request.GET.get("kind", "")
        if kind in RunKind.values:
            runs = runs.filter(kind=kind)
        page = Paginator(runs, 50).get_page(self.request.GET.get("page"))
        return {**super().get_context_data(**kwargs), "page": page, "kind": kind, "kinds": RunKind.choices,
                "case_sets": CaseSet.objects.all()[:50], "upload_form": CaseSetUploadForm(),
                "may_launch": has_role(self.request.user, Role.LEAD)}


class CaseSetUploadForm(forms.Form):
    file = forms.FileField(help_text="A MediQ-format JSONL file: AskDocs MCQ or MedQA convo records.")
    name = forms.SlugField(required=False, help_text="Empty: the file's name.")
    initial_info = forms.ChoiceField(choices=[("", "By format: original post (AskDocs), first sentence (MedQA)"),
                                              *InitialInfo.choices], required=False)


def upload_case_set(request: HttpRequest) -> HttpResponse:
    """Import an uploaded MediQ-format file as a case set (leads); its cases are snapshotted at once."""
    if not request.user.is_authenticated:
        return redirect(f"/login/?next={request.path}")
    require_role(request.user, Role.LEAD)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CaseSetUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        # the stub's ErrorList yields ValidationErrors too; Django's yields their message strings
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))  # type: ignore[arg-type]
        return redirect("evaluation:index")
    upload = form.cleaned_data["file"]
    try:
        case_set = file_case_set(store_upload(upload), form.cleaned_data["initial_info"] or None,
                                 form.cleaned_data["name"] or Path(upload.name).stem, as_user(request.user))
    except CaseSetError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Case set {case_set.name}: {case_set.size} cases ({case_set.sha256[:12]}).")
    return redirect("evaluation:index")


class LaunchView(RoleRequiredMixin, TemplateView):
    """One form per task, each derived from its config dataclass; the POST names the task."""

    template_name = "evaluation/launch.html"
    required_role = Role.LEAD

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        forms = kwargs.pop("forms", None) or {task: form(prefix=task, initial=self.chosen_model())
                                              for task, form in FORMS.items()}
        task = kwargs.pop("task", None) or self.request.GET.get("task", "interactive")
        return {**super().get_context_data(**kwargs), "forms": forms, "task": task if task in FORMS else "interactive",
                "endpoints": ModelEndpoint.objects.filter(is_active=True).values_list("name", flat=True),
                "case_set_names": sorted({*BUILT_IN, *CaseSet.objects.values_list("name", flat=True)})}

    def chosen_model(self) -> dict:
        """?model=NAME (a model page's "evaluate it") fills every task's model with that active endpoint."""
        name = self.request.GET.get("model", "")
        return {"model": name} if name and ModelEndpoint.objects.filter(name=name, is_active=True).exists() else {}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        task = request.POST.get("task", "")
        if task not in FORMS:
            return HttpResponse("Unknown task.", status=400)
        form = FORMS[task](request.POST, prefix=task)
        if form.is_valid():
            try:
                run = ENQUEUE[task][1](form.config(), owner=as_user(request.user))
                return redirect(run)
            except EvaluationError as exc:
                form.add_error(None, str(exc))
        forms = {name: (form if name == task else cls(prefix=name)) for name, cls in FORMS.items()}
        return self.render_to_response(self.get_context_data(forms=forms, task=task), status=400)


class RunView(RoleRequiredMixin, DetailView):
    model = EvaluationRun
    template_name = "evaluation/run_detail.html"
    context_object_name = "run"
    required_role = VIEW_ROLE

    def get_queryset(self) -> QuerySet[EvaluationRun]:
        return EvaluationRun.objects.select_related("job", "case_set", "baseline", "generation",
                                                    "reference_generation", "endpoint")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        run = self.object
        context = {**super().get_context_data(**kwargs), "metrics_json": json.dumps(run.metrics, indent=1),
                   "provenance_json": json.dumps(run.provenance, indent=1),
                   "config_json": json.dumps(run.config, indent=1)}
        page = self.request.GET.get("page")
        if run.kind == RunKind.INTERACTIVE:
            episodes = run.episodes.defer("transcript")
            if (outcome := self.request.GET.get("correct")) in ("yes", "no"):
                episodes = episodes.filter(correct=outcome == "yes")
            context.update(episodes=Paginator(episodes, 100).get_page(page),
                           by_questions=sorted((run.metrics.get("by_questions") or {}).items(),
                                               key=lambda pair: int(pair[0])))
        elif run.kind == RunKind.WINRATE:
            context["items"] = Paginator(winrate_items(run), 100).get_page(page)
        elif run.kind == RunKind.EXPERT_CHECK:
            context["expert"] = expert_check_metrics(run)
        else:
            context["questions"] = Paginator(run.questions.all(), 100).get_page(page)
        return context


def winrate_items(run: EvaluationRun) -> list[dict]:
    """Return one row per question: both texts, the verdict counts and the candidate's score."""
    rows: dict[str, dict[str, Any]] = {}
    for verdict in run.verdicts.order_by("qid", "order", "sample"):
        row = rows.setdefault(verdict.qid, {"qid": verdict.qid, "candidate": verdict.candidate_text,
                                            "reference": verdict.reference_text, "winners": []})
        row["winners"].append(verdict.winner)
    scores = item_scores((qid, w) for qid, row in rows.items() for w in row["winners"])
    return [{**row, "score": scores[qid]} for qid, row in rows.items()]


class RunProgressView(RunView):
    """The progress fragment the run page polls (htmx) until the job ends; then it reloads the page."""

    template_name = "evaluation/_run_progress.html"

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if self.object.is_finished or (self.object.job and self.object.job.is_finished):
            response["HX-Refresh"] = "true"
        return response


class EpisodeView(RoleRequiredMixin, DetailView):
    """One case's transcript: who said what, the facts the patient used, the expert's confidence per turn."""

    template_name = "evaluation/episode_detail.html"
    context_object_name = "episode"
    required_role = VIEW_ROLE

    def get_object(self, queryset: QuerySet[Episode] | None = None) -> Episode:
        return get_object_or_404(Episode.objects.select_related("run", "item"), run_id=self.kwargs["run_pk"],
                                 pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        episode = self.object
        used = {index for event in episode.transcript if event.get("role") == "patient" for index in event["facts"]}
        siblings = list(Episode.objects.filter(run=episode.run, repeat=episode.repeat).order_by(
            "item__position").values_list("pk", flat=True))
        position = siblings.index(episode.pk)
        return {**super().get_context_data(**kwargs),
                "facts": [(index + 1, fact, index in used) for index, fact in enumerate(episode.item.facts)],
                "options": sorted(episode.item.options.items()),
                "previous": siblings[position - 1] if position else None,
                "next": siblings[position + 1] if position + 1 < len(siblings) else None}


class LeaderboardView(RoleRequiredMixin, TemplateView):
    template_name = "evaluation/leaderboard.html"
    required_role = VIEW_ROLE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        baseline = chosen_baseline(self.request)
        board = leaderboard(baseline)
        columns = board["columns"]
        table = [{**row, "winrate_cells": [row["winrate"].get(c) for c in columns["winrate"]],
                  "interactive_cells": [row["interactive"].get(c) for c in columns["interactive"]]}
                 for row in board["rows"]]
        return {**super().get_context_data(**kwargs), "board": board, "table": table, "chart": chart_data(board),
                "baseline": baseline, "baselines": EvaluationRun.objects.filter(
                    kind=RunKind.INTERACTIVE, finished_at__isnull=False).select_related("case_set")[:100]}


def chosen_baseline(request: HttpRequest) -> EvaluationRun | None:
    value = parse_id(request.GET.get("baseline", ""))
    if value is None:
        return None
    return EvaluationRun.objects.filter(pk=value, kind=RunKind.INTERACTIVE, finished_at__isnull=False).first()


def export_run(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download a run as JSON (everything) or CSV (one row per episode, verdict or question)."""
    if not request.user.is_authenticated:
        return redirect(f"/login/?next={request.path}")
    require_role(request.user, VIEW_ROLE)
    check_format(fmt)
    run = get_object_or_404(EvaluationRun, pk=pk)
    if fmt == "csv":
        return attachment(run_csv(run), "text/csv", f"evaluation-run-{run.pk}.csv")
    return attachment(json.dumps(run_export(run), indent=1, default=str), "application/json",
                      f"evaluation-run-{run.pk}.json")


def export_leaderboard(request: HttpRequest, fmt: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"/login/?next={request.path}")
    require_role(request.user, VIEW_ROLE)
    check_format(fmt)
    board = leaderboard(chosen_baseline(request))
    if fmt == "csv":
        return attachment(leaderboard_csv(board), "text/csv", "leaderboard.csv")
    return JsonResponse(board, json_dumps_params={"indent": 1})


def check_format(fmt: str) -> None:
    if fmt not in ("json", "csv"):
        raise Http404("Exports are json or csv.")


def attachment(body: str, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
