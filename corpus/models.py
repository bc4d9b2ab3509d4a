"""The AskDocs corpus: posts, threads (linear doctor/patient chains), comments, questions, and the MediQ cases."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from .rendering import DEFAULT_RENDERING, conversation_messages, render_messages


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"
    UNASSIGNED = "unassigned", "Unassigned"


class QuestionType(models.TextChoices):
    HYPOTHESES_TESTING = "Hypotheses testing"
    FOLLOWUP = "Followup"
    CLARIFICATION = "Clarification"
    CHECKLIST = "Checklist"
    OTHER = "Other"


class Post(models.Model):
    """A forum submission. The split is a property of the post, so a post can never sit in two splits."""

    post_id = models.CharField(max_length=32, unique=True)
    title = models.TextField()
    body = models.TextField()
    author_pseudonym = models.CharField(max_length=32, help_text="Keyed hash of the forum username.")
    created_utc = models.BigIntegerField(null=True, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.UNASSIGNED)
    content_hash = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["split"], name="post_split_idx")]  # thread list: filter by split

    def __str__(self) -> str:
        return self.title[:80]


class Thread(models.Model):
    """One linear chain of alternating doctor and patient comments under a root comment of a post."""

    thread_id = models.CharField(max_length=64, unique=True)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="threads")
    turn_count = models.PositiveSmallIntegerField(default=0)
    total_score = models.IntegerField(default=0)
    unique_author_counts = models.PositiveSmallIntegerField(default=0)
    verified_author_flairs = models.JSONField(default=list, blank=True)
    has_credentialed_author = models.BooleanField(default=False)
    final_diagnosis = models.TextField(blank=True, help_text="Derived by the authors' LLM parsing step.")
    conclusion = models.TextField(blank=True, help_text="Derived by the authors' LLM parsing step.")
    has_final_diagnosis = models.BooleanField(default=False)
    has_conclusion = models.BooleanField(default=False)
    post_author_feedback = models.BooleanField(null=True, blank=True)
    # Fields the authors' pipeline derived with an LLM, kept apart from observed text.
    derived = models.JSONField(default=dict, blank=True)
    search_text = models.TextField(blank=True, help_text="Lower-cased title, post and questions, for search.")
    question_count = models.PositiveSmallIntegerField(default=0)
    content_hash = models.CharField(max_length=32)

    class Meta:
        ordering = ["thread_id"]
        indexes = [
            # thread list filters: has diagnosis / credentialed author, newest ids first
            models.Index(fields=["has_final_diagnosis", "thread_id"], name="thread_dx_idx"),
            models.Index(fields=["has_credentialed_author", "thread_id"], name="thread_cred_idx"),
        ]

    def __str__(self) -> str:
        return self.thread_id

    def get_absolute_url(self) -> str:
        return reverse("corpus:thread", args=[self.thread_id])

    @staticmethod
    def make_search_text(title: str, body: str, question_texts: Iterable[str]) -> str:
        """Return the lower-cased text the full-text index searches: title, post and the thread's questions."""
        return "\n".join([title, body, *question_texts]).lower()


