"""Bad input: every invalid record is reported with file, line, field and reason, and nothing is half-written."""

import gzip

import orjson
import pytest
from django.db import IntegrityError

from corpus.importers import import_path, pipeline, writer
from corpus.importers.base import MAX_LINE_BYTES, MAX_TEXT_CHARS
from corpus.models import Comment, ImportRun, Post, Question, Thread

pytestmark = pytest.mark.django_db


def only_error(run):
    assert run.error_count == len(run.errors) == 1, run.errors
    return run.errors[0]


def lonely(records):
    """Return records whose post has exactly one question record (so a rejected one leaves no row behind)."""
    by_post = {}
    for record in records:
        by_post.setdefault(record["id_post"], []).append(record)
    return [rows[0] for rows in by_post.values() if len(rows) == 1]


@pytest.fixture
def three(question_records):
    """Three records of three different posts."""
    return [dict(record) for record in lonely(question_records)[:3]]


def assert_only_imported(records):
    assert set(Question.objects.values_list("qid", flat=True)) == {r["qid"] for r in records}
    assert set(Post.objects.values_list("post_id", flat=True)) == {r["id_post"] for r in records}
    assert set(Thread.objects.values_list("thread_id", flat=True)) == {r["thread_id"] for r in records}
    assert Comment.objects.count() == len(records)


def test_it_reports_a_malformed_json_line_and_imports_the_rest(write_jsonl, three):
    path = write_jsonl("bad_json.jsonl", [three[0], b'{"qid": "t_x-0-c0-q0", "question": ', three[2]])
    run = import_path(path)
    error = only_error(run)
    assert (error["file"], error["line"], error["field"]) == ("bad_json.jsonl", 2, "-")
    assert error["reason"].startswith("malformed JSON")
    assert (run.records_read, run.rejected) == (3, 1)
    assert_only_imported([three[0], three[2]])


def test_it_reports_a_wrong_type_with_its_field(write_jsonl, three):
    three[1]["comment_score"] = "high"
    run = import_path(write_jsonl("types.jsonl", three))
    assert only_error(run) == {
        "file": "types.jsonl", "line": 2, "field": "comment_score", "reason": "expected an integer, got string"
    }
    assert_only_imported([three[0], three[2]])


def test_it_reports_a_wrong_type_inside_earlier_turns(write_jsonl, three):
    three[0]["prev_additional_contexts"] = [{"question": 7, "patient_answer": None}]
    run = import_path(write_jsonl("nested.jsonl", three))
    error = only_error(run)
    assert (error["line"], error["field"]) == (1, "prev_additional_contexts[0].question")


def test_it_reports_every_problem_of_a_record_but_rejects_it_once(write_jsonl, three):
    del three[0]["question"]
    three[0]["turn_count"] = -1
    run = import_path(write_jsonl("many.jsonl", three))
    assert run.rejected == 1
    assert {(e["line"], e["field"], e["reason"]) for e in run.errors} == {
        (1, "question", "missing required field"), (1, "turn_count", "-1 is outside 0..32,767"),
    }


def test_it_reports_a_missing_required_field(write_jsonl, three):
    del three[2]["thread_id"]
    run = import_path(write_jsonl("missing.jsonl", three))
    expected = {"file": "missing.jsonl", "line": 3, "field": "thread_id", "reason": "missing required field"}
    assert only_error(run) == expected
    assert_only_imported(three[:2])


def test_it_rejects_a_duplicate_id_with_conflicting_content_naming_both_lines(write_jsonl, three):
    changed = dict(three[0], question="A different question?")
    run = import_path(write_jsonl("dupes.jsonl", [three[0], three[1], changed]))
    error = only_error(run)
    assert (error["line"], error["field"]) == (3, "qid")
    assert "line 1 has this qid" in error["reason"] and three[0]["qid"] in error["reason"]
    assert Question.objects.get(qid=three[0]["qid"]).text == three[0]["question"]


def test_it_reports_identical_duplicates_as_skipped(write_jsonl, three):
    run = import_path(write_jsonl("same.jsonl", [three[0], three[1], three[0]]))
    assert (run.rejected, run.skipped, run.error_count) == (0, 1, 0)
    assert run.warnings == [{
        "file": "same.jsonl", "line": 3, "field": "qid",
        "reason": f"skipped: identical duplicate of line 1 (qid {three[0]['qid']!r})",
    }]
    assert not run.has_problems


