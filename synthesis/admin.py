"""Admin for the synthesis catalogue and outputs; rewrites, verifications and pairs are read-mostly."""

from django.contrib import admin

from .models import Attribute, ModelEndpoint, PreferencePair, PromptTemplate, Rewrite, Verification


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "group", "order", "is_active", "updated_at"]
    list_filter = ["group", "is_active"]


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "attribute", "version", "status", "created_at"]
    list_filter = ["kind", "status", "attribute"]
    readonly_fields = ["supersedes", "created_at", "created_by"]


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "backend", "model", "base_url", "is_default_generator", "is_default_judge", "is_active"]
    list_filter = ["backend", "is_active"]


@admin.register(Rewrite)
class RewriteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "model_name", "template", "tokens_out", "created_at", "job"]
    list_filter = ["direction", "attribute", "backend"]
    search_fields = ["question__qid", "text"]
    raw_id_fields = ["question", "source", "job", "template", "endpoint"]
    readonly_fields = ["prompt_hash", "generator_key", "request", "response"]


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "judge_model", "ranks", "attempts", "created_at"]
    list_filter = ["status", "attribute"]
    raw_id_fields = ["question", "enhanced", "original", "corrupted", "job", "template", "endpoint"]


@admin.register(PreferencePair)
class PreferencePairAdmin(admin.ModelAdmin):
    list_display = ["pair_id", "attribute", "pair_type", "verdict", "judge_verdict", "override_verdict", "judge_model"]
    list_filter = ["attribute", "pair_type", "verdict"]
    search_fields = ["pair_id", "question__qid"]
    raw_id_fields = ["question", "chosen", "rejected", "verification", "job", "overridden_by"]
