"""Training pages (leads): runs with live charts, the new-run form, curves side by side, models and their lineage."""


from typing import Any, cast

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import Role, role_required
from jobs.actions import JobError, do_cancel_job
from jobs.models import Job

from .actions import TrainingError, do_create_merge, do_create_training_run, do_serve_model, serving_job
from .charts import HEIGHT, WIDTH, compare_charts, run_charts
from .forms import MergeForm, ServeForm, run_form_class
from .models import TrainedModel, TrainingMethod, TrainingRun
from .presets import PRESETS, fusion_initial, preset_initial

RUNS_SHOWN = 100
COMPARED_AT_MOST = 6


lead_required = role_required(Role.LEAD)


def runs_with_related() -> QuerySet[TrainingRun]:
    return TrainingRun.objects.select_related("job", "dataset_version__dataset", "trained_model", "created_by")


@lead_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = list(runs_with_related()[:RUNS_SHOWN])
    return render(request, "training/run_list.html", {"runs": runs, "methods": TrainingMethod.choices,
                                                      "presets": PRESETS.values()})


@lead_required
def run_new(request: HttpRequest) -> HttpResponse:
    """The new-run form for one method (?method=) or one of the paper's comparisons (?preset=), options preset."""
    preset = PRESETS.get(request.GET.get("preset", ""))
    method = request.POST.get("method") or (preset.method if preset else request.GET.get("method", "dpo"))
    if method not in TrainingMethod.values:
        raise Http404("No such method.")
    initial = preset_initial(preset) if preset else initial_from_run(request.GET.get("from", ""))
    form = run_form_class(method)(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = do_create_training_run(method, data["dataset_version"], data["base_model"],
                                         attributes=data["attributes"], pair_types=data["pair_types"],
                                         config=form.run_config(), name=data["name"], user=as_user(request.user),
                                         queue=data["queue"])
        except TrainingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{run} queued (job {run.job_id}).")
            return redirect(run)
    return render(request, "training/run_new.html", {"form": form, "method": method, "preset": preset,
                                                     "methods": TrainingMethod.choices, "presets": PRESETS.values()})


def initial_from_run(source: str) -> dict[str, Any]:
    """Return the form's initial values copied from run `source` (?from=ID), to start a variant of it."""
    run = TrainingRun.objects.filter(pk=int(source)).first() if source.isascii() and source.isdigit() else None
    if run is None:
        return {}
    return {"dataset_version": run.dataset_version_id, "base_model": run.base_model, "attributes": run.attributes,
            "pair_types": run.pair_types, **run.config}


def run_context(run: TrainingRun) -> dict[str, Any]:
    return {"run": run, "job": run.job, "charts": run_charts(run), "width": WIDTH, "height": HEIGHT,
            "waiting": run.job is not None and not run.job.is_finished,
            "model": TrainedModel.objects.filter(run=run).first()}


@lead_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(runs_with_related(), pk=pk)
    return render(request, "training/run_detail.html", {**run_context(run), "config": sorted(run.config.items())})


@lead_required
def run_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment a training run's page polls: status, charts and the log tail; it stops polling when done."""
    run = get_object_or_404(runs_with_related(), pk=pk)
    return render(request, "training/_run_live.html", run_context(run))


@lead_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun.objects.select_related("job"), pk=pk)
    try:
        do_cancel_job(cast(Job, run.job))  # a run is queued with its job
        messages.success(request, "Cancellation requested; the run stops at its next step.")
    except JobError as exc:
        messages.error(request, str(exc))
    return redirect(run)


@lead_required
def run_compare(request: HttpRequest) -> HttpResponse:
    """Two or more runs' training curves on shared charts (?runs=1,2 or the list page's ticked boxes)."""
    parts = [part.strip() for value in request.GET.getlist("runs") for part in value.split(",")]
    ids = [int(part) for part in parts if part.isascii() and part.isdigit()]
    runs = list(runs_with_related().filter(pk__in=ids[:COMPARED_AT_MOST]).order_by("pk"))
    return render(request, "training/run_compare.html", {
        "runs": runs, "charts": compare_charts(runs), "width": WIDTH, "height": HEIGHT,
        "all_runs": runs_with_related()[:RUNS_SHOWN]})


@lead_required
def model_list(request: HttpRequest) -> HttpResponse:
    form = MergeForm(request.POST or None, initial=fusion_initial() if request.GET.get("preset") == "fusion" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = do_create_merge(data["models"], data["name"], weights=data["weights"],
                                  leave_one_out=data["leave_one_out"], user=as_user(request.user))
        except TrainingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Merge queued (job {job.pk}); {data['name']} appears here when it is done.")
            return redirect("training:models")
    models = TrainedModel.objects.select_related("run", "dataset_version__dataset", "endpoint")
    return render(request, "training/model_list.html", {"models": models, "form": form})


@lead_required
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model = get_object_or_404(TrainedModel.objects.select_related("run__job", "dataset_version__dataset",
                                                                  "endpoint"), name=name)
    return render(request, "training/model_detail.html", {
        "model": model, "lineage": model.lineage(), "children": model.children.all(),
        "links": model.parent_links.select_related("parent"), "config": sorted(model.config.items()),
        "metrics": sorted(model.final_metrics.items()), "serving": serving_job(model), "serve_form": ServeForm()})


@lead_required
@require_POST
def model_serve(request: HttpRequest, name: str) -> HttpResponse:
    """Queue a job serving the model over HTTP (an OpenAI-compatible endpoint) until it is cancelled."""
    model = get_object_or_404(TrainedModel, name=name)
    form = ServeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(message) for errors in form.errors.values() for message in errors))
        return redirect(model)
    try:
        job = do_serve_model(model, port=form.cleaned_data["port"] or 0, user=as_user(request.user))
    except TrainingError as exc:
        messages.error(request, str(exc))
        return redirect(model)
    messages.success(request, f"Serving queued as job {job.pk}; the endpoint appears here when the model is loaded.")
    return redirect(model)