def test_it_rejects_records_that_disagree_on_their_shared_post(write_jsonl, question_records):
    shared = [r["id_post"] for r in question_records]
    post_id = next(p for p in shared if shared.count(p) > 1)
    first, second = [dict(r) for r in question_records if r["id_post"] == post_id][:2]
    second["title"] = "Another title"
    run = import_path(write_jsonl("shared.jsonl", [first, second]))
    error = only_error(run)
    assert (error["line"], error["field"]) == (2, "title")
    assert "differs from line 1" in error["reason"] and post_id in error["reason"]


def one_comment_with_questions(records, at_least=3):
    """Return copies of the records of the first comment that carries several questions (same post and thread)."""
    for record in records:
        mine = [r for r in records if (r["thread_id"], r["comment_id"]) == (record["thread_id"], record["comment_id"])]
        if len(mine) >= at_least:
            return [dict(r) for r in mine]
    raise AssertionError("no such comment")


@pytest.mark.parametrize(("field", "value"), [
    ("post", "A different post body."),  # post
    ("total_score", 12345),  # thread
    ("comment_body", "A different comment."),  # comment
])
def test_a_record_that_differs_from_the_one_before_it_on_a_shared_row_is_caught(
    write_jsonl, question_records, field, value
):
    # Records of one comment follow each other: a change in the post, thread or comment is caught against the first
    # sighting, and a rejected record never becomes the reference.
    first, second, third = one_comment_with_questions(question_records)[:3]
    second[field] = value
    third[field] = value  # the same as the rejected record before it, still not the first sighting
    run = import_path(write_jsonl("shared.jsonl", [first, second, third]))
    assert run.rejected == 2
    assert [(e["line"], e["field"]) for e in run.errors] == [(2, field), (3, field)]
    assert all("differs from line 1" in e["reason"] for e in run.errors)
    assert set(Question.objects.values_list("qid", flat=True)) == {first["qid"]}


def test_a_record_after_a_rejected_one_is_checked_against_the_first_sighting(write_jsonl, question_records):
    first, second, third = one_comment_with_questions(question_records)[:3]
    second["title"] = "Another title"
    run = import_path(write_jsonl("shared.jsonl", [first, second, third]))
    assert [(e["line"], e["field"]) for e in run.errors] == [(2, "title")]
    assert set(Question.objects.values_list("qid", flat=True)) == {first["qid"], third["qid"]}


def test_a_shared_row_that_comes_back_after_another_is_still_checked(write_jsonl, question_records):
    first, second = one_comment_with_questions(question_records)[:2]
    other = next(dict(r) for r in question_records if r["id_post"] != first["id_post"])
    second["title"] = "Another title"
    run = import_path(write_jsonl("shared.jsonl", [first, other, second]))
    assert [(e["line"], e["field"]) for e in run.errors] == [(3, "title")]


def test_it_names_the_line_with_bytes_that_are_not_utf8(write_jsonl, three):
    bad = orjson.dumps(three[1]).replace(b'"question":"', b'"question":"\xff\xfe', 1)
    run = import_path(write_jsonl("latin.jsonl", [three[0], bad, three[2]]))
    error = only_error(run)
    assert (error["line"], error["field"]) == (2, "-")
    assert error["reason"].startswith("not valid UTF-8: byte 0xff at column ")
    assert_only_imported([three[0], three[2]])


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_it_reports_an_empty_file(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    run = import_path(path)
    assert only_error(run) == {"file": "empty.jsonl", "line": 0, "field": "-", "reason": "empty file: no records"}
    assert run.has_problems and run.status == ImportRun.Status.DONE


def test_it_rejects_a_5_mb_post_with_the_size_limit(write_jsonl, three):
    three[1]["post"] = "x" * (5 * 1024 * 1024)
    run = import_path(write_jsonl("huge.jsonl", three))
    error = only_error(run)
    assert (error["line"], error["field"]) == (2, "post")
    assert error["reason"] == f"5,242,880 characters, over the {MAX_TEXT_CHARS:,}-character limit for this field"
    assert_only_imported([three[0], three[2]])


def test_it_skips_a_line_over_the_line_limit_without_reading_it_whole(write_jsonl, three):
    huge = b'{"post": "' + b"y" * (MAX_LINE_BYTES + 10) + b'"}'
    run = import_path(write_jsonl("long_line.jsonl", [three[0], huge, three[2]]))
    error = only_error(run)
    assert (error["line"], error["field"]) == (2, "-") and "8 MB limit" in error["reason"]
    assert_only_imported([three[0], three[2]])


def test_it_decompresses_gzip_transparently_and_says_so(write_jsonl, three):
    run = import_path(write_jsonl("test_q.jsonl.gz", three, compress=True))
    assert (run.records_read, run.rejected, run.created["question"], run.split) == (3, 0, 3, "test")
    assert "gzip-compressed: decompressed while reading" in run.notes


def test_it_reports_a_corrupt_gzip_and_keeps_the_complete_records_before_it(tmp_path, three):
    data = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in three))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) - 12])  # cut off the end of the stream
    run = import_path(path)
    error = only_error(run)
    assert error["field"] == "-" and error["reason"].startswith("corrupt gzip data")
    assert error["line"] >= 1
    assert run.has_problems
    assert Question.objects.count() == error["line"] - 1  # every complete line before the damage
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"not gzip at all")
    assert only_error(import_path(garbage))["reason"].startswith("corrupt gzip data")


