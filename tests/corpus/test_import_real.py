"""Importing the real shared AskDocs/MediQ files: counts, links, normalizations, pseudonyms and idempotency."""

import re

import pytest
from django.db import connection

from corpus.importers import detect_format, import_path
from corpus.models import (
    Comment,
    ImportRun,
    MultipleChoiceCase,
    Post,
    Question,
    QuestionType,
    RecordChange,
    Split,
    Thread,
)

pytestmark = pytest.mark.django_db


def counts():
    return (Post.objects.count(), Thread.objects.count(), Comment.objects.count(), Question.objects.count())


def test_it_imports_test_q_into_620_questions_302_threads_192_posts(test_q):
    run = import_path(test_q)
    assert run.status == ImportRun.Status.DONE
    assert (run.format, run.split, run.records_read, run.rejected, run.error_count) == ("questions", "test", 620, 0, 0)
    assert run.created == {"post": 192, "thread": 302, "comment": 382, "question": 620}
    assert counts() == (192, 302, 382, 620)
    assert set(Post.objects.values_list("split", flat=True)) == {Split.TEST}
    assert run.file_sha256 and len(run.file_sha256) == 64


def test_it_counts_the_normalizations_of_the_source(test_q):
    run = import_path(test_q)
    assert run.normalizations["has_final_diagnosis: set from final_diagnosis"] == 14
    assert run.normalizations["question_type: case or spacing fixed"] == 8
    assert "question_type: unknown value -> Other" not in run.normalizations
    assert Question.objects.filter(question_type="hypotheses testing").count() == 0
    assert Question.objects.filter(question_type=QuestionType.HYPOTHESES_TESTING).count() == 270
    assert set(Question.objects.values_list("question_type", flat=True)) <= set(QuestionType.values)


def test_it_sets_has_final_diagnosis_from_the_diagnosis_text(test_q, question_records):
    import_path(test_q)
    with_diagnosis = {r["thread_id"] for r in question_records if r["final_diagnosis"]}
    assert set(Thread.objects.filter(has_final_diagnosis=True).values_list("thread_id", flat=True)) == with_diagnosis
    assert not Thread.objects.filter(has_final_diagnosis=True, final_diagnosis="").exists()


def test_it_marks_credentialed_commenters_with_the_papers_rule(test_q, shared_data):
    import_path(test_q)
    expert_qids = set((shared_data / "askdocs" / "test_q_expert_qids.txt").read_text().split())
    assert len(expert_qids) == 209
    assert set(Question.objects.filter(comment__is_credentialed=True).values_list("qid", flat=True)) == expert_qids
    credentialed_threads = set(Question.objects.filter(qid__in=expert_qids).values_list("thread_id", flat=True))
    assert set(Thread.objects.filter(has_credentialed_author=True).values_list("id", flat=True)) == credentialed_threads
    # the source's HTML-escaped flairs are decoded
    assert Comment.objects.filter(flair_text="Doctor (A&E)").exists()
    assert not Comment.objects.filter(flair_text__contains="&amp;").exists()


def test_it_builds_thread_search_text_and_question_counts(test_q, question_records):
    import_path(test_q)
    thread = Thread.objects.select_related("post").get(thread_id="t_chm8tk0-0")
    mine = [r for r in question_records if r["thread_id"] == "t_chm8tk0-0"]
    assert thread.question_count == len(mine) == 8
    assert thread.search_text.startswith(thread.post.title.lower())
    for record in mine:
        assert record["question"].lower() in thread.search_text
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rowid FROM corpus_thread_fts WHERE corpus_thread_fts MATCH 'spleen'")
            assert thread.pk in {row[0] for row in cursor.fetchall()}


def test_it_keeps_observed_text_apart_from_llm_derived_fields(test_q, question_records):
    import_path(test_q)
    with_previous = next(r for r in question_records if r["prev_additional_contexts"])
    question = Question.objects.get(qid=with_previous["qid"])
    assert [set(turn) for turn in question.previous_turns] == [{"question", "patient_answer"}] * len(
        with_previous["prev_additional_contexts"]
    )
    assert question.derived["prev_additional_contexts"] == [
        p["additional_context"] for p in with_previous["prev_additional_contexts"]
    ]
    assert set(question.derived) >= {"additional_context", "binary_question", "hypotheses"}
    assert question.hypotheses == with_previous["hypotheses"]
    unanswered = next(r for r in question_records if r["patient_answer"] is None)
    row = Question.objects.get(qid=unanswered["qid"])
    assert (row.patient_answer, row.has_patient_answer) == ("", False)
    assert row.derived["additional_context"]  # the invented restatement stays, labelled as derived
    comment = Comment.objects.get(comment_id=with_previous["comment_id"], thread__thread_id=with_previous["thread_id"])
    assert "comment_is_question" in comment.derived and "comment_author" not in comment.derived
    assert set(Thread.objects.get(thread_id=with_previous["thread_id"]).derived) == {
        "pos_post_author_feedback", "refer_to_hospital"
    }


