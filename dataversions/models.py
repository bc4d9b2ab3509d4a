"""Datasets and their immutable versions: frozen rows with a content hash, counts, filter and lineage; exports."""

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from audit.softdelete import LiveManager


class DatasetKind(models.TextChoices):
    PREFERENCE = "preference", "Preference pairs"
    SFT = "sft", "SFT"
    JUDGMENTS = "judgments", "Expert judgments"
    INTERACTIVE = "interactive", "Interactive QA benchmark"


class Provenance(models.TextChoices):
    INTERNAL = "internal", "Built here"
    EXTERNAL = "external", "Imported"


class VersionStatus(models.TextChoices):
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Dataset(models.Model):
    """A named line of versions of one kind (e.g. the filtered fine-grained pairs)."""

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dataversions:dataset", args=[self.name])


class DatasetVersion(models.Model):
    """An immutable snapshot: its rows are copies, so later edits or deletions of the sources never change it."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.BUILDING)
    provenance = models.CharField(max_length=16, choices=Provenance.choices, default=Provenance.INTERNAL)
    selection = models.JSONField(default=dict, help_text="The saved filter the rows were selected by.")
    seed = models.BigIntegerField(default=0)
    rendering = models.CharField(max_length=32, help_text="corpus.rendering version of every prompt.")
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the canonical rows, in order.")
    row_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows per split, attribute and pair type.")
    lineage = models.JSONField(default=dict, blank=True, help_text="Source file and its sha256 (imports), notes.")
    source_jobs = models.ManyToManyField("jobs.Job", blank=True, related_name="+")
    templates = models.ManyToManyField("synthesis.PromptTemplate", blank=True, related_name="+")
    campaigns = models.ManyToManyField("annotation.Campaign", blank=True, related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = LiveManager()  # a soft-deleted version is hidden until an admin restores it (audit.softdelete)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.dataset.name}@v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("dataversions:version", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.status == VersionStatus.READY:
            raise ValueError(f"{self} is a frozen version and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def kind(self) -> str:
        return self.dataset.kind

    @property
    def is_ready(self) -> bool:
        return self.status == VersionStatus.READY


class DatasetRow(models.Model):
    """One frozen canonical row of a version; `data` is what every export format is rendered from."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    row_id = models.CharField(max_length=240)
    split = models.CharField(max_length=16)
    attribute = models.CharField(max_length=32, blank=True)
    pair_type = models.CharField(max_length=32, blank=True)
    qid = models.CharField(max_length=96, blank=True)
    row_hash = models.CharField(max_length=64, help_text="sha256 of the canonical row (diffs compare these).")
    data = models.JSONField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="dataset_row_unique_position"),
        ]
        indexes = [
            # row browser and exports: one split of a version in order
            models.Index(fields=["version", "split", "position"], name="dataset_row_split_idx"),
            # row browser filters by attribute
            models.Index(fields=["version", "attribute"], name="dataset_row_attribute_idx"),
            # diffs: rows of a version by content
            models.Index(fields=["version", "row_hash"], name="dataset_row_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.version} #{self.position} {self.row_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A frozen dataset row cannot be changed.")
        super().save(*args, **kwargs)


class DatasetExport(models.Model):
    """One rendering of a version to files (format and file type), written by a job; same version, same bytes."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32)
    files = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    folder = models.CharField(max_length=500, blank=True, help_text="Relative to the var directory.")
    manifest = models.JSONField(default=dict, blank=True, help_text="{file: {bytes, sha256, rows}}")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "format", "files"], name="dataset_export_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.format}/{self.files}"

    def get_absolute_url(self) -> str:
        return reverse("dataversions:export", args=[self.pk])
