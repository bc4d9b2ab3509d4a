"""Re-imports: changed records update in place with a change record; splits belong to posts and never change."""

import pytest

from corpus.importers import import_path, infer_split
from corpus.models import Post, Question, QuestionType, RecordChange, Split, Thread

pytestmark = pytest.mark.django_db


def post_with_threads(records, at_least=2):
    """Return the records of the first post that has several threads."""
    for record in records:
        mine = [r for r in records if r["id_post"] == record["id_post"]]
        if len({r["thread_id"] for r in mine}) >= at_least:
            return [dict(r) for r in mine]
    raise AssertionError("no such post")


def test_a_changed_record_updates_in_place_and_records_the_change(write_jsonl, question_records):
    rows = post_with_threads(question_records)
    path = write_jsonl("test_q.jsonl", rows)
    import_path(path)
    question = Question.objects.get(qid=rows[0]["qid"])
    post = Post.objects.get(post_id=rows[0]["id_post"])
    old_title, old_text = post.title, question.text
    for row in rows:
        row["title"] = "Corrected title"
    rows[0]["question"] = "Corrected question?"
    run = import_path(write_jsonl("test_q.jsonl", rows))
    assert run.created == {} and run.rejected == 0
    assert run.updated == {"post": 1, "question": 1}
    assert run.unchanged == 0  # every record carries the retitled post
    question.refresh_from_db()
    post.refresh_from_db()
    assert (question.text, post.title) == ("Corrected question?", "Corrected title")
    assert Question.objects.get(qid=rows[0]["qid"]).pk == question.pk  # in place, not re-created
    changes = {(c.model, c.key): c.changes for c in RecordChange.objects.filter(import_run=run)}
    assert changes == {
        ("post", post.post_id): {"title": [old_title, "Corrected title"]},
        ("question", question.qid): {"text": [old_text, "Corrected question?"]},
    }
    # every thread of the post is searchable under the new title, not the old one
    for thread in Thread.objects.filter(post=post):
        assert thread.search_text.startswith("corrected title\n")
        assert "corrected question?" in thread.search_text or thread.pk != question.thread_id


def test_a_changed_thread_field_is_recorded_once_per_thread(write_jsonl, question_records):
    thread_id = next(r["thread_id"] for r in question_records if r["final_diagnosis"])
    rows = [dict(r) for r in question_records if r["thread_id"] == thread_id]
    import_path(write_jsonl("test_q.jsonl", rows))
    old = rows[0]["final_diagnosis"]
    for row in rows:
        row["final_diagnosis"] = None
    run = import_path(write_jsonl("test_q.jsonl", rows))
    assert run.updated == {"thread": 1}
    thread = Thread.objects.get(thread_id=thread_id)
    assert (thread.final_diagnosis, thread.has_final_diagnosis) == ("", False)
    assert RecordChange.objects.get(import_run=run).changes == {
        "final_diagnosis": [old, ""], "has_final_diagnosis": [True, False]
    }


def test_questions_arriving_in_a_later_file_join_their_thread(write_jsonl, question_records):
    rows = next(
        [dict(r) for r in question_records if r["thread_id"] == t]
        for t in (r["thread_id"] for r in question_records)
        if sum(x["thread_id"] == t for x in question_records) >= 3
    )
    import_path(write_jsonl("test_q_part1.jsonl", rows[:1]))
    assert Thread.objects.get(thread_id=rows[0]["thread_id"]).question_count == 1
    run = import_path(write_jsonl("test_q_part2.jsonl", rows[1:]))
    thread = Thread.objects.get(thread_id=rows[0]["thread_id"])
    assert thread.question_count == len(rows)
    assert all(r["question"].lower() in thread.search_text for r in rows)
    assert run.stats["thread search texts refreshed"] == 1


def test_a_post_is_never_in_two_splits(write_jsonl, question_records):
    rows = [dict(r) for r in question_records[:5]]
    import_path(write_jsonl("test_q.jsonl", rows))
    assert set(Post.objects.values_list("split", flat=True)) == {Split.TEST}
    run = import_path(write_jsonl("again.jsonl", rows), split="train")
    assert run.rejected == len(rows)
    first = run.errors[0]
    assert (first["file"], first["line"], first["field"]) == ("again.jsonl", 1, "split")
    assert f"post {rows[0]['id_post']!r} is already in the test split" in first["reason"]
    assert set(Post.objects.values_list("split", flat=True)) == {Split.TEST}


def test_an_unassigned_post_gains_a_split_once(write_jsonl, question_records):
    rows = [dict(r) for r in question_records[:3]]
    first = import_path(write_jsonl("records.jsonl", rows))
    assert first.split == Split.UNASSIGNED
    assert set(Post.objects.values_list("split", flat=True)) == {Split.UNASSIGNED}
    second = import_path(write_jsonl("records.jsonl", rows), split="validation")
    assert second.rejected == 0 and second.updated.get("post")
    assert set(Post.objects.values_list("split", flat=True)) == {Split.VALIDATION}
    assert RecordChange.objects.filter(import_run=second, model="post").first().changes["split"] == [
        "unassigned", "validation"
    ]
    # a file without a split leaves the post's split alone
    third = import_path(write_jsonl("records.jsonl", rows))
    assert (third.updated, third.rejected) == ({}, 0)
    assert set(Post.objects.values_list("split", flat=True)) == {Split.VALIDATION}


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("train_q.jsonl", "train"), ("eval_q.jsonl", "validation"), ("test_q.jsonl", "test"),
        ("askdocs-dev.jsonl.gz", "validation"), ("q40.jsonl", None), ("contest.jsonl", None),
        ("train_vs_test.jsonl", None),
    ],
)
def test_it_infers_the_split_from_the_file_name(name, split):
    assert infer_split(name) == split


def test_it_maps_unknown_question_types_to_other_and_keeps_the_raw_value(write_jsonl, question_records):
    rows = [dict(r) for r in question_records[:3]]
    rows[0]["question_type"] = "Screening"
    rows[1]["question_type"] = "hypothesis testing"
    run = import_path(write_jsonl("types.jsonl", rows))
    assert run.normalizations["question_type: unknown value -> Other"] == 1
    assert run.normalizations["question_type: alias mapped"] == 1
    other = Question.objects.get(qid=rows[0]["qid"])
    assert (other.question_type, other.derived["question_type_raw"]) == (QuestionType.OTHER, "Screening")
    assert Question.objects.get(qid=rows[1]["qid"]).question_type == QuestionType.HYPOTHESES_TESTING


def test_an_updated_question_stays_on_its_own_threads_comment(write_jsonl, question_records):
    """A root comment heads several threads (t_<root>-0, t_<root>-1): updates must not mix up its copies."""
    first = dict(question_records[0])
    second = dict(first, thread_id=first["thread_id"][:-1] + "1", qid=first["qid"].replace("-0-c", "-1-c", 1))
    rows = [first, second]
    import_path(write_jsonl("test_q.jsonl", rows))
    for row in rows:
        row["question"] = row["question"] + " (edited)"
    run = import_path(write_jsonl("test_q.jsonl", rows))
    assert run.updated == {"question": 2}
    questions = Question.objects.filter(qid__in=[r["qid"] for r in rows]).select_related("comment")
    assert len({q.comment_id for q in questions}) == 2
    for question in questions:
        assert question.comment.thread_id == question.thread_id and question.text.endswith("(edited)")
