"""Django admin for training runs and trained models (read mostly: runs are made through the actions)."""

from django.contrib import admin

from .models import ModelParent, TrainedModel, TrainingMetric, TrainingRun


class ModelParentInline(admin.TabularInline):
    model = ModelParent
    fk_name = "child"
    extra = 0


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "method", "name", "dataset_version", "base_model", "job", "created_at")
    list_filter = ("method",)
    raw_id_fields = ("dataset_version", "export", "job", "base_trained_model")


@admin.register(TrainingMetric)
class TrainingMetricAdmin(admin.ModelAdmin):
    list_display = ("run", "split", "step", "loss", "rewards_accuracies", "learning_rate")
    list_filter = ("split",)


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "run", "dataset_version", "size_bytes", "created_at")
    list_filter = ("kind",)
    inlines = [ModelParentInline]
    raw_id_fields = ("run", "dataset_version", "endpoint")
