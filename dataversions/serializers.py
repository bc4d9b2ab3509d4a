"""API shapes of datasets, versions, rows and exports; a version is created from its filter."""

from typing import TYPE_CHECKING

from rest_framework import serializers

from annotation.models import Campaign
from jobs.configs import config_serializer_class
from jobs.models import Job
from synthesis.models import PromptTemplate

from .models import Dataset, DatasetExport, DatasetRow, DatasetVersion
from .selection import Selection

if TYPE_CHECKING:  # mypy takes no call as a base class; the class config_serializer_class builds derives from this
    from jobs.configs.serializers import ConfigSerializer as SelectionSerializerBase
else:
    SelectionSerializerBase = config_serializer_class(Selection)


class DatasetSerializer(serializers.ModelSerializer):
    versions = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "description", "created_at", "versions"]

    def get_versions(self, dataset: Dataset) -> list[int]:
        return [version.pk for version in dataset.versions.all()]


class VersionSerializer(serializers.ModelSerializer):
    dataset: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="name", read_only=True)
    kind = serializers.CharField(source="dataset.kind", read_only=True)
    source_jobs: serializers.PrimaryKeyRelatedField[Job] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    templates: serializers.PrimaryKeyRelatedField[PromptTemplate] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    campaigns: serializers.PrimaryKeyRelatedField[Campaign] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    created_by: serializers.StringRelatedField = serializers.StringRelatedField()

    class Meta:
        model = DatasetVersion
        fields = ["id", "dataset", "kind", "number", "status", "provenance", "selection", "seed", "rendering",
                  "content_hash", "row_count", "counts", "lineage", "source_jobs", "templates", "campaigns", "job",
                  "error", "created_by", "created_at"]
        read_only_fields = fields


class SelectionSerializer(SelectionSerializerBase):
    """Which rows a dataset version holds: the dataset_version options; an unknown key is refused."""


class CreateVersionSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100, help_text="Dataset name; created when new.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    selection = SelectionSerializer(help_text="Which rows the version holds (the dataset_version options).")


class RowSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetRow
        fields = ["position", "row_id", "split", "attribute", "pair_type", "qid", "row_hash", "data"]
        read_only_fields = fields


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.CharField(max_length=32)
    files = serializers.CharField(max_length=16, default="jsonl")


class ExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetExport
        fields = ["id", "version", "format", "files", "status", "folder", "manifest", "job", "error", "created_at"]
        read_only_fields = fields
