"""Background jobs: the row is the truth about a job's state, progress, items and errors."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from alfa_platform.roles import Role, has_role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


class Queue(models.TextChoices):
    DEFAULT = "default", "CPU (default)"
    GPU = "gpu", "GPU"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Job(models.Model):
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.DEFAULT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_unit = models.CharField(max_length=32, default="items")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    # Bumped on every (re)queue: a task carries the version it was sent with, so stale deliveries do nothing.
    version = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # job list page: filter by kind and status, newest first
            models.Index(fields=["kind", "status", "-created_at"], name="job_kind_status_idx"),
            # watchdog: running jobs by heartbeat age
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def rate(self) -> float | None:
        """Return progress units per second while running or after finishing."""
        seconds = self.duration_seconds
        return self.progress_done / seconds if seconds else None

    @property
    def can_cancel(self) -> bool:
        return self.status in {JobStatus.QUEUED, JobStatus.RUNNING}

    @property
    def can_retry(self) -> bool:
        return self.status in {JobStatus.FAILED, JobStatus.CANCELLED}

    def is_created_by(self, user: "User | AnonymousUser | None") -> bool:
        """Return whether the user created the job and still holds a platform role (removed staff do nothing)."""
        is_owner = self.owner_id is not None and self.owner_id == getattr(user, "pk", None)
        return is_owner and has_role(user, Role.ANNOTATOR)

    def may_be_cancelled_by(self, user: "User | AnonymousUser | None") -> bool:
        """Return whether the user may cancel the job: its creator, a lead or an admin.

        The platform holds one project per installation, so "the project's leads" are all leads.
        """
        return has_role(user, Role.LEAD) or self.is_created_by(user)


class JobItem(models.Model):
    """One unit of a job's work (a file, a question x attribute...), so a retry redoes only what failed."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="jobitem_unique_key")]
        indexes = [
            # runner: the job's items still to do; job page: failed items
            models.Index(fields=["job", "status"], name="jobitem_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


def item_counts(job: Job) -> dict[str, int]:
    """Return {status: count} over a job's items, every status present."""
    counts = dict.fromkeys(ItemStatus.values, 0)
    for row in job.items.order_by().values("status").annotate(n=models.Count("id")):
        counts[row["status"]] = row["n"]
    return counts
