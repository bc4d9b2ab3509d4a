"""Admin views of evaluation rows, read-mostly: runs are created by the actions, never edited by hand."""

from django.contrib import admin

from .models import CaseSet, Episode, EvaluationRun, GeneratedQuestion, PairwiseVerdict


@admin.register(CaseSet)
class CaseSetAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "initial_info", "size", "sha256", "created_at"]
    list_filter = ["source", "initial_info"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "model_name", "reference_name", "case_set", "created_at", "finished_at"]
    list_filter = ["kind"]
    raw_id_fields = ["job", "baseline", "generation", "reference_generation", "endpoint", "case_set", "created_by"]


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ["run", "repeat", "case_id", "letter", "correct", "num_questions", "timed_out"]
    list_filter = ["correct", "timed_out"]
    raw_id_fields = ["run", "item"]


@admin.register(GeneratedQuestion)
class GeneratedQuestionAdmin(admin.ModelAdmin):
    list_display = ["run", "qid", "model_name", "text"]
    raw_id_fields = ["run", "question"]


@admin.register(PairwiseVerdict)
class PairwiseVerdictAdmin(admin.ModelAdmin):
    list_display = ["run", "qid", "order", "sample", "winner", "attempts"]
    list_filter = ["winner"]
    raw_id_fields = ["run", "question"]