class Comment(models.Model):
    """A comment in a thread's chain; doctor comments hold the questions under study."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="comments")
    comment_id = models.CharField(max_length=32)
    parent_id = models.CharField(max_length=40, blank=True)
    author_pseudonym = models.CharField(max_length=32)
    is_post_author = models.BooleanField(default=False)
    body = models.TextField()
    turn_level = models.PositiveSmallIntegerField(default=0)
    flair_text = models.TextField(blank=True)
    is_credentialed = models.BooleanField(default=False)
    score = models.IntegerField(default=0)
    created_utc = models.BigIntegerField(null=True, blank=True)
    derived = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=32)

    class Meta:
        ordering = ["thread", "turn_level", "pk"]
        constraints = [models.UniqueConstraint(fields=["thread", "comment_id"], name="comment_unique_in_thread")]

    def __str__(self) -> str:
        return f"{self.comment_id} in {self.thread_id}"


class Question(models.Model):
    """One doctor follow-up question (qid = <thread_id>-c<depth>-q<index>) and its observed answer."""

    qid = models.CharField(max_length=96, unique=True)
    # No index of its own: question_thread_type_idx (thread, question_type) serves lookups by thread.
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="questions", db_index=False)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="questions", null=True, blank=True)
    turn_index = models.PositiveSmallIntegerField(default=0)
    question_index = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    patient_answer = models.TextField(blank=True)
    has_patient_answer = models.BooleanField(default=False)
    question_type = models.CharField(
        max_length=32, choices=QuestionType.choices, blank=True, help_text="Derived by an LLM; normalized at import."
    )
    # Earlier question/answer turns of the thread, observed text only: [{"question", "patient_answer"}].
    previous_turns = models.JSONField(default=list, blank=True)
    # LLM-derived fields (hypotheses, binary_question, additional_context, ...), never mixed with observed text.
    derived = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=32)

    class Meta:
        ordering = ["qid"]
        indexes = [
            models.Index(fields=["question_type"], name="question_type_idx"),  # filter by question type
            # thread list: threads having a question of a type
            models.Index(fields=["thread", "question_type"], name="question_thread_type_idx"),
        ]

    def __str__(self) -> str:
        return self.qid

    def get_absolute_url(self) -> str:
        return reverse("corpus:thread", args=[self.thread.thread_id]) + f"?q={self.qid}"

    @property
    def hypotheses(self) -> list[str]:
        return self.derived.get("hypotheses", [])

    def conversation(self) -> list[dict]:
        """Return the patient's post, then the thread's earlier question/answer turns, as chat messages."""
        post = self.thread.post
        return conversation_messages(post.title, post.body, self.previous_turns)

    def prompt_messages(self, rendering: str = DEFAULT_RENDERING) -> list[dict]:
        """Return what a policy sees before asking this question, under a versioned rendering."""
        return render_messages(self.conversation(), rendering)


class MultipleChoiceCase(models.Model):
    """A 4-option diagnostic question for the interactive task: MediQ-AskDocs (linked to a thread) or MedQA."""

    class Source(models.TextChoices):
        ASKDOCS = "askdocs", "MediQ-AskDocs"
        MEDQA = "medqa", "MedQA"

    source = models.CharField(max_length=16, choices=Source.choices)
    case_id = models.CharField(max_length=64)
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="mcqs")
    stem = models.TextField()
    options = models.JSONField()
    answer_idx = models.CharField(max_length=1)
    context = models.JSONField(default=list, help_text="Case sentences (MedQA) or [case text] (AskDocs).")
    atomic_facts = models.JSONField(default=list)
    initial_info = models.TextField(blank=True)
    initial_info_is_published = models.BooleanField(
        default=True, help_text="The published MediQ-AskDocs initial_info is known to be unrelated to the case."
    )
    original_post = models.TextField(blank=True)
    derived = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "case_id"], name="mcq_unique_case")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.case_id}"

    @property
    def answer(self) -> str:
        return self.options.get(self.answer_idx, "")


class ImportRun(models.Model):
    """One file's import: what was created, updated, unchanged, rejected and normalized, and why."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=32, blank=True)
    split = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="imports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    created = models.JSONField(default=dict, blank=True)
    updated = models.JSONField(default=dict, blank=True)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Identical duplicate records, reported in warnings.")
    # Every problem as {"file", "line", "field", "reason"}; line 0 means the file as a whole.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0, help_text="All errors, also beyond the stored list's cap.")
    warnings = models.JSONField(default=list, blank=True)
    normalizations = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the import stopped early (crash or cancel).")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.format})"

    @property
    def has_problems(self) -> bool:
        """Return whether anything was rejected or the import stopped: the CLI then exits non-zero."""
        return bool(self.rejected or self.error_count or self.status != self.Status.DONE)

    def summary(self) -> dict[str, Any]:
        """Return the counts of this run as plain data (for job results and API responses)."""
        return {
            "file": self.file_name,
            "format": self.format,
            "split": self.split,
            "status": self.status,
            "records_read": self.records_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "normalizations": self.normalizations,
            "stats": self.stats,
            "notes": self.notes,
        }


class RecordChange(models.Model):
    """A field-level change an import made to an existing record, so updates in place stay auditable."""

    import_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="changes")
    model = models.CharField(max_length=32)
    key = models.CharField(max_length=96)
    changes = models.JSONField(help_text='{"field": [old, new]}')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["model", "key"], name="change_record_idx")]  # history of one record

    def __str__(self) -> str:
        return f"{self.model} {self.key}"
