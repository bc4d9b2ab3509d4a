"""The thread-level format: the documented example, its checks, and a lossless export/import round trip."""

import io

import orjson
import pytest

from corpus.importers import export_threads, import_path
from corpus.models import Comment, Post, Question, RecordChange, Thread

pytestmark = pytest.mark.django_db

EXAMPLE = {
    "thread_id": "t_abc1234-0",
    "id_post": "x1y2z3",
    "title": "Sharp pain under my right ribs after meals",
    "post": "28F. For two weeks I get a sharp pain under my right ribs about an hour after fatty meals.",
    "author": "pain_poster",
    "split": "test",
    "created_utc": 1650000000,
    "final_diagnosis": "Biliary colic",
    "conclusion": "Likely gallstones; see your doctor for an ultrasound.",
    "convo": [
        {
            "comment_id": "abc1234", "author": "doc_one", "role": "doctor", "flair": "Physician",
            "body": "Does the pain spread to your back or shoulder? Any fever?",
            "questions": [
                {"question": "Does the pain spread to your back or shoulder?",
                 "patient_answer": "Yes, to my right shoulder.", "question_type": "Hypotheses testing",
                 "hypotheses": ["biliary colic"]},
                {"question": "Any fever?", "patient_answer": None, "question_type": "followup"},
            ],
        },
        {"comment_id": "abc1235", "author": "pain_poster", "role": "patient",
         "body": "Yes, to my right shoulder, thanks doc_one."},
        {
            "comment_id": "abc1236", "author": "doc_one", "role": "doctor", "flair": "Physician",
            "body": "Have you had an ultrasound?",
            "questions": [{"question": "Have you had an ultrasound?", "patient_answer": "Not yet.",
                           "question_type": "Checklist"}],
        },
    ],
}


def test_it_imports_the_documented_example(write_jsonl):
    run = import_path(write_jsonl("threads.jsonl", [EXAMPLE]))
    assert (run.format, run.rejected) == ("threads", 0), run.errors
    assert run.created == {"post": 1, "thread": 1, "comment": 3, "question": 3}
    assert sorted(Question.objects.values_list("qid", flat=True)) == [
        "t_abc1234-0-c0-q0", "t_abc1234-0-c0-q1", "t_abc1234-0-c2-q0"
    ]
    later = Question.objects.get(qid="t_abc1234-0-c2-q0")
    assert later.previous_turns == [
        {"question": "Does the pain spread to your back or shoulder?", "patient_answer": "Yes, to my right shoulder."},
        {"question": "Any fever?", "patient_answer": None},
    ]
    assert Question.objects.get(qid="t_abc1234-0-c0-q1").question_type == "Followup"
    assert run.normalizations["question_type: case or spacing fixed"] == 1
    thread = Thread.objects.get()
    assert (thread.turn_count, thread.question_count, thread.has_credentialed_author) == (3, 3, True)
    assert thread.post.split == "test"
    patient = Comment.objects.get(comment_id="abc1235")
    assert patient.is_post_author and patient.parent_id == "t1_abc1234"
    assert "doc_one" not in patient.body and patient.author_pseudonym == Post.objects.get().author_pseudonym
    assert not Comment.objects.filter(author_pseudonym__in=["doc_one", "pain_poster"]).exists()


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda r: r["convo"][1].update(role="nurse"), "convo[1].role", "'nurse' is not doctor or patient"),
        (lambda r: r["convo"][1].update(questions=[{"question": "q?", "question_type": "Other"}]),
         "convo[1].questions", "only doctor turns hold questions"),
        (lambda r: r["convo"][2].update(turn=0), "convo[2].turn", "turn 0 does not follow turn 1"),
        (lambda r: r["convo"][2].update(comment_id="abc1234"), "convo[2].comment_id",
         "'abc1234' appears twice in convo"),
        (lambda r: r["convo"][0]["questions"][0].pop("question_type"), "convo[0].questions[0].question_type",
         "missing required field"),
        (lambda r: r.update(author_pseudonym="u_123"), "author_pseudonym",
         "expected u_ and 12 hex digits (or [deleted])"),
        (lambda r: r.update(split="holdout"), "split", "'holdout' is not one of train, validation, test, unassigned"),
        (lambda r: r.update(convo="none"), "convo", "expected an array, got string"),
    ],
)
def test_it_reports_bad_thread_records_by_field(write_jsonl, change, field, reason):
    record = orjson.loads(orjson.dumps(EXAMPLE))
    change(record)
    run = import_path(write_jsonl("threads.jsonl", [record]), format="threads")
    assert run.rejected == 1
    assert {"file": "threads.jsonl", "line": 1, "field": field, "reason": reason} in run.errors
    assert not Thread.objects.exists()


def test_a_record_split_must_agree_with_a_named_split(write_jsonl):
    run = import_path(write_jsonl("threads.jsonl", [EXAMPLE]), split="train")
    assert run.errors == [{"file": "threads.jsonl", "line": 1, "field": "split",
                           "reason": "'test' disagrees with the import's split 'train'"}]


def export_all():
    out = io.BytesIO()
    export_threads(out)
    return out.getvalue()


def snapshot():
    """Return every stored field of the corpus rows, keyed by natural ids (no primary keys)."""
    skip = {"id", "pk", "post", "thread", "comment", "content_hash"}

    def rows(model, key):
        return {
            key(row): {name: value for name, value in row.items() if name not in skip}
            for row in model.objects.values(
                *[f.attname for f in model._meta.concrete_fields if f.attname not in skip],
                "thread__thread_id" if model in (Comment, Question) else "pk",
            )
        }

    def without(mapping, *names):
        return {key: {n: v for n, v in row.items() if n not in names} for key, row in mapping.items()}

    return {
        "posts": rows(Post, lambda r: r["post_id"]),
        "threads": without(rows(Thread, lambda r: r["thread_id"]), "post_id"),
        "comments": without(rows(Comment, lambda r: (r["thread__thread_id"], r["comment_id"])), "thread_id"),
        "questions": without(rows(Question, lambda r: r["qid"]), "thread_id", "comment_id"),
    }


def test_threads_round_trip_through_the_thread_format(test_q, tmp_path):
    import_path(test_q)
    before = snapshot()
    data = export_all()
    assert data.count(b"\n") == 302
    path = tmp_path / "threads_export.jsonl"
    path.write_bytes(data)
    # importing the export over the same rows changes nothing
    same = import_path(path)
    assert (same.format, same.created, same.updated, same.unchanged, same.rejected) == ("threads", {}, {}, 302, 0)
    # into an empty corpus it rebuilds the same rows
    Post.objects.all().delete()
    again = import_path(path)
    assert again.created == {"post": 192, "thread": 302, "comment": 382, "question": 620}
    assert snapshot() == before
    assert export_all() == data
    assert not RecordChange.objects.exists()