def test_it_rejects_a_file_of_the_wrong_format_as_a_whole(medqa):
    run = import_path(medqa, format="questions")
    error = only_error(run)
    assert (error["line"], error["field"]) == (1, "-")
    assert error["reason"].startswith("wrong format: this looks like medqa")
    assert run.created == {} and run.has_problems


def test_it_rejects_records_no_importer_knows(write_jsonl):
    run = import_path(write_jsonl("other.jsonl", [{"name": "x", "value": 1}]))
    assert only_error(run)["reason"].startswith("unknown format: no importer reads records with fields name, value")


def test_it_rejects_a_json_array_file(tmp_path, three):
    path = tmp_path / "array.json"
    path.write_bytes(orjson.dumps(three, option=orjson.OPT_INDENT_2))
    assert "JSON array, not JSON Lines" in only_error(import_path(path))["reason"]


def test_it_reports_a_line_that_is_not_an_object(write_jsonl, three):
    run = import_path(write_jsonl("scalar.jsonl", [three[0], b"42"]))
    assert only_error(run)["reason"] == "expected a JSON object per line, got int"


def test_a_database_refusal_rejects_that_record_alone_and_writes_none_of_it(write_jsonl, three, monkeypatch):
    target = three[1]["qid"]
    execute = writer.Inserter.execute

    def failing_insert(self, params):
        if target in params:
            raise IntegrityError("simulated constraint failure")
        return execute(self, params)

    monkeypatch.setattr(writer.Inserter, "execute", failing_insert)
    run = import_path(write_jsonl("refused.jsonl", three))
    error = only_error(run)
    assert (error["line"], error["field"]) == (2, "-")
    assert "the database refused the record: simulated constraint failure" in error["reason"]
    assert_only_imported([three[0], three[2]])  # not its post, thread or comment either


def test_a_crash_leaves_whole_chunks_and_a_rerun_resumes(write_jsonl, question_records, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 100)
    path = write_jsonl("test_q.jsonl", question_records)
    flush = writer.ChunkWriter.write
    calls = []

    def crash_on_third_chunk(self, units, fresh=None):
        calls.append(len(units))
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return flush(self, units, fresh)

    monkeypatch.setattr(writer.ChunkWriter, "write", crash_on_third_chunk)
    with pytest.raises(RuntimeError):
        import_path(path)
    failed = ImportRun.objects.get()
    assert failed.status == ImportRun.Status.FAILED and "worker killed" in failed.error
    written = set(Question.objects.values_list("qid", flat=True))
    assert len(written) == sum(calls[:2])
    # every record is whole: each written question has its comment, thread and post
    assert not Question.objects.filter(comment__isnull=True).exists()
    posts_with_questions = set(Question.objects.values_list("thread__post__post_id", flat=True))
    assert set(Post.objects.values_list("post_id", flat=True)) == posts_with_questions
    monkeypatch.setattr(writer.ChunkWriter, "write", flush)
    resumed = import_path(path)
    assert (resumed.unchanged, resumed.created["question"], resumed.rejected) == (len(written), 620 - len(written), 0)
    assert Question.objects.count() == 620


def test_chunks_end_between_posts(write_jsonl, question_records, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 50)
    sizes = []
    write = writer.ChunkWriter.write

    def spy(self, units, fresh=None):
        sizes.append({unit.post["post_id"] for unit in units})
        return write(self, units, fresh)

    monkeypatch.setattr(writer.ChunkWriter, "write", spy)
    import_path(write_jsonl("test_q.jsonl", question_records))
    seen = set()
    for posts in sizes:
        assert not posts & seen  # no post is split across two chunks
        seen |= posts
    assert len(sizes) > 5 and Question.objects.count() == 620
