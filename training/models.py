"""Training runs, the metrics they stream, and the models they (or merges) produce, with lineage."""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from jobs.models import JobStatus

from .configs import TrainingConfig, config_class


class TrainingMethod(models.TextChoices):
    DPO = "dpo", "DPO"
    SFT = "sft", "SFT"
    RM = "rm", "Reward model"


class ModelKind(models.TextChoices):
    POLICY = "policy", "Policy (causal LM)"
    REWARD = "reward", "Reward model"


def var_path(stored: str) -> Path:
    """Return the absolute path of a folder stored relative to the var directory (or stored absolute)."""
    path = Path(stored)
    return path if path.is_absolute() else Path(settings.VAR_DIR) / path


class TrainingRun(models.Model):
    """One training job: what it trains from and with; its status is its job's."""

    name = models.SlugField(max_length=64, blank=True, help_text="Name of the model it registers (default run-<id>).")
    method = models.CharField(max_length=8, choices=TrainingMethod.choices)
    base_model = models.CharField(max_length=500, help_text="As given: a folder or a registered model's name.")
    base_model_path = models.CharField(max_length=500, help_text="The folder it resolved to when queued.")
    base_trained_model = models.ForeignKey("TrainedModel", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="derived_runs")
    dataset_version = models.ForeignKey("dataversions.DatasetVersion", on_delete=models.PROTECT,
                                        related_name="training_runs")
    export = models.ForeignKey("dataversions.DatasetExport", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", help_text="The export it read (set when training starts).")
    attributes = models.JSONField(default=list, blank=True, help_text="Attribute keys; empty: all (data mixing).")
    pair_types = models.JSONField(default=list, blank=True, help_text="Pair types; empty: all.")
    config = models.JSONField(default=dict, help_text="Every option, presets filled in (training.configs).")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    output_dir = models.CharField(max_length=500, blank=True, help_text="Checkpoints, relative to the var directory.")
    train_rows = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} run {self.pk} ({self.model_name})"

    def get_absolute_url(self) -> str:
        return reverse("training:run", args=[self.pk])

    @property
    def model_name(self) -> str:
        return self.name or f"run-{self.pk}"

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else JobStatus.QUEUED

    @property
    def options(self) -> TrainingConfig:
        return config_class(self.method).from_dict(self.config)

    @property
    def output_path(self) -> Path:
        return var_path(self.output_dir)

    @property
    def is_data_mixing(self) -> bool:
        return len(self.attributes) != 1


class TrainingMetric(models.Model):
    """One logged step of a run (train or eval), with TRL's metrics as columns and everything else in `values`."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    split = models.CharField(max_length=8, default="train")
    step = models.PositiveIntegerField()
    epoch = models.FloatField(null=True)
    loss = models.FloatField(null=True)
    learning_rate = models.FloatField(null=True)
    grad_norm = models.FloatField(null=True)
    rewards_chosen = models.FloatField(null=True)
    rewards_rejected = models.FloatField(null=True)
    rewards_accuracies = models.FloatField(null=True)
    rewards_margins = models.FloatField(null=True)
    num_tokens = models.FloatField(null=True, help_text="Tokens trained on so far by this attempt.")
    tokens_per_second = models.FloatField(null=True)
    values = models.JSONField(default=dict, help_text="Everything the trainer logged, under TRL's names.")
    logged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "split", "step"]
        constraints = [
            # A resumed attempt logs the steps after its checkpoint again: the newer row replaces the older.
            models.UniqueConstraint(fields=["run", "split", "step"], name="training_metric_unique_step"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.split} step {self.step}"


class TrainedModel(models.Model):
    """A model folder the platform made (a run or a merge), in the same catalogue as the model endpoints."""

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=ModelKind.choices, default=ModelKind.POLICY)
    path = models.CharField(max_length=500, help_text="The model folder, relative to the var directory.")
    base_model = models.CharField(max_length=500, blank=True, help_text="The folder or name it was trained from.")
    run = models.OneToOneField(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="trained_model")
    dataset_version = models.ForeignKey("dataversions.DatasetVersion", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="trained_models")
    dataset_hash = models.CharField(max_length=64, blank=True, help_text="content_hash of that version.")
    config = models.JSONField(default=dict, blank=True, help_text="The run's options, or the merge's.")
    final_metrics = models.JSONField(default=dict, blank=True)
    size_bytes = models.BigIntegerField(default=0, help_text="Size of the folder on disk.")
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children",
                                     through="ModelParent")
    endpoint = models.OneToOneField("synthesis.ModelEndpoint", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="trained_model")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("training:model", args=[self.name])

    @property
    def folder(self) -> Path:
        return var_path(self.path)

    @property
    def is_merge(self) -> bool:
        return self.run_id is None and bool(self.config.get("merge"))

    def lineage(self, depth: int = 0, limit: int = 8) -> list[dict]:
        """Return this model's ancestry, nearest first: each entry a model or an external folder and its depth."""
        entries = [{"depth": depth, "model": self, "run": self.run, "version": self.dataset_version}]
        if depth >= limit:
            return entries
        if self.run and self.run.base_trained_model:
            entries += self.run.base_trained_model.lineage(depth + 1, limit)
        elif self.base_model and not self.is_merge:
            entries.append({"depth": depth + 1, "external": self.base_model})
        parent_names = set()
        for link in self.parent_links.select_related("parent").order_by("position"):
            parent_names.add(link.parent.name)
            entries += link.parent.lineage(depth + 1, limit)
        for source in self.config.get("merge", {}).get("sources", []):
            if source not in parent_names:  # a merged folder that was never registered here
                entries.append({"depth": depth + 1, "external": source})
        return entries


class ModelParent(models.Model):
    """A merge's input, with its weight and position."""

    child = models.ForeignKey(TrainedModel, on_delete=models.CASCADE, related_name="parent_links")
    parent = models.ForeignKey(TrainedModel, on_delete=models.PROTECT, related_name="child_links")
    weight = models.FloatField()
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["child", "position"]
        constraints = [models.UniqueConstraint(fields=["child", "parent"], name="model_parent_unique")]

    def __str__(self) -> str:
        return f"{self.parent} → {self.child} ({self.weight:g})"
