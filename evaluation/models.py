"""Evaluation models: case sets (frozen snapshots of MCQ cases), runs, interactive episodes, generated questions
and pairwise judge verdicts."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class CaseSetSource(models.TextChoices):
    ASKDOCS = "askdocs", "MediQ-AskDocs (corpus)"
    MEDQA = "medqa", "MedQA (corpus)"
    FILE = "file", "MediQ-format file"
    RELEASE = "release", "Gold-labelled release"


class InitialInfo(models.TextChoices):
    """What the expert and the question generator see first."""

    ORIGINAL_POST = "original_post", "The patient's original post (title and body)"
    RECORD = "record", ("The record's initial_info: a gold release's fixed chief complaint, or the published one, "
                        "which is unrelated to the case in MediQ-AskDocs v3 (method.md §2.7)")
    FIRST_SENTENCE = "first_sentence", "The first context sentence (MedQA; its facts leave that sentence out)"


class CaseSet(models.Model):
    """A frozen list of cases: a run points at one snapshot, so a later re-import cannot change what it evaluated."""

    name = models.CharField(max_length=120)
    source = models.CharField(max_length=16, choices=CaseSetSource.choices)
    initial_info = models.CharField(max_length=16, choices=InitialInfo.choices)
    description = models.TextField(blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, help_text="Hash of the snapshot's cases, in order.")
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["name", "sha256"], name="caseset_unique_snapshot")]

    def __str__(self) -> str:
        return f"{self.name} ({self.size} cases, {self.sha256[:8]})"


class CaseSetItem(models.Model):
    """One case of a snapshot, with the fields the engine uses (facts cleaned of bullets and numbering)."""

    case_set = models.ForeignKey(CaseSet, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    case_id = models.CharField(max_length=64)
    mcq = models.ForeignKey("corpus.MultipleChoiceCase", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+", help_text="The corpus case this snapshot came from, when known.")
    stem = models.TextField()
    options = models.JSONField()
    answer_idx = models.CharField(max_length=1)
    initial_info = models.TextField()
    facts = models.JSONField(default=list)

    class Meta:
        ordering = ["case_set", "position"]
        constraints = [models.UniqueConstraint(fields=["case_set", "case_id"], name="caseset_item_unique_case")]

    def __str__(self) -> str:
        return f"{self.case_set.name} {self.case_id}"


class RunKind(models.TextChoices):
    INTERACTIVE = "interactive", "Interactive diagnostic QA"
    WINRATE = "winrate", "Pairwise win-rate"
    GENERATION = "generation", "Question generation"
    EXPERT_CHECK = "expert_check", "Expert check (physicians' pairwise judgments)"


class EvaluationRun(models.Model):
    """One evaluation: its parameters, models, prompt versions, seeds and (when finished) metrics; the job row says
    whether it is queued, running or done."""

    kind = models.CharField(max_length=16, choices=RunKind.choices)
    model_name = models.CharField(max_length=500, help_text="The model under test, as its endpoint names it.")
    endpoint = models.ForeignKey("synthesis.ModelEndpoint", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="evaluation_runs")
    config = models.JSONField(default=dict)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    case_set = models.ForeignKey(CaseSet, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    baseline = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generation = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Win-rate: the candidate's generation run.")
    reference_generation = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                             related_name="+", help_text="Win-rate: the reference's generation run.")
    reference_name = models.CharField(max_length=500, blank=True, help_text="Win-rate: human or a model name.")
    attribute = models.CharField(max_length=32, blank=True, help_text="Win-rate: judged attribute; empty: overall.")
    judge_name = models.CharField(max_length=500, blank=True)
    provenance = models.JSONField(default=dict, blank=True, help_text="Models, prompt versions, sampling, seeds.")
    metrics = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # leaderboard: the finished runs of each kind, newest first
            models.Index(fields=["kind", "finished_at"], name="evalrun_kind_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} · {self.model_name}"

    def get_absolute_url(self) -> str:
        return reverse("evaluation:run", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    @property
    def status(self) -> str:
        if self.kind == RunKind.EXPERT_CHECK:
            return "annotating"  # physicians judge in its campaign; the numbers are always the current ones
        return self.job.status if self.job is not None else ("succeeded" if self.is_finished else "queued")


class Episode(models.Model):
    """One case's interactive episode in one repeat: the final letter, counts and the whole transcript."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="episodes")
    repeat = models.PositiveSmallIntegerField(default=0)
    seed = models.BigIntegerField()
    item = models.ForeignKey(CaseSetItem, on_delete=models.PROTECT, related_name="+")
    case_id = models.CharField(max_length=64)
    answer_idx = models.CharField(max_length=1)
    letter = models.CharField(max_length=1, blank=True, help_text="Empty: no letter could be parsed (wrong).")
    correct = models.BooleanField(default=False)
    num_questions = models.PositiveSmallIntegerField(default=0)
    timed_out = models.BooleanField(default=False)
    choices = models.JSONField(default=list, help_text="The expert's letter after 0, 1, ... answers.")
    confidences = models.JSONField(default=list)
    transcript = models.JSONField(default=list, help_text="Who said what, the facts used, each reply's raw text.")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "repeat", "item__position"]
        constraints = [models.UniqueConstraint(fields=["run", "repeat", "case_id"], name="episode_unique_case")]

    def __str__(self) -> str:
        return f"run {self.run_id} r{self.repeat} {self.case_id}"

    def get_absolute_url(self) -> str:
        return reverse("evaluation:episode", args=[self.run_id, self.pk])

    def as_metrics_row(self) -> dict:
        return {"case_id": self.case_id, "repeat": self.repeat, "answer_idx": self.answer_idx,
                "letter": self.letter or None, "correct": self.correct, "num_questions": self.num_questions,
                "timed_out": self.timed_out, "choices": self.choices}


