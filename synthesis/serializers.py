"""API representations of the catalogue, endpoints, rewrites, verifications, pairs and job requests."""

from rest_framework import serializers

from corpus.models import Split
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
    attribute = serializers.SlugRelatedField(slug_field="key", queryset=Attribute.objects.all(), allow_null=True,
                                             required=False)
    placeholders = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PromptTemplate
        fields = ["id", "kind", "attribute", "version", "status", "system_text", "user_text", "placeholders",
                  "supersedes", "notes", "created_at"]
        read_only_fields = ["id", "version", "status", "supersedes", "created_at"]
        validators = []  # a new version is numbered by the action, so the (kind, attribute, version) check waits


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelEndpoint
        fields = ["id", "name", "backend", "model", "base_url", "api_key_env", "default_sampling", "device",
                  "batch_size", "max_concurrency", "timeout_s", "max_retries", "backoff_base_s", "requests_per_minute",
                  "supports_prefill", "queue", "is_default_generator", "is_default_judge", "is_active", "notes"]

    def validate_default_sampling(self, value):
        try:
            SamplingConfig.from_dict(value)
        except (ValueError, TypeError) as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class RewriteSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute = serializers.SlugRelatedField(slug_field="key", read_only=True)
    template = serializers.StringRelatedField()

    class Meta:
        model = Rewrite
        fields = ["id", "qid", "attribute", "direction", "source", "text", "template", "model_name", "backend",
                  "generator_key", "sampling", "seed", "prompt_hash", "tokens_in", "tokens_out", "latency_ms", "job",
                  "created_at"]
        read_only_fields = fields


class VerificationSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Verification
        fields = ["id", "qid", "attribute", "enhanced", "original", "corrupted", "status", "ranks", "order",
                  "judge_model", "backend", "sampling", "prompt_hash", "replies", "error", "attempts", "tokens_in",
                  "tokens_out", "latency_ms", "job", "created_at"]
        read_only_fields = fields


class PreferencePairSerializer(serializers.ModelSerializer):
    qid = serializers.CharField(source="question.qid", read_only=True)
    attribute = serializers.SlugRelatedField(slug_field="key", read_only=True)
    overridden_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
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


class SamplingSerializer(serializers.Serializer):
    temperature = serializers.FloatField(min_value=0, max_value=5, required=False)
    top_p = serializers.FloatField(min_value=0.01, max_value=1, required=False)
    max_tokens = serializers.IntegerField(min_value=1, max_value=32768, required=False)
    seed = serializers.IntegerField(required=False, allow_null=True)


class ConfigSerializer(serializers.Serializer):
    """Checks a job request's shape; the config dataclass then checks its meaning."""

    config_class = None
    queue = serializers.ChoiceField(choices=Queue.choices, required=False, allow_blank=True, default="")

    def validate(self, data):
        options = {k: v for k, v in data.items() if k != "queue"}
        try:
            data["config"] = self.config_class(**options)
        except (ValueError, TypeError) as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return data


class SynthesisRequestSerializer(ConfigSerializer):
    config_class = SynthesisConfig
    endpoint = serializers.CharField()
    attributes = serializers.ListField(child=serializers.CharField(), required=False, min_length=1)
    directions = serializers.ListField(child=serializers.ChoiceField(
        choices=["enhance", "enhance_hindsight", "corrupt"]), required=False, min_length=1)
    split = serializers.ChoiceField(choices=Split.choices, required=False, allow_blank=True)
    qids = serializers.ListField(child=serializers.CharField(), required=False, max_length=5000)
    limit = serializers.IntegerField(min_value=0, required=False)
    sampling = SamplingSerializer(required=False)
    batch_size = serializers.IntegerField(min_value=0, required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=10, required=False)
    build_pairs = serializers.BooleanField(required=False)


class VerificationRequestSerializer(ConfigSerializer):
    config_class = VerificationConfig
    endpoint = serializers.CharField()
    attributes = serializers.ListField(child=serializers.CharField(), required=False)
    qids = serializers.ListField(child=serializers.CharField(), required=False, max_length=5000)
    split = serializers.ChoiceField(choices=Split.choices, required=False, allow_blank=True)
    generator_model = serializers.CharField(required=False, allow_blank=True)
    enhanced_direction = serializers.ChoiceField(choices=["enhance", "enhance_hindsight"], required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=10, required=False)
    limit = serializers.IntegerField(min_value=0, required=False)
    seed = serializers.IntegerField(required=False)


class PairBuildRequestSerializer(ConfigSerializer):
    config_class = PairConfig
    attributes = serializers.ListField(child=serializers.CharField(), required=False)
    qids = serializers.ListField(child=serializers.CharField(), required=False)
    enhanced_direction = serializers.ChoiceField(choices=["enhance", "enhance_hindsight"], required=False)
    generator_model = serializers.CharField(required=False, allow_blank=True)


class AcceptanceCellSerializer(serializers.Serializer):
    pair_type = serializers.CharField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unverified = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Accepted share of judged pairs, in percent.")


class AcceptanceRowSerializer(serializers.Serializer):
    attribute = serializers.CharField(source="attribute.key")
    cells = AcceptanceCellSerializer(many=True)
