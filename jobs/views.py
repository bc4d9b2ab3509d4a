"""Job pages for leads (and a job's creator): a filterable list, a self-refreshing detail page, cancel and retry."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, TemplateView

from alfa_platform.roles import Role, RoleRequiredMixin, has_role, require_role

from .actions import JobError, do_cancel_job, do_retry_job
from .models import Job, JobStatus, item_counts
from .runner import JOB_KINDS


class JobListView(RoleRequiredMixin, TemplateView):
    template_name = "jobs/job_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        jobs = Job.objects.select_related("owner").defer("log_tail", "traceback", "params")
        kind, status = self.request.GET.get("kind", ""), self.request.GET.get("status", "")
        if kind:
            jobs = jobs.filter(kind=kind)
        if status:
            jobs = jobs.filter(status=status)
        page = Paginator(jobs, 50).get_page(self.request.GET.get("page"))
        return {
            **super().get_context_data(**kwargs),
            "page": page, "kind": kind, "status": status,
            "kinds": sorted(JOB_KINDS), "statuses": JobStatus.choices,
            "any_active": any(not job.is_finished for job in page),
        }


class JobDetailView(RoleRequiredMixin, DetailView):
    """Leads see every job; a creator without the lead role sees (and may cancel) their own."""

    model = Job
    template_name = "jobs/job_detail.html"
    context_object_name = "job"
    required_role = Role.ANNOTATOR

    def get_object(self, queryset: QuerySet[Job] | None = None) -> Job:
        job = super().get_object(queryset)
        if not (has_role(self.request.user, Role.LEAD) or job.is_created_by(self.request.user)):
            raise PermissionDenied("This job page needs the lead role or to be the job's creator.")
        return job

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        job = self.object
        return {
            **super().get_context_data(**kwargs),
            "item_counts": item_counts(job),
            "failed_items": job.items.filter(status="failed").order_by("pk")[:200],
            "may_cancel": job.may_be_cancelled_by(self.request.user),
            "may_retry": has_role(self.request.user, Role.LEAD),
        }


class JobProgressView(JobDetailView):
    """The progress fragment the detail page polls (htmx) while the job runs."""

    template_name = "jobs/_progress.html"


@login_required
@require_POST
def cancel_job(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    require_role(request.user, Role.ANNOTATOR)
    job = get_object_or_404(Job, pk=pk)
    if not job.may_be_cancelled_by(request.user):
        raise PermissionDenied("Only the job's creator, a lead or an admin may cancel it.")
    try:
        do_cancel_job(job)
        messages.success(request, "Cancellation requested." if job.status == JobStatus.RUNNING else "Job cancelled.")
    except JobError as exc:
        messages.error(request, str(exc))
    return redirect(job)


@login_required
@require_POST
def retry_job(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    require_role(request.user, Role.LEAD)
    job = get_object_or_404(Job, pk=pk)
    try:
        do_retry_job(job)
        messages.success(request, "Job queued again; finished items are kept.")
    except JobError as exc:
        messages.error(request, str(exc))
    return redirect(job)
