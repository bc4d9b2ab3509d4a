"""API representations of the catalogue, endpoints, rewrites, verifications, pairs and job requests."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from jobs.configs import config_serializer_class
from jobs.models import Queue

from .configs import PairConfig, SamplingConfig, SynthesisConfig, VerificationConfig
from .models import (
    SCALE_LEVELS,
    Attribute,
    ModelEndpoint,
    PreferencePair,
    PromptTemplate,
    Rewrite,
    Verdict,
    Verification,
)


class AttributeSerializer(serializers.ModelSerializer):
    scale = serializers.ListField(child=serializers.CharField(), min_length=SCALE_LEVELS, max_length=SCALE_LEVELS)

    class Meta:
        model = Attribute
        fields = ["key", "name", "group", "definition", "scale", "guidance", "positive_terms", "negative_terms",
                  "order", "is_active", "updated_at"]
        read_only_fields = ["key", "updated_at"]


class LintIssueSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class PromptTemplateSerializer(serializers.ModelSerializer):
    attribute: "serializers.SlugRelatedField[Attribute]" = serializers.SlugRelatedField(
        slug_field="key", queryset=Attribute.objects.all(), allow_null=True, required=False)
    placeholders = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PromptTemplate
        fields = ["id", "kind", "attribute", "version", "status", "system_text", "user_text", "placeholders",
                  "supersedes", "notes", "created_at"]
        read_only_fields = ["id", "version", "status", "supersedes", "created_at"]
        # a new version is numbered by the action, so the (kind, attribute, version) check waits
        validators: list[Any] = []


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelEndpoint
        fields = ["id", "name", "backend", "model", "base_url", "api_key_env", "default_sampling", "device",
                  "batch_size", "max_concurrency", "timeout_s", "max_retries", "backoff_base_s", "requests_per_minute",
                  "supports_prefill", "queue", "is_default_generator", "is_default_judge", "is_active", "notes"]

    def validate_default_sampling(self, value: dict[str, Any]) -> dict[str, Any]:
        try:
            SamplingConfig.from_dict(value)
        except (ValueError, TypeError) as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class RewriteSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute: "serializers.SlugRelatedField[Attribute]" = serializers.SlugRelatedField(slug_field="key",
                                                                                      read_only=True)
    template: "serializers.StringRelatedField[PromptTemplate]" = serializers.StringRelatedField()

    class Meta:
        model = Rewrite
        fields = ["id", "qid", "attribute", "direction", "source", "text", "template", "model_name", "backend",
                  "generator_key", "sampling", "seed", "prompt_hash", "tokens_in", "tokens_out", "latency_ms", "job",
                  "created_at"]
        read_only_fields = fields


class VerificationSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute: "serializers.SlugRelatedField[Attribute]" = serializers.SlugRelatedField(slug_field="key",
                                                                                      read_only=True)

    class Meta:
        model = Verification
        fields = ["id", "qid", "attribute", "enhanced", "original", "corrupted", "status", "ranks", "order",
                  "judge_model", "backend", "sampling", "prompt_hash", "replies", "error", "attempts", "tokens_in",
                  "tokens_out", "latency_ms", "job", "created_at"]
        read_only_fields = fields


class PreferencePairSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute: "serializers.SlugRelatedField[Attribute]" = serializers.SlugRelatedField(slug_field="key",
                                                                                      read_only=True)
    overridden_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(slug_field="username",
                                                                                       read_only=True)
    chosen = RewriteSerializer(read_only=True)
    rejected = RewriteSerializer(read_only=True)
    # Plain strings: the same choice set under three names makes drf-spectacular warn (see `verdict`'s enum).
    judge_verdict = serializers.CharField(read_only=True, help_text="accepted, rejected or unverified")
    override_verdict = serializers.CharField(read_only=True, help_text="empty when the judge's verdict stands")

    class Meta:
        model = PreferencePair
        fields = ["id", "pair_id", "qid", "attribute", "pair_type", "context", "chosen_text", "rejected_text",
                  "verdict", "judge_verdict", "judge_model", "verification", "override_verdict", "override_reason",
                  "overridden_by", "overridden_at", "chosen", "rejected", "job", "created_at"]
        read_only_fields = fields


class OverrideSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_blank=True,
                                      help_text="Empty: back to the judge's verdict.")
    reason = serializers.CharField(allow_blank=True, required=False, default="")


QUEUE_HELP = "Which workers run the job: default, or gpu (empty: the endpoint's backend decides)."


# The base class is built from the config at import time, which mypy cannot follow.
class SynthesisRequestSerializer(config_serializer_class(SynthesisConfig)):  # type: ignore[misc]
    """A synthesis job: SynthesisConfig's options, and the queue to run it on."""

    queue = serializers.ChoiceField(choices=Queue.choices, required=False, allow_blank=True, default="",
                                    help_text=QUEUE_HELP)


# The base class is built from the config at import time, which mypy cannot follow.
class VerificationRequestSerializer(config_serializer_class(VerificationConfig)):  # type: ignore[misc]
    """A verification job: VerificationConfig's options, and the queue to run it on."""

    queue = serializers.ChoiceField(choices=Queue.choices, required=False, allow_blank=True, default="",
                                    help_text=QUEUE_HELP)


# The base class is built from the config at import time, which mypy cannot follow.
class PairBuildRequestSerializer(config_serializer_class(PairConfig)):  # type: ignore[misc]
    """A pair-building job: PairConfig's options."""


class AcceptanceCellSerializer(serializers.Serializer):
    pair_type = serializers.CharField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unverified = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Accepted share of judged pairs, in percent.")


class AcceptanceRowSerializer(serializers.Serializer):
    attribute = serializers.CharField(source="attribute.key")
    cells = AcceptanceCellSerializer(many=True)
