"""Synthesis pages for leads: home, catalogue, templates, endpoints, run forms, job summary, variants and pairs."""

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import RoleRequiredMixin
from corpus.models import Question
from jobs.configs.forms import ConfigForm
from jobs.models import Job

from .actions import (
    SynthesisError,
    do_enqueue_pair_build,
    do_enqueue_synthesis,
    do_enqueue_verification,
    do_override_verdict,
    do_save_endpoint,
    do_save_template,
    do_update_attribute,
    lint_all_templates,
)
from .diffs import change_ratio, word_diff
from .forms import (
    AttributeForm,
    EndpointForm,
    OverrideForm,
    PairForm,
    SynthesisForm,
    TemplateForm,
    VerificationForm,
)
from .models import (
    Attribute,
    Direction,
    ModelEndpoint,
    PairType,
    PreferencePair,
    PromptTemplate,
    Rewrite,
    TemplateStatus,
    Verdict,
)
from .prompts import lint_template
from .reports import acceptance_chart, acceptance_table, synthesis_summary

SYNTHESIS_KINDS = ("synthesize", "verify", "build_pairs")


class LeadView(RoleRequiredMixin, TemplateView):
    """Every synthesis page is for leads (and admins); annotators never see generation internals."""


class IndexView(LeadView):
    template_name = "synthesis/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        rows = acceptance_table()
        lint = lint_all_templates()
        templates = PromptTemplate.objects.filter(status=TemplateStatus.ACTIVE).select_related("attribute")
        return {
            **super().get_context_data(**kwargs),
            "attributes": Attribute.objects.annotate(n_pairs=Count("pairs")),
            "templates": [(t, lint.get(t, [])) for t in templates.order_by("attribute__order", "kind")],
            "endpoints": ModelEndpoint.objects.all(),
            "jobs": Job.objects.filter(kind__in=SYNTHESIS_KINDS).select_related("owner")
                    .defer("log_tail", "traceback")[:10],
            "acceptance": rows, "chart": acceptance_chart(rows), "pair_types": PairType.choices,
            "counts": {"rewrites": Rewrite.objects.count(), "pairs": PreferencePair.objects.count()},
        }


class AttributeEditView(RoleRequiredMixin, FormView):
    template_name = "synthesis/attribute_form.html"
    form_class = AttributeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.attribute = get_object_or_404(Attribute, key=kwargs["key"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.attribute}

    def form_valid(self, form: AttributeForm) -> HttpResponse:
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            do_update_attribute(self.attribute, as_user(self.request.user), scale=form.cleaned_data["scale_text"],
                                **fields)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{self.attribute.name} saved.")
        return redirect("synthesis:index")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "attribute": self.attribute}


