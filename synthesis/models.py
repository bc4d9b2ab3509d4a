"""Synthesis models: attribute catalogue, prompt templates, model endpoints, rewrites, verifications and pairs."""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alfa_platform.roles import Role, has_role
from jobs.models import Queue

from .configs import SamplingConfig
from .secrets import is_allowed_host, key_env_problem, url_host

SCALE_LEVELS = 5


def stable_hash(value: Any) -> str:
    """Return the sha256 hex digest of a JSON-serialisable value with sorted keys."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class AttributeGroup(models.TextChoices):
    GENERAL = "general", "General"
    CLINICAL = "clinical", "Clinical"
    COARSE = "coarse", "Coarse"


class Attribute(models.Model):
    """One attribute a rewrite moves (clarity, focus, ...), with its definition and 5-level scale."""

    key = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    group = models.CharField(max_length=16, choices=AttributeGroup.choices)
    definition = models.TextField()
    scale = models.JSONField(default=list, help_text="Five level descriptions, worst (1) to best (5).")
    guidance = models.TextField(
        blank=True, help_text="Extra guidance rendered into the enhance and corrupt prompts alike."
    )
    # Words that name this attribute's good and bad poles; the template lint reads them.
    positive_terms = models.JSONField(default=list, blank=True)
    negative_terms = models.JSONField(default=list, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.scale, list) or len(self.scale) != SCALE_LEVELS:
            raise ValidationError({"scale": f"The scale needs exactly {SCALE_LEVELS} levels, worst first."})
        if not all(isinstance(level, str) and level.strip() for level in self.scale):
            raise ValidationError({"scale": "Every scale level needs a description."})

    @property
    def is_coarse(self) -> bool:
        return self.group == AttributeGroup.COARSE

    def scale_text(self) -> str:
        return "\n".join(f"{index}. {level}" for index, level in enumerate(self.scale, start=1))


class TemplateKind(models.TextChoices):
    NORMALIZE = "normalize", "Normalize the question"
    ENHANCE = "enhance", "Enhance"
    ENHANCE_HINDSIGHT = "enhance_hindsight", "Enhance with hindsight"
    CORRUPT = "corrupt", "Corrupt"
    JUDGE = "judge", "Judge ranking"


class Direction(models.TextChoices):
    """Which text a rewrite row holds: the normalized original or a rewrite in one direction."""

    ORIGINAL = "original", "Original (normalized)"
    ENHANCE = "enhance", "Enhanced"
    ENHANCE_HINDSIGHT = "enhance_hindsight", "Enhanced with hindsight"
    CORRUPT = "corrupt", "Corrupted"


REWRITE_DIRECTIONS = (Direction.ENHANCE, Direction.ENHANCE_HINDSIGHT, Direction.CORRUPT)
ENHANCED_DIRECTIONS = (Direction.ENHANCE, Direction.ENHANCE_HINDSIGHT)


class TemplateStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"


class PromptTemplate(models.Model):
    """One version of a prompt: system and user text with declared {placeholders}; frozen once it produced data."""

    kind = models.CharField(max_length=24, choices=TemplateKind.choices)
    attribute = models.ForeignKey(
        Attribute, null=True, blank=True, on_delete=models.PROTECT, related_name="templates",
        help_text="Empty for the normalization and judge prompts, which serve every attribute.",
    )
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=TemplateStatus.choices, default=TemplateStatus.ACTIVE)
    system_text = models.TextField(blank=True)
    user_text = models.TextField()
    placeholders = models.JSONField(default=list, help_text="Every {name} the texts use, declared.")
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "attribute__order", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "attribute", "version"], name="template_unique_version"),
            models.UniqueConstraint(
                fields=["kind", "version"], condition=Q(attribute__isnull=True), name="template_unique_shared_version"
            ),
            models.UniqueConstraint(
                fields=["kind", "attribute"], condition=Q(status="active", attribute__isnull=False),
                name="template_one_active",
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(status="active", attribute__isnull=True),
                name="template_one_active_shared",
            ),
        ]

    def __str__(self) -> str:
        scope = self.attribute.key if self.attribute is not None else "all"
        return f"{self.kind}/{scope} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The guard lives in save() too, so the admin, the API and scripts all respect the freeze.
        if self.pk and self.has_produced_data():
            stored = PromptTemplate.objects.filter(pk=self.pk).first()
            if stored and stored.text_hash != self.text_hash:
                raise ValidationError("This version produced data and cannot be edited; supersede it instead.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("synthesis:template", args=[self.pk])

    @property
    def label(self) -> str:
        return str(self)

    @property
    def text_hash(self) -> str:
        return stable_hash([self.system_text, self.user_text, sorted(self.placeholders)])[:16]

    def has_produced_data(self) -> bool:
        return self.rewrites.exists() or self.verifications.exists()

    def clean(self) -> None:
        from .prompts import check_template

        check_template(self)
        if self.pk and self.has_produced_data():
            stored = PromptTemplate.objects.get(pk=self.pk)
            if stored.text_hash != self.text_hash:
                raise ValidationError("This version produced data and cannot be edited; supersede it instead.")


class Backend(models.TextChoices):
    TRANSFORMERS = "transformers", "transformers (local folder)"
    OPENAI_HTTP = "openai_http", "OpenAI-compatible HTTP"
    VLLM = "vllm", "vLLM in-process (GPU)"


class ModelEndpoint(models.Model):
    """A generator or judge that leads manage: a local model folder, an HTTP server or a vLLM engine."""

    name = models.SlugField(max_length=64, unique=True)
    backend = models.CharField(max_length=16, choices=Backend.choices)
    model = models.CharField(
        max_length=500, help_text="A model folder (transformers, vLLM) or the model name the server expects (HTTP)."
    )
    # A CharField: URLField refuses docker-compose service names such as http://vllm:8000/v1.
    base_url = models.CharField(
        max_length=500, blank=True, validators=[RegexValidator(r"^https?://[^\s/]+(/\S*)?$", "Give an http(s) URL.")],
        help_text="HTTP only, e.g. http://vllm:8000/v1",
    )
    api_key_env = models.CharField(
        max_length=64, blank=True,
        help_text="Name of the environment variable holding the API key (never the key), e.g. ALFA_LLM_KEY_OPENAI.",
    )
    # scheme://host:port the key was registered for on the last validated save; the worker sends it nowhere else.
    api_key_origin = models.CharField(max_length=300, blank=True, editable=False)
    default_sampling = models.JSONField(default=dict, blank=True, help_text="temperature, top_p, max_tokens, seed")
    device = models.CharField(max_length=16, default="auto", help_text="transformers/vLLM: auto, cpu or cuda")
    batch_size = models.PositiveIntegerField(default=8, help_text="Prompts per generate() call (local backends).")
    max_concurrency = models.PositiveIntegerField(default=16, help_text="Concurrent HTTP requests.")
    timeout_s = models.FloatField(default=120.0)
    max_retries = models.PositiveSmallIntegerField(default=3)
    backoff_base_s = models.FloatField(default=0.5, help_text="First retry waits up to this long, then doubling.")
    requests_per_minute = models.PositiveIntegerField(default=0, help_text="0 means no rate limit.")
    supports_prefill = models.BooleanField(
        default=True, help_text="Whether the endpoint can continue a partly written assistant reply."
    )
    is_default_generator = models.BooleanField(default=False)
    is_default_judge = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    queue = models.CharField(
        max_length=16, choices=Queue.choices, blank=True,
        help_text="Where its jobs run; empty: the gpu queue for local GPU backends, else default.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.backend == Backend.OPENAI_HTTP and not self.base_url:
            raise ValidationError({"base_url": "An HTTP endpoint needs its base URL."})
        if self.api_key_env and (problem := key_env_problem(self.api_key_env)):
            raise ValidationError({"api_key_env": problem})

    def check_editable_by(self, user: User | AnonymousUser) -> None:
        """Refuse a change by a non-admin to an endpoint whose stored or new host is outside the allow-list."""
        if has_role(user, Role.ADMIN):
            return
        stored = ModelEndpoint.objects.filter(pk=self.pk).values_list("base_url", flat=True).first() if self.pk else ""
        for url in (stored, self.base_url):
            if not is_allowed_host(url):
                raise ValidationError({"base_url": (
                    f"Only an admin can create or edit an endpoint on {url_host(url)}; leads may use "
                    f"{', '.join(settings.ENDPOINT_ALLOWED_HOSTS)}.")})

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig.from_dict(self.default_sampling)

    @property
    def default_queue(self) -> str:
        """The endpoint's queue if set; else local backends on a GPU device go to the GPU queue, others to default."""
        if self.queue:
            return self.queue
        if self.backend == Backend.VLLM or (self.backend == Backend.TRANSFORMERS and self.device == "cuda"):
            return Queue.GPU
        return Queue.DEFAULT


