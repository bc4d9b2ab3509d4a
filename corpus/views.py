"""Corpus pages: thread list with search and filters, the thread chat view, and the import page."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from alfa_platform.roles import Role, RoleRequiredMixin

from .actions import ImportRequestError, do_enqueue_import
from .forms import ImportForm, ThreadFilterForm
from .models import Comment, ImportRun, Post, Question, Split, Thread
from .search import filter_threads, load_list_rows, thread_keys
from .serializers import may_see_mcq_keys

PAGE_SIZE = 50
RECENT_IMPORTS = 10
# What reverse() quotes in a <str:> path segment; building links by hand saves 50 reverse() calls per page.
URL_SAFE = "!$&'()*+,;=~:@"
TITLE_CHARS = 140


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def thread_list_rows(threads: Iterable[Thread]) -> list[dict[str, Any]]:
    """Return list rows as dicts: templates resolve dict keys first, which keeps rendering 50 rows cheap."""
    base = reverse("corpus:thread", args=["-"]).removesuffix("-/")
    splits = dict(Split.choices)
    return [
        {
            "thread_id": thread.thread_id, "url": f"{base}{quote(thread.thread_id, safe=URL_SAFE)}/",
            "title": truncate(thread.post.title, TITLE_CHARS),
            "split": splits.get(thread.post.split, thread.post.split),
            "question_count": thread.question_count, "has_final_diagnosis": thread.has_final_diagnosis,
            "final_diagnosis": thread.final_diagnosis, "has_credentialed_author": thread.has_credentialed_author,
        }
        for thread in threads
    ]


@dataclass
class KeysetPage:
    """One page of rows in thread_id order, with the keys of the neighbouring pages (None at either end)."""

    rows: list
    next_after: str | None = None
    prev_before: str | None = None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_after or self.prev_before)


def keyset_page(
    threads: QuerySet[Thread], *, after: str = "", before: str = "", size: int = PAGE_SIZE, total: int | None = None
) -> KeysetPage:
    """Return the page after or before a thread_id; seeking the unique index keeps late pages as cheap as the first."""
    if total == 0:  # nothing matches: skip a walk over every thread looking for rows that are not there
        return KeysetPage([])
    if before:
        rows = list(threads.filter(thread_id__lt=before).order_by("-thread_id")[: size + 1])
        has_prev, rows = len(rows) > size, rows[:size][::-1]
        return KeysetPage(rows, next_after=rows[-1].thread_id if rows else None,
                          prev_before=rows[0].thread_id if has_prev else None)
    if after:
        threads = threads.filter(thread_id__gt=after)
    rows = list(threads[: size + 1])
    has_next, rows = len(rows) > size, rows[:size]
    return KeysetPage(rows, next_after=rows[-1].thread_id if has_next else None,
                      prev_before=rows[0].thread_id if after and rows else None)


class ThreadListView(RoleRequiredMixin, TemplateView):
    """Every role may browse the corpus: search, filter and page through threads."""

    required_role = Role.ANNOTATOR
    template_name = "corpus/thread_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = ThreadFilterForm(self.request.GET)
        threads = filter_threads(thread_keys(), **form.filters())
        params, total = self.request.GET, threads.count()
        page = keyset_page(threads, after=params.get("after", ""), before=params.get("before", ""), total=total)
        return {
            **super().get_context_data(**kwargs),
            "form": form, "selects": form.selects(), "page": page,
            "rows": thread_list_rows(load_list_rows(page.rows)),
            "page_size": PAGE_SIZE, "total": total, "total_display": f"{total:,}", "query_string": form.query_string(),
        }


@dataclass
class Bubble:
    """One chat bubble: a patient or doctor turn, with the questions a doctor turn asked."""

    side: str
    who: str
    text: str
    title: str = ""
    note: str = ""
    questions: list = field(default_factory=list)
    answers_to: list = field(default_factory=list)
    flair: str = ""
    credentialed: bool = False
    is_study: bool = False


def earlier_turn_bubbles(questions: Sequence[Question]) -> list[Bubble]:
    """Return bubbles for observed earlier turns that are not themselves questions of the thread."""
    asked = {question.text.strip() for question in questions}
    seen: set[str] = set()
    bubbles: list[Bubble] = []
    for question in questions:
        for turn in question.previous_turns or []:
            text = str(turn.get("question") or "").strip() if isinstance(turn, dict) else ""
            if not text or text in asked or text in seen:
                continue
            seen.add(text)
            bubbles.append(Bubble("doctor", "Doctor", text, note="earlier turn"))
            if answer := str(turn.get("patient_answer") or "").strip():
                bubbles.append(Bubble("patient", "Patient", answer, note="earlier turn"))
    return bubbles


def answer_bubbles(asked: Iterable[Question], study_qid: str) -> list[Bubble]:
    """Return one patient bubble per distinct observed answer to the questions of a doctor turn."""
    answers: defaultdict[str, list[Question]] = defaultdict(list)
    for question in asked:
        if question.has_patient_answer and question.patient_answer.strip():
            answers[question.patient_answer.strip()].append(question)
    return [
        Bubble("patient", "Patient", text, answers_to=qs, is_study=any(q.qid == study_qid for q in qs))
        for text, qs in answers.items()
    ]


def doctor_bubble(comment: Comment | None, asked: list[Question], study_qid: str) -> Bubble:
    is_study = any(question.qid == study_qid for question in asked)
    if comment is None:  # question records without their comment: show the questions themselves
        return Bubble("doctor", "Doctor", "", questions=asked, is_study=is_study)
    return Bubble(
        "doctor", "Doctor", comment.body, questions=asked, flair=comment.flair_text,
        credentialed=comment.is_credentialed, is_study=is_study,
    )


def chat_turns(
    comments: Sequence[Comment], questions: Iterable[Question]
) -> list[tuple[Comment | None, list[Question]]]:
    """Return (comment or None, questions asked in it) in conversation order."""
    by_comment: defaultdict[int, list[Question]] = defaultdict(list)
    loose: defaultdict[int, list[Question]] = defaultdict(list)
    for question in questions:
        (by_comment[question.comment_id] if question.comment_id else loose[question.turn_index]).append(question)
    turns: list[tuple[int, int, int, Comment | None, list[Question]]] = [
        (comment.turn_level, 0, index, comment, by_comment.get(comment.pk, []))
        for index, comment in enumerate(comments)
    ]
    turns += [(turn, 1, 0, None, asked) for turn, asked in loose.items()]
    return [(comment, asked) for *_, comment, asked in sorted(turns, key=lambda turn: turn[:3])]


def build_chat(
    post: Post, comments: Sequence[Comment], questions: Sequence[Question], study_qid: str = ""
) -> list[Bubble]:
    """Return the thread as chat bubbles: the post, earlier turns, then each doctor turn and the patient's answer."""
    bubbles = [Bubble("patient", "Patient · original post", post.body, title=post.title)]
    bubbles += earlier_turn_bubbles(questions)
    turns = chat_turns(comments, questions)
    for index, (comment, asked) in enumerate(turns):
        if comment is not None and comment.is_post_author:
            bubbles.append(Bubble("patient", "Patient", comment.body))
            continue
        bubbles.append(doctor_bubble(comment, asked, study_qid))
        following = turns[index + 1][0] if index + 1 < len(turns) else None
        replied = following is not None and following.is_post_author
        if not replied:  # the patient's reply comment is not stored: show the answers the questions record
            bubbles += answer_bubbles(asked, study_qid)
    return bubbles


