"""API shapes of runs, their metrics, models and merges; a run or a merge is created through the actions."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from alfa_platform.paths import redact_paths
from jobs.configs import config_serializer_class
from synthesis.models import ModelEndpoint

from .configs import DPORunConfig, RewardRunConfig, SFTRunConfig
from .models import ModelParent, TrainedModel, TrainingMethod, TrainingMetric, TrainingRun


class TrainingRunSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    queue = serializers.CharField(source="job.queue", read_only=True, default="")
    dataset = serializers.CharField(source="dataset_version.__str__", read_only=True)
    base_trained_model: "serializers.SlugRelatedField[TrainedModel]" = serializers.SlugRelatedField(
        slug_field="name", read_only=True)
    trained_model: "serializers.SlugRelatedField[TrainedModel]" = serializers.SlugRelatedField(
        slug_field="name", read_only=True)
    created_by: "serializers.StringRelatedField[User]" = serializers.StringRelatedField()

    class Meta:
        model = TrainingRun
        fields = ["id", "name", "method", "base_model", "base_trained_model", "dataset_version", "dataset",
                  "export", "attributes", "pair_types", "config", "job", "status", "queue", "output_dir",
                  "train_rows", "trained_model", "created_by", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: TrainingRun) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["base_model"] = redact_paths(data["base_model"])  # a folder outside the var directory stays private
        return data


DPOOptionsSerializer = config_serializer_class(DPORunConfig)
SFTOptionsSerializer = config_serializer_class(SFTRunConfig)
RewardOptionsSerializer = config_serializer_class(RewardRunConfig)
OPTIONS_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    config.METHOD: serializer for config, serializer in (
        (DPORunConfig, DPOOptionsSerializer), (SFTRunConfig, SFTOptionsSerializer),
        (RewardRunConfig, RewardOptionsSerializer))}


class CreateTrainingRunSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=TrainingMethod.choices)
    dataset_version = serializers.CharField(help_text="The version's id or NAME@vN.")
    base_model = serializers.CharField(max_length=500, help_text="A model folder, or a registered model's name.")
    attributes = serializers.ListField(child=serializers.CharField(), default=list,
                                       help_text="One for a per-attribute run; several or none (all): data mixing.")
    pair_types = serializers.ListField(child=serializers.CharField(), default=list)
    config = serializers.DictField(default=dict, help_text="Options by TRL's names: the fields of the method's "
                                                           "options (DPOOptions, SFTOptions, RewardOptions); missing "
                                                           "ones take the method's preset.")
    name = serializers.CharField(max_length=64, default="", allow_blank=True)
    queue = serializers.CharField(max_length=16, default="", allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        """Check `config` with the method's generated options serializer; its errors nest under "config"."""
        options = OPTIONS_SERIALIZERS[attrs["method"]](data=attrs["config"])
        if not options.is_valid():
            raise serializers.ValidationError({"config": options.errors})
        return {**attrs, "config": options.validated_data["config"].to_dict()}


class TrainingMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingMetric
        fields = ["split", "step", "epoch", "loss", "learning_rate", "grad_norm", "rewards_chosen",
                  "rewards_rejected", "rewards_accuracies", "rewards_margins", "num_tokens", "tokens_per_second",
                  "values", "logged_at"]
        read_only_fields = fields


class ModelParentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="parent.name")

    class Meta:
        model = ModelParent
        fields = ["name", "weight"]


class TrainedModelSerializer(serializers.ModelSerializer):
    parents = ModelParentSerializer(source="parent_links", many=True, read_only=True)
    endpoint: "serializers.SlugRelatedField[ModelEndpoint]" = serializers.SlugRelatedField(slug_field="name",
                                                                                         read_only=True)

    class Meta:
        model = TrainedModel
        fields = ["id", "name", "kind", "path", "base_model", "run", "dataset_version", "dataset_hash", "config",
                  "final_metrics", "size_bytes", "parents", "endpoint", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: TrainedModel) -> dict[str, Any]:
        data = super().to_representation(instance)
        for name in ("path", "base_model", "config"):
            data[name] = redact_paths(data[name])
        return data


class MergeSerializer(serializers.Serializer):
    models = serializers.ListField(child=serializers.CharField(), min_length=2,
                                   help_text="Registered model names or model folders.")
    name = serializers.CharField(max_length=64)
    weights = serializers.ListField(child=serializers.FloatField(), required=False, allow_null=True, default=None)
    leave_one_out = serializers.BooleanField(default=False)


class ServeSerializer(serializers.Serializer):
    port = serializers.IntegerField(min_value=0, max_value=65535, default=0,
                                    help_text="TCP port on the worker (0: a free one).")
