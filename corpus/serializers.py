"""API representation of the corpus: threads, questions, posts, MCQ cases and import reports."""

from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from alfa_platform.roles import Role, has_role

from .importers import FORMATS
from .models import Comment, ImportRun, MultipleChoiceCase, Post, Question, QuestionType, Split, Thread

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class KeyedQuestion(Protocol):
    """A Question annotated with its thread's thread_id (QuestionViewSet's queryset)."""

    qid: str
    thread_key: str


# ---- query parameters ---------------------------------------------------------------------------------------------


class ThreadFilterSerializer(serializers.Serializer):
    """Query parameters of the thread list (the same names as the corpus page's filters)."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Full-text search.")
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    question_type = serializers.ChoiceField(
        choices=QuestionType.choices, required=False, help_text="Threads having a question of this type."
    )
    diagnosis = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Has a final diagnosis (derived)."
    )
    credentialed = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="A commenter has a credential flair."
    )


class QuestionFilterSerializer(serializers.Serializer):
    """Query parameters of the question list."""

    split = serializers.ChoiceField(choices=Split.choices, required=False)
    question_type = serializers.ChoiceField(choices=QuestionType.choices, required=False)
    thread = serializers.CharField(required=False, help_text="A thread_id.")
    qid = serializers.CharField(required=False, help_text="Comma-separated qids (at most 500).")


class PostFilterSerializer(serializers.Serializer):
    split = serializers.ChoiceField(choices=Split.choices, required=False)


class MultipleChoiceCaseFilterSerializer(serializers.Serializer):
    # a declared field (the metaclass moves it off the class), not Field.source
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=MultipleChoiceCase.Source.choices, required=False
    )
    thread = serializers.CharField(required=False, help_text="A thread_id.")
    case_id = serializers.CharField(required=False)


def question_page_url(thread_id: str, qid: str) -> str:
    """Return the thread page with the question highlighted, without loading the thread."""
    return reverse("corpus:thread", args=[thread_id]) + "?" + urlencode({"q": qid})


# ---- corpus records -----------------------------------------------------------------------------------------------


class ThreadListSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="corpus-thread-detail", lookup_field="thread_id")
    page_url = serializers.CharField(source="get_absolute_url", read_only=True)
    post_id = serializers.CharField(source="post.post_id", read_only=True)
    title = serializers.CharField(source="post.title", read_only=True)
    split = serializers.ChoiceField(source="post.split", choices=Split.choices, read_only=True)

    class Meta:
        model = Thread
        fields = [
            "thread_id", "url", "page_url", "post_id", "title", "split", "question_count",
            "has_final_diagnosis", "has_credentialed_author",
        ]
        read_only_fields = fields


class PostSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["post_id", "title", "body", "author_pseudonym", "created_utc", "year", "split"]
        read_only_fields = fields


class ThreadDerivedSerializer(serializers.ModelSerializer):
    """What the dataset authors' LLM step derived for a thread, kept apart from observed text."""

    other = serializers.JSONField(source="derived", read_only=True)

    class Meta:
        model = Thread
        fields = ["final_diagnosis", "has_final_diagnosis", "conclusion", "has_conclusion", "other"]
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = [
            "comment_id", "parent_id", "author_pseudonym", "is_post_author", "body", "turn_level", "flair_text",
            "is_credentialed", "score", "created_utc", "derived",
        ]
        read_only_fields = fields


class PreviousTurnSerializer(serializers.Serializer):
    question = serializers.CharField()
    patient_answer = serializers.CharField(allow_null=True)


class QuestionSerializer(serializers.ModelSerializer):
    """A question under study with its observed answer; `question_type` and `derived` come from an LLM."""

    url = serializers.HyperlinkedIdentityField(view_name="corpus-question-detail", lookup_field="qid")
    page_url = serializers.SerializerMethodField()
    thread = serializers.CharField(source="thread_key", read_only=True)
    split = serializers.ChoiceField(source="split_key", choices=Split.choices, read_only=True)
    comment_id = serializers.CharField(source="comment_key", read_only=True, allow_null=True)
    previous_turns = PreviousTurnSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "qid", "url", "page_url", "thread", "split", "comment_id", "turn_index", "question_index", "text",
            "patient_answer", "has_patient_answer", "previous_turns", "question_type", "derived",
        ]
        read_only_fields = fields

    def get_page_url(self, question: KeyedQuestion) -> str:  # drf-spectacular reads these hints at runtime
        return question_page_url(question.thread_key, question.qid)


class ThreadQuestionSerializer(serializers.ModelSerializer):
    """A question inside its thread's detail (thread and split are the thread's)."""

    url = serializers.HyperlinkedIdentityField(view_name="corpus-question-detail", lookup_field="qid")
    comment_id = serializers.CharField(source="comment_key", read_only=True, allow_null=True)
    previous_turns = PreviousTurnSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "qid", "url", "comment_id", "turn_index", "question_index", "text", "patient_answer",
            "has_patient_answer", "previous_turns", "question_type", "derived",
        ]
        read_only_fields = fields


def may_see_mcq_keys(user: "User | AnonymousUser | None") -> bool:
    """Return whether the corpus may show this user an MCQ's key (answer_idx and answer): leads and admins only.

    Reviewers and physicians gold-label these cases, and their first step is a blind answer; the published key is
    the gold label's starting key, so showing it here would unblind them (annotation.gold shows it after that
    user's own blind answer). Leads publish releases, which hold the keys anyway.
    """
    return has_role(user, Role.LEAD)