class GeneratedQuestion(models.Model):
    """A model's next follow-up question for one corpus question's context, with its full provenance."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="questions")
    question = models.ForeignKey("corpus.Question", on_delete=models.CASCADE, related_name="+")
    qid = models.CharField(max_length=96)
    text = models.TextField(help_text="The parsed question; empty when the model asked nothing.")
    raw = models.JSONField(default=list, help_text="Every reply's raw text, one per attempt.")
    model_name = models.CharField(max_length=500)
    backend = models.CharField(max_length=16)
    sampling = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    rendering = models.CharField(max_length=32)
    prompt_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=1)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "qid"]
        constraints = [models.UniqueConstraint(fields=["run", "question"], name="generated_unique_question")]

    def __str__(self) -> str:
        return f"{self.model_name} · {self.qid}"


class Winner(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    REFERENCE = "reference", "Reference"
    TIE = "tie", "Tie"
    UNPARSEABLE = "unparseable", "Unparseable (not scored)"


class PairwiseVerdict(models.Model):
    """One judge sample for one question, in one order (0: the candidate shown as Question 1; 1: the reference)."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="verdicts")
    question = models.ForeignKey("corpus.Question", on_delete=models.CASCADE, related_name="+")
    qid = models.CharField(max_length=96)
    order = models.PositiveSmallIntegerField()
    sample = models.PositiveSmallIntegerField()
    candidate_text = models.TextField()
    reference_text = models.TextField()
    winner = models.CharField(max_length=16, choices=Winner.choices)
    explanation = models.TextField(blank=True)
    replies = models.JSONField(default=list, help_text="Every reply's raw text and why it was rejected.")
    attempts = models.PositiveSmallIntegerField(default=1)
    seed = models.BigIntegerField()
    prompt_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "qid", "order", "sample"]
        constraints = [models.UniqueConstraint(fields=["run", "qid", "order", "sample"], name="verdict_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.qid} o{self.order} s{self.sample}: {self.winner}"