def test_it_stores_no_raw_username_anywhere(test_q, question_records):
    import_path(test_q)
    names = {r["author_post"] for r in question_records} | {r["comment_author"] for r in question_records}
    names.discard("[deleted]")
    rows = []
    for model in (Post, Thread, Comment, Question):
        rows.extend(str(row) for row in model.objects.values_list())
    blob = "\n".join(rows)
    leaked = [name for name in names if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", blob)]
    assert leaked == []
    pseudonyms = set(Post.objects.values_list("author_pseudonym", flat=True))
    pseudonyms |= set(Comment.objects.values_list("author_pseudonym", flat=True))
    assert all(re.fullmatch(r"u_[0-9a-f]{12}", p) or p == "[deleted]" for p in pseudonyms)
    assert "[deleted]" in pseudonyms


def test_it_pseudonymizes_with_a_keyed_hash(test_q, question_records, settings):
    settings.PSEUDONYM_KEY = "key one"
    import_path(test_q)
    record = next(r for r in question_records if r["author_post"] != "[deleted]")
    first = Post.objects.get(post_id=record["id_post"]).author_pseudonym
    Post.objects.all().delete()
    settings.PSEUDONYM_KEY = "key two"
    import_path(test_q)
    assert Post.objects.get(post_id=record["id_post"]).author_pseudonym != first


def test_it_marks_the_post_authors_comments(write_jsonl, question_records):
    record = dict(question_records[0], comment_author="op_user", author_post="op_user")
    import_path(write_jsonl("q.jsonl", [record]))
    comment = Comment.objects.get()
    assert comment.is_post_author and comment.author_pseudonym == Post.objects.get().author_pseudonym


def test_it_links_all_302_mcqs_to_their_threads(test_q, askdocs_mcq):
    import_path(test_q)
    run = import_path(askdocs_mcq)
    assert (run.format, run.records_read, run.rejected) == ("askdocs_mcq", 302, 0)
    assert run.created == {"mcq": 302}
    cases = MultipleChoiceCase.objects.filter(source=MultipleChoiceCase.Source.ASKDOCS)
    assert cases.count() == 302 and not cases.filter(thread__isnull=True).exists()
    assert all(case.thread.thread_id == case.case_id for case in cases.select_related("thread"))
    assert run.stats["mcqs linked to their thread"] == 302


def test_it_stores_mcqs_unlinked_until_their_threads_arrive(test_q, askdocs_mcq):
    early = import_path(askdocs_mcq)
    assert early.stats["mcqs stored unlinked (thread not imported yet)"] == 302
    assert MultipleChoiceCase.objects.filter(thread__isnull=True).count() == 302
    later = import_path(test_q)
    assert later.stats["mcqs linked to threads that arrived later"] == 302
    assert not MultipleChoiceCase.objects.filter(thread__isnull=True).exists()


def test_it_imports_1272_medqa_cases(medqa):
    run = import_path(medqa)
    assert (run.format, run.records_read, run.rejected, run.created) == ("medqa", 1272, 0, {"mcq": 1272})
    case = MultipleChoiceCase.objects.get(source=MultipleChoiceCase.Source.MEDQA, case_id="0")
    assert case.answer == "Ceftriaxone" and case.initial_info == case.context[0]
    assert not case.initial_info_is_published and case.thread is None
    assert run.split == ""  # splits belong to posts; MCQ files have none


def test_it_creates_nothing_when_the_same_files_are_imported_again(test_q, askdocs_mcq, medqa):
    for path in (test_q, askdocs_mcq, medqa):
        import_path(path)
    before = counts(), MultipleChoiceCase.objects.count()
    for path, records in ((test_q, 620), (askdocs_mcq, 302), (medqa, 1272)):
        again = import_path(path)
        assert (again.created, again.updated, again.unchanged, again.rejected) == ({}, {}, records, 0)
    assert (counts(), MultipleChoiceCase.objects.count()) == before
    assert not RecordChange.objects.exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("test_q.jsonl", "questions"), ("askdocs_mcq.jsonl", "askdocs_mcq"), ("medqa_dev_convo.jsonl", "medqa")],
)
def test_it_detects_each_shared_files_format(shared_data, name, expected):
    path = next(shared_data.rglob(name))
    import orjson

    with open(path, "rb") as handle:
        assert detect_format(orjson.loads(handle.readline())) == expected