class MultipleChoiceCaseSerializer(serializers.ModelSerializer):
    """An MCQ case without its key: what every role reads."""

    url = serializers.HyperlinkedIdentityField(view_name="corpus-mcq-detail")
    thread = serializers.CharField(source="thread_key", read_only=True, allow_null=True)
    options = serializers.DictField(child=serializers.CharField(), read_only=True)
    # a declared field (the metaclass moves it off the class), not Field.context
    context = serializers.ListField(child=serializers.CharField(), read_only=True)  # type: ignore[assignment]
    atomic_facts = serializers.ListField(child=serializers.CharField(), read_only=True)
    initial_info_note = serializers.SerializerMethodField()

    class Meta:
        model = MultipleChoiceCase
        fields = [
            "id", "url", "source", "case_id", "thread", "stem", "options", "context",
            "atomic_facts", "initial_info", "initial_info_is_published", "initial_info_note", "original_post",
            "derived",
        ]
        read_only_fields = fields

    def get_initial_info_note(self, case: MultipleChoiceCase) -> str:
        if case.source == MultipleChoiceCase.Source.ASKDOCS and case.initial_info_is_published:
            return "The published MediQ-AskDocs initial_info was generated without the case and is known to be broken."
        return ""


class MultipleChoiceCaseKeySerializer(MultipleChoiceCaseSerializer):
    """An MCQ case with its published key, for leads (may_see_mcq_keys)."""

    answer = serializers.CharField(read_only=True)

    class Meta(MultipleChoiceCaseSerializer.Meta):
        fields = [*MultipleChoiceCaseSerializer.Meta.fields[:7], "answer_idx", "answer",
                  *MultipleChoiceCaseSerializer.Meta.fields[7:]]
        read_only_fields = fields


def mcq_serializer_for(request: Request | None) -> type[MultipleChoiceCaseSerializer]:
    """The MCQ serializer this request's user may read: with the key for leads, without it for everyone else."""
    user = getattr(request, "user", None)
    return MultipleChoiceCaseKeySerializer if may_see_mcq_keys(user) else MultipleChoiceCaseSerializer


class ThreadDetailSerializer(ThreadListSerializer):
    """A thread with its post, comments, questions and MCQ; LLM-derived fields sit under `derived`."""

    post = PostSummarySerializer(read_only=True)
    derived = ThreadDerivedSerializer(source="*", read_only=True)
    comments = CommentSerializer(many=True, read_only=True)
    questions = ThreadQuestionSerializer(many=True, read_only=True)
    mcqs = serializers.SerializerMethodField()

    class Meta(ThreadListSerializer.Meta):
        fields = [
            *ThreadListSerializer.Meta.fields, "turn_count", "total_score", "unique_author_counts",
            "verified_author_flairs", "post_author_feedback", "post", "derived", "comments", "questions", "mcqs",
        ]
        read_only_fields = fields

    @extend_schema_field(MultipleChoiceCaseSerializer(many=True))
    def get_mcqs(self, thread: Thread) -> list[dict[str, Any]]:
        serializer = mcq_serializer_for(self.context.get("request"))
        data = serializer(thread.mcqs.all(), many=True, context=self.context).data
        return cast("list[dict[str, Any]]", data)  # many=True: a list of cases


class PostSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="corpus-post-detail", lookup_field="post_id")
    threads = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["post_id", "url", "title", "body", "author_pseudonym", "created_utc", "year", "split", "threads"]
        read_only_fields = fields

    def get_threads(self, post: Post) -> list[str]:
        return [thread.thread_id for thread in post.threads.all()]


# ---- imports ------------------------------------------------------------------------------------------------------


class CorpusImportProblemSerializer(serializers.Serializer):
    """One rejected field or warning: where (file, line; 0 is the whole file) and why."""

    file = serializers.CharField()
    line = serializers.IntegerField()
    field = serializers.CharField()
    reason = serializers.CharField()


class ImportRunSerializer(serializers.ModelSerializer):
    """One file's import report; `errors` and `warnings` keep the first problems, `error_count` counts them all."""

    user: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # a declared field (the metaclass moves it off the class), not Serializer.errors
    errors = CorpusImportProblemSerializer(many=True, read_only=True)  # type: ignore[assignment]
    warnings = CorpusImportProblemSerializer(many=True, read_only=True)
    job_url = serializers.SerializerMethodField()
    job_page_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportRun
        fields = [
            "id", "file_name", "file_sha256", "format", "split", "status", "job", "job_url", "job_page_url", "user",
            "started_at", "finished_at", "records_read", "created", "updated", "unchanged", "rejected", "skipped",
            "error_count", "errors", "warnings", "normalizations", "stats", "notes", "error",
        ]
        read_only_fields = fields

    def absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_job_url(self, run: ImportRun) -> str | None:
        return self.absolute(reverse("job-detail", args=[run.job_id])) if run.job_id else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_job_page_url(self, run: ImportRun) -> str | None:
        return self.absolute(reverse("jobs:detail", args=[run.job_id])) if run.job_id else None


class CorpusImportUploadSerializer(serializers.Serializer):
    """A multipart upload: one or more files, a format (or auto) and the split to assign."""

    files = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=50)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    split = serializers.ChoiceField(
        choices=Split.choices, required=False, allow_blank=True, default="",
        help_text="The posts' split; empty infers it from the file name (test_q.jsonl: test), else unassigned.",
    )


class CorpusImportQueuedSerializer(serializers.Serializer):
    """The answer to an upload: the job that runs the import."""

    job_id = serializers.IntegerField()
    job_url = serializers.URLField(help_text="The job in the API.")
    page_url = serializers.URLField(help_text="The job's page, with live progress.")
    status = serializers.CharField()
    files = serializers.ListField(child=serializers.CharField())
