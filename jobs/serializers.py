"""API representation of jobs."""

from typing import Any

from rest_framework import serializers

from alfa_platform.paths import redact_paths

from .models import Job, item_counts

# Fields that may carry server paths (upload paths in params, paths in errors and logs): shown relative to var/.
PATH_FIELDS = ("params", "result", "error", "traceback", "log_tail")


class JobSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="job-detail")

    class Meta:
        model = Job
        fields = [
            "id", "url", "kind", "status", "queue", "owner", "params", "progress_done", "progress_total",
            "progress_unit", "percent", "result", "error", "created_at", "started_at", "finished_at",
            "heartbeat_at", "attempts", "celery_task_id", "cancel_requested",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Job) -> dict[str, Any]:
        data = super().to_representation(instance)
        for name in PATH_FIELDS:
            if name in data:
                data[name] = redact_paths(data[name])
        return data


class JobDetailSerializer(JobSerializer):
    items = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "traceback", "log_tail", "items"]
        read_only_fields = fields

    def get_items(self, job: Job) -> dict:
        return item_counts(job)