class Rewrite(models.Model):
    """One generated text with its full provenance: a normalized original or an attribute rewrite."""

    question = models.ForeignKey("corpus.Question", on_delete=models.CASCADE, related_name="rewrites")
    attribute = models.ForeignKey(
        Attribute, null=True, blank=True, on_delete=models.PROTECT, related_name="rewrites"
    )
    direction = models.CharField(max_length=24, choices=Direction.choices)
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="derived",
        help_text="The normalized original this rewrite started from.",
    )
    text = models.TextField()
    template = models.ForeignKey(PromptTemplate, on_delete=models.PROTECT, related_name="rewrites")
    endpoint = models.ForeignKey(ModelEndpoint, null=True, on_delete=models.SET_NULL, related_name="rewrites")
    # Provenance copied by value, so it survives edits or deletion of the endpoint.
    model_name = models.CharField(max_length=500)
    backend = models.CharField(max_length=16, choices=Backend.choices)
    generator_key = models.CharField(max_length=64, help_text="Hash of model, backend and sampling settings.")
    sampling = models.JSONField(default=dict)
    seed = models.BigIntegerField(null=True, blank=True)
    prompt_hash = models.CharField(max_length=64)
    request = models.JSONField(default=dict, help_text="The messages sent.")
    response = models.JSONField(default=dict, blank=True, help_text="Raw reply and finish reason.")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="rewrites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["question", "attribute__order", "direction"]
        constraints = [
            # The idempotency key: question x attribute x direction x template version x generator config.
            models.UniqueConstraint(
                fields=["question", "attribute", "direction", "template", "generator_key", "source"],
                condition=Q(attribute__isnull=False), name="rewrite_unique_key",
            ),
            models.UniqueConstraint(
                fields=["question", "direction", "template", "generator_key"],
                condition=Q(attribute__isnull=True), name="rewrite_unique_original",
            ),
        ]
        indexes = [
            # variant browser: a question's rewrites by attribute
            models.Index(fields=["question", "attribute", "direction"], name="rewrite_question_idx"),
            # variant browser filter by model
            models.Index(fields=["model_name"], name="rewrite_model_idx"),
        ]

    def __str__(self) -> str:
        scope = self.attribute.key if self.attribute is not None else "-"
        return f"{self.question_id}/{scope}/{self.direction}"

    @property
    def provenance(self) -> dict[str, Any]:
        return {
            "template": str(self.template), "template_id": self.template_id, "prompt_hash": self.prompt_hash,
            "model": self.model_name, "backend": self.backend, "endpoint": self.endpoint.name if self.endpoint else "",
            "sampling": self.sampling, "seed": self.seed, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "latency_ms": self.latency_ms,
            "created_at": self.created_at.isoformat(), "job": self.job_id,
        }