class ThreadDetailView(RoleRequiredMixin, TemplateView):
    """One thread as a chat, the question under study (?q=<qid>) highlighted, facts and MCQ beside it."""

    required_role = Role.ANNOTATOR
    template_name = "corpus/thread_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        thread = get_object_or_404(Thread.objects.select_related("post"), thread_id=kwargs["thread_id"])
        comments = list(thread.comments.all())
        questions = list(thread.questions.order_by("turn_index", "question_index", "qid"))
        study_qid = self.request.GET.get("q", "")
        return {
            **super().get_context_data(**kwargs),
            "thread": thread, "post": thread.post, "questions": questions,
            "chat": build_chat(thread.post, comments, questions, study_qid),
            "study_qid": study_qid, "study": next((q for q in questions if q.qid == study_qid), None),
            "mcqs": list(thread.mcqs.all()), "show_mcq_keys": may_see_mcq_keys(self.request.user),
        }


class ImportView(RoleRequiredMixin, FormView):
    """Leads upload corpus files; the import runs as a background job and the job page shows its progress."""

    required_role = Role.LEAD
    template_name = "corpus/import.html"
    form_class = ImportForm

    def form_valid(self, form: ImportForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            job = do_enqueue_import(data["files"], format=data["format"], split=data["split"] or None,
                                    owner=cast(User, self.request.user))  # a lead: signed in
        except ImportRequestError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, f"Import of {len(data['files'])} file(s) queued as job #{job.pk}.")
        return redirect(job)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        runs = ImportRun.objects.select_related("job", "user").order_by("-started_at", "-pk")[:RECENT_IMPORTS]
        return {**super().get_context_data(**kwargs), "runs": runs}


thread_list = ThreadListView.as_view()
thread_detail = ThreadDetailView.as_view()
import_page = ImportView.as_view()
