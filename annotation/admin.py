"""Admin views of the annotation app; raw judgments, revisions and releases are read-only here too."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import (
    Adjudication,
    Assignment,
    BenchmarkRelease,
    BlindAnswer,
    Campaign,
    CampaignMember,
    ComparisonItem,
    GoldLabel,
    GoldRevision,
    Judgment,
    ReleaseItem,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence: viewable, never edited or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "judgment_mode", "overlap", "item_count", "created_at"]
    list_filter = ["status", "judgment_mode"]
    search_fields = ["name"]


@admin.register(CampaignMember)
class CampaignMemberAdmin(admin.ModelAdmin):
    list_display = ["campaign", "user", "invited", "done_count", "skipped_count"]
    list_select_related = ["campaign", "user"]


@admin.register(ComparisonItem)
class ComparisonItemAdmin(admin.ModelAdmin):
    list_display = ["pk", "campaign", "external_id", "attribute", "is_gold", "active_count", "submitted_count"]
    list_filter = ["is_gold", "attribute"]
    search_fields = ["external_id", "question_a", "question_b"]
    raw_id_fields = ["campaign", "question"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "campaign", "item", "annotator", "status", "left_is_a", "served_at", "submitted_at"]
    list_filter = ["status"]
    list_select_related = ["campaign", "item", "annotator"]


@admin.register(Judgment)
class JudgmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "campaign", "item", "annotator", "attribute", "choice", "side", "created_at", "retracted_at"]
    list_filter = ["attribute", "choice"]
    list_select_related = ["campaign", "item", "annotator"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "campaign", "item", "attribute", "choice", "author", "created_at"]


@admin.register(GoldLabel)
class GoldLabelAdmin(ReadOnlyAdmin):
    list_display = ["case", "status", "version", "signed_off_by", "signed_off_at"]
    list_filter = ["status"]


@admin.register(GoldRevision)
class GoldRevisionAdmin(ReadOnlyAdmin):
    list_display = ["gold", "version", "kind", "author", "created_at"]


@admin.register(BlindAnswer)
class BlindAnswerAdmin(ReadOnlyAdmin):
    list_display = ["gold", "user", "letter", "is_correct", "created_at"]


@admin.register(BenchmarkRelease)
class BenchmarkReleaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "item_count", "sha256", "created_by", "created_at"]


@admin.register(ReleaseItem)
class ReleaseItemAdmin(ReadOnlyAdmin):
    list_display = ["release", "case_id", "gold_version", "position"]