class VerificationStatus(models.TextChoices):
    RANKED = "ranked", "Ranked"
    UNPARSEABLE = "unparseable", "Unparseable reply"
    FAILED = "failed", "Call failed"


class Verification(models.Model):
    """A judge's ranking of (enhanced, original, corrupted) for one attribute; ties allowed."""

    question = models.ForeignKey("corpus.Question", on_delete=models.CASCADE, related_name="verifications")
    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="verifications")
    enhanced = models.ForeignKey(Rewrite, on_delete=models.CASCADE, related_name="+")
    original = models.ForeignKey(Rewrite, on_delete=models.CASCADE, related_name="+")
    corrupted = models.ForeignKey(Rewrite, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=VerificationStatus.choices)
    ranks = models.JSONField(default=dict, blank=True, help_text='{"enhanced": 1, "original": 2, "corrupted": 3}')
    # Which candidate stood in which position (seeded shuffle), so position bias can be studied.
    order = models.JSONField(default=list)
    template = models.ForeignKey(PromptTemplate, on_delete=models.PROTECT, related_name="verifications")
    endpoint = models.ForeignKey(ModelEndpoint, null=True, on_delete=models.SET_NULL, related_name="verifications")
    judge_model = models.CharField(max_length=500)
    backend = models.CharField(max_length=16, choices=Backend.choices)
    judge_key = models.CharField(max_length=64)
    sampling = models.JSONField(default=dict)
    seed = models.BigIntegerField(null=True, blank=True)
    prompt_hash = models.CharField(max_length=64)
    request = models.JSONField(default=dict)
    replies = models.JSONField(default=list, help_text="Every raw reply, one per attempt.")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["question", "attribute__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["enhanced", "original", "corrupted", "template", "judge_key"], name="verification_unique_key"
            ),
        ]
        indexes = [
            # pair builder: latest verification of a triple
            models.Index(fields=["enhanced", "original", "corrupted", "-created_at"], name="verification_triple_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}/{self.attribute.key}: {self.status}"


class PairType(models.TextChoices):
    ENHANCED_CORRUPTED = "enhanced_corrupted", "Enhanced > corrupted"
    ENHANCED_ORIGINAL = "enhanced_original", "Enhanced > original"
    ORIGINAL_CORRUPTED = "original_corrupted", "Original > corrupted"


class Verdict(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class PreferencePair(models.Model):
    """A (chosen, rejected) pair for one attribute, linked to both texts, their provenance and its verdict."""

    question = models.ForeignKey("corpus.Question", on_delete=models.CASCADE, related_name="preference_pairs")
    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="pairs")
    pair_type = models.CharField(max_length=24, choices=PairType.choices)
    chosen_text = models.TextField()
    rejected_text = models.TextField()
    chosen = models.ForeignKey(Rewrite, on_delete=models.CASCADE, related_name="chosen_in")
    rejected = models.ForeignKey(Rewrite, on_delete=models.CASCADE, related_name="rejected_in")
    # The effective verdict: the lead's override when there is one, else the judge's.
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.UNVERIFIED)
    judge_verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.UNVERIFIED)
    verification = models.ForeignKey(
        Verification, null=True, blank=True, on_delete=models.SET_NULL, related_name="pairs"
    )
    judge_model = models.CharField(max_length=500, blank=True)
    override_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    # The conversation the pair answers: title and post, then earlier question/answer turns (kept, unlike the authors).
    context = models.JSONField(default=list)
    pair_id = models.CharField(max_length=200, help_text="<qid>_<attribute>_<winner>_<loser>")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question", "attribute__order", "pair_type"]
        constraints = [
            models.UniqueConstraint(fields=["chosen", "rejected", "attribute", "pair_type"], name="pair_unique"),
        ]
        indexes = [
            # acceptance table and pair list: filter by attribute, pair type and verdict
            models.Index(fields=["attribute", "pair_type", "verdict"], name="pair_attr_type_verdict_idx"),
            # pair list filter by judge model
            models.Index(fields=["judge_model"], name="pair_judge_idx"),
        ]

    def __str__(self) -> str:
        return self.pair_id

    def get_absolute_url(self) -> str:
        return reverse("synthesis:pair", args=[self.pk])

    @property
    def is_overridden(self) -> bool:
        return bool(self.override_verdict)

    @property
    def generator_model(self) -> str:
        return self.chosen.model_name if self.chosen.direction != Direction.ORIGINAL else self.rejected.model_name
