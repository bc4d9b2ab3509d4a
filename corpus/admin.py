"""Admin for the corpus: read-mostly (rows come from imports), searchable by their ids."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import Comment, ImportRun, MultipleChoiceCase, Post, Question, RecordChange, Thread


class ReadOnlyAdmin(admin.ModelAdmin):
    """Imports own these rows: the admin shows them but never adds or edits them (deleting stays possible)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ("post_id", "title", "split", "year", "author_pseudonym")
    list_filter = ("split", "year")
    search_fields = ("=post_id", "=author_pseudonym")
    show_full_result_count = False


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ("comment_id", "turn_level", "author_pseudonym", "is_post_author", "flair_text", "is_credentialed")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("thread_id", "post", "question_count", "has_final_diagnosis", "has_credentialed_author")
    list_filter = ("has_final_diagnosis", "has_credentialed_author", "post__split")
    search_fields = ("=thread_id", "=post__post_id")
    list_select_related = ("post",)
    raw_id_fields = ("post",)
    inlines = [CommentInline]
    show_full_result_count = False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("comment_id", "thread", "turn_level", "author_pseudonym", "flair_text", "is_credentialed")
    list_filter = ("is_credentialed", "is_post_author")
    search_fields = ("=comment_id", "=thread__thread_id", "=author_pseudonym")
    list_select_related = ("thread",)
    raw_id_fields = ("thread",)
    show_full_result_count = False


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ("qid", "question_type", "has_patient_answer", "text")
    list_filter = ("question_type", "has_patient_answer", "thread__post__split")
    search_fields = ("=qid", "=thread__thread_id", "=comment__comment_id")
    raw_id_fields = ("thread", "comment")
    show_full_result_count = False


@admin.register(MultipleChoiceCase)
class MultipleChoiceCaseAdmin(ReadOnlyAdmin):
    list_display = ("case_id", "source", "thread", "answer_idx")
    list_filter = ("source",)
    search_fields = ("=case_id", "=thread__thread_id")
    list_select_related = ("thread",)
    raw_id_fields = ("thread",)


class RecordChangeInline(admin.TabularInline):
    model = RecordChange
    fields = ("model", "key", "changes", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "file_name", "format", "split", "status", "records_read", "rejected", "user", "started_at")
    list_filter = ("status", "format", "split")
    search_fields = ("file_name", "=file_sha256")
    list_select_related = ("user",)
    inlines = [RecordChangeInline]


@admin.register(RecordChange)
class RecordChangeAdmin(ReadOnlyAdmin):
    list_display = ("model", "key", "import_run", "created_at")
    list_filter = ("model",)
    search_fields = ("=key",)
    raw_id_fields = ("import_run",)