class TemplateDetailView(RoleRequiredMixin, FormView):
    """A template version: its text, lint, history; saving edits it in place or supersedes it."""

    template_name = "synthesis/template_detail.html"
    form_class = TemplateForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.template = get_object_or_404(PromptTemplate.objects.select_related("attribute"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        t = self.template
        return {"system_text": t.system_text, "user_text": t.user_text, "placeholders": ", ".join(t.placeholders)}

    def form_valid(self, form: TemplateForm) -> HttpResponse:
        t = self.template
        try:
            saved = do_save_template(t, as_user(self.request.user), form.cleaned_data["system_text"],
                                     form.cleaned_data["user_text"], form.cleaned_placeholders(),
                                     form.cleaned_data["notes"])
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        verb = "saved" if saved.pk == t.pk else f"superseded by version {saved.version}"
        messages.success(self.request, f"Template {verb}.")
        return redirect(saved)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        t = self.template
        history = PromptTemplate.objects.filter(kind=t.kind, attribute=t.attribute).annotate(
            n_rewrites=Count("rewrites", distinct=True), n_verifications=Count("verifications", distinct=True))
        return {**super().get_context_data(**kwargs), "template": t, "history": history,
                "lint": lint_template(t, list(Attribute.objects.all())), "frozen": t.has_produced_data()}


class EndpointListView(LeadView):
    template_name = "synthesis/endpoint_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "endpoints": ModelEndpoint.objects.all()}


class EndpointEditView(RoleRequiredMixin, FormView):
    template_name = "synthesis/endpoint_form.html"
    form_class = EndpointForm

    def get_form_kwargs(self) -> dict[str, Any]:
        pk = self.kwargs.get("pk")
        instance = get_object_or_404(ModelEndpoint, pk=pk) if pk else ModelEndpoint()
        return {**super().get_form_kwargs(), "instance": instance}

    def form_valid(self, form: EndpointForm) -> HttpResponse:
        try:
            endpoint = do_save_endpoint(form.instance, actor=self.request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Endpoint {endpoint.name} saved.")
        return redirect("synthesis:endpoints")


class EnqueueView(RoleRequiredMixin, FormView):
    """Shared by the job forms: build the config, enqueue, go to the job page."""

    template_name = "synthesis/run_form.html"
    enqueue: Callable[..., Job] | None = None

    def form_valid(self, form: ConfigForm) -> HttpResponse:
        queue = {"queue": form.cleaned_data["queue"] or None} if "queue" in form.fields else {}
        try:
            enqueue = type(self).enqueue
            assert enqueue is not None, "a subclass names its enqueue action"
            job = enqueue(form.config(), owner=as_user(self.request.user), **queue)
        except (SynthesisError, ValueError) as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, f"Job {job.pk} queued with {job.items.count()} items.")
        return redirect(job)


class SynthesisRunView(EnqueueView):
    form_class = SynthesisForm
    enqueue = do_enqueue_synthesis
    extra_context = {"title": "Run synthesis"}


class VerificationRunView(EnqueueView):
    form_class = VerificationForm
    enqueue = do_enqueue_verification
    extra_context = {"title": "Verify rewrites"}


class PairBuildRunView(EnqueueView):
    form_class = PairForm
    enqueue = do_enqueue_pair_build
    extra_context = {"title": "Build pairs"}


class JobSummaryView(LeadView):
    template_name = "synthesis/job_summary.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        job = get_object_or_404(Job, pk=kwargs["pk"], kind__in=SYNTHESIS_KINDS)
        rows = acceptance_table(PreferencePair.objects.filter(job=job))
        return {**super().get_context_data(**kwargs), "job": job, "summary": synthesis_summary(job),
                "acceptance": rows, "chart": acceptance_chart(rows), "pair_types": PairType.choices}


def filter_values(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "") for name in ("attribute", "verdict", "model", "pair_type", "q")}


class VariantListView(LeadView):
    """Questions with their normalized original and each rewrite side by side, with a word diff."""

    template_name = "synthesis/variant_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        f = filter_values(self.request)
        rewrites = Rewrite.objects.exclude(direction=Direction.ORIGINAL).select_related("attribute", "source")
        if f["attribute"]:
            rewrites = rewrites.filter(attribute__key=f["attribute"])
        if f["model"]:
            rewrites = rewrites.filter(model_name=f["model"])
        if f["verdict"]:
            rewrites = rewrites.filter(Q(chosen_in__verdict=f["verdict"]) | Q(rejected_in__verdict=f["verdict"]))
        questions = Question.objects.filter(rewrites__in=rewrites).distinct().order_by("qid")
        if f["q"]:
            questions = questions.filter(qid__icontains=f["q"])
        page = Paginator(questions, 10).get_page(self.request.GET.get("page"))
        shown = Question.objects.filter(pk__in=[q.pk for q in page]).select_related("thread__post").prefetch_related(
            Prefetch("rewrites", queryset=rewrites.distinct().order_by("attribute__order", "direction")
                     .prefetch_related("chosen_in", "rejected_in"),
                     to_attr="shown_rewrites"))
        return {**super().get_context_data(**kwargs), "page": page, "filters": f,
                "questions": [variant_rows(q) for q in shown.order_by("qid")], **filter_choices()}


def variant_rows(question: Question) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    shown: list[Rewrite] = question.shown_rewrites  # type: ignore[attr-defined]  # Prefetch(to_attr=...)
    for rewrite in shown:
        verdicts = sorted({p.verdict for p in rewrite.chosen_in.all()} | {p.verdict for p in rewrite.rejected_in.all()})
        source = cast(Rewrite, rewrite.source)  # shown rewrites are not originals: each has its source
        rows.append({"rewrite": rewrite, "diff": word_diff(source.text, rewrite.text),
                     "changed": change_ratio(source.text, rewrite.text), "verdicts": verdicts})
    originals = {r.source for r in shown}
    return {"question": question, "originals": sorted(originals, key=lambda r: r.pk), "rows": rows}


def filter_choices() -> dict[str, Any]:
    return {
        "attribute_choices": [(a.key, a.name) for a in Attribute.objects.all()],
        "verdict_choices": Verdict.choices, "pair_type_choices": PairType.choices,
        "model_choices": sorted(set(Rewrite.objects.values_list("model_name", flat=True).distinct())
                                | set(PreferencePair.objects.exclude(judge_model="")
                                      .values_list("judge_model", flat=True).distinct())),
    }


class PairListView(LeadView):
    template_name = "synthesis/pair_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        f = filter_values(self.request)
        pairs = PreferencePair.objects.select_related("attribute", "question", "chosen", "rejected", "overridden_by")
        if f["attribute"]:
            pairs = pairs.filter(attribute__key=f["attribute"])
        if f["verdict"]:
            pairs = pairs.filter(verdict=f["verdict"])
        if f["pair_type"]:
            pairs = pairs.filter(pair_type=f["pair_type"])
        if f["model"]:
            pairs = pairs.filter(Q(judge_model=f["model"]) | Q(chosen__model_name=f["model"])
                                 | Q(rejected__model_name=f["model"]))
        rows = acceptance_table(pairs)
        return {**super().get_context_data(**kwargs), "filters": f, "page": Paginator(pairs, 50).get_page(
            self.request.GET.get("page")), "acceptance": rows, "chart": acceptance_chart(rows),
            "pair_types": PairType.choices, **filter_choices()}


class PairDetailView(RoleRequiredMixin, FormView):
    template_name = "synthesis/pair_detail.html"
    form_class = OverrideForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.pair = get_object_or_404(
            PreferencePair.objects.select_related("attribute", "question__thread__post", "chosen__template",
                                                  "rejected__template", "verification", "overridden_by"),
            pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"verdict": self.pair.override_verdict, "reason": self.pair.override_reason}

    def form_valid(self, form: OverrideForm) -> HttpResponse:
        do_override_verdict(self.pair, form.cleaned_data["verdict"], as_user(self.request.user),
                            form.cleaned_data["reason"])
        messages.success(self.request, f"Verdict is now {self.pair.get_verdict_display().lower()}.")
        return redirect(reverse("synthesis:pair", args=[self.pair.pk]))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        pair = self.pair
        return {**super().get_context_data(**kwargs), "pair": pair,
                "diff": word_diff(pair.rejected_text, pair.chosen_text)}
