"""API representations of evaluation runs, episodes and case sets; launch requests derive from the configs
(jobs.configs: unknown keys refused, every option checked in the words the form and the command use)."""

from rest_framework import serializers

from jobs.configs import config_serializer_class

from .configs import ExpertCheckConfig, GenerationConfig, InteractiveConfig, WinrateConfig
from .models import CaseSet, Episode, EvaluationRun


class InteractiveRequestSerializer(config_serializer_class(InteractiveConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class WinrateRequestSerializer(config_serializer_class(WinrateConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class GenerationRequestSerializer(config_serializer_class(GenerationConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class ExpertCheckRequestSerializer(config_serializer_class(ExpertCheckConfig)):  # type: ignore[misc]  # a base class built from the config at import time
    pass


class CaseSetSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseSet
        fields = ["id", "name", "source", "initial_info", "size", "sha256", "description", "file_name", "created_at"]


class RunSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    case_set: "serializers.SlugRelatedField[CaseSet]" = serializers.SlugRelatedField(slug_field="name",
                                                                                   read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = EvaluationRun
        fields = ["id", "kind", "model_name", "status", "job", "case_set", "baseline", "generation",
                  "reference_generation", "reference_name", "attribute", "judge_name", "metrics", "created_at",
                  "finished_at", "url"]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "config", "provenance"]
        read_only_fields = fields


class EpisodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Episode
        fields = ["id", "run", "repeat", "seed", "case_id", "answer_idx", "letter", "correct", "num_questions",
                  "timed_out", "choices", "confidences", "tokens_in", "tokens_out"]
        read_only_fields = fields


class EpisodeDetailSerializer(EpisodeSerializer):
    class Meta(EpisodeSerializer.Meta):
        fields = [*EpisodeSerializer.Meta.fields, "transcript"]
        read_only_fields = fields
