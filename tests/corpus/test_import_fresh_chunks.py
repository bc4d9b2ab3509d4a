"""Chunks whose rows are all new are inserted from values prepared on the reading thread (SQLite), and every
other chunk, or a plan that the database refuses, takes the general path with the same outcome."""

import pytest
from django.db import connection

from corpus.importers import import_path, pipeline, writer
from corpus.models import Comment, Post, Question, RecordChange, Thread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="fresh chunks are planned on SQLite only"),
]


@pytest.fixture
def paths(monkeypatch):
    """Count the chunks written by each path."""
    taken = {"fresh": 0, "general": 0}
    execute, write_units = writer.FreshChunk.execute, writer.ChunkWriter.write_units

    def fresh(self):
        taken["fresh"] += 1
        return execute(self)

    def general(self, units):
        taken["general"] += 1
        return write_units(self, units)

    monkeypatch.setattr(writer.FreshChunk, "execute", fresh)
    monkeypatch.setattr(writer.ChunkWriter, "write_units", general)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 100)
    return taken


def stored_rows():
    """Every stored row, by natural keys (pks differ between two imports), in a comparable form."""
    querysets = (
        Post.objects.values_list("post_id", "title", "body", "author_pseudonym", "split", "content_hash"),
        Thread.objects.values_list(
            "thread_id", "post__post_id", "search_text", "question_count", "has_credentialed_author", "derived",
            "verified_author_flairs", "content_hash",
        ),
        Comment.objects.values_list("thread__thread_id", "comment_id", "body", "derived", "content_hash"),
        Question.objects.values_list(
            "qid", "thread__thread_id", "comment__comment_id", "text", "derived", "previous_turns", "content_hash"
        ),
    )
    return [sorted(repr(row) for row in queryset) for queryset in querysets]


def test_a_new_file_is_written_in_fresh_chunks_with_the_general_paths_rows(test_q, paths, monkeypatch):
    run = import_path(test_q)
    assert paths["general"] == 0 and paths["fresh"] > 5
    assert run.created == {"post": 192, "thread": 302, "comment": 382, "question": 620}
    fresh_rows = stored_rows()
    Post.objects.all().delete()
    monkeypatch.setattr(writer.ChunkWriter, "plan_fresh", lambda self, units: None)
    again = import_path(test_q)
    assert again.created == run.created
    assert stored_rows() == fresh_rows


def test_a_reimport_takes_the_general_path_and_changes_nothing(test_q, paths):
    import_path(test_q)
    paths.update(fresh=0, general=0)
    again = import_path(test_q)
    assert paths["fresh"] == 0 and paths["general"] > 5
    assert (again.created, again.updated, again.unchanged) == ({}, {}, 620)


def test_a_post_seen_in_an_earlier_chunk_sends_the_chunk_to_the_general_path(write_jsonl, question_records, paths):
    by_post = {}
    for record in question_records:
        by_post.setdefault(record["id_post"], []).append(record)
    split = next(records for records in by_post.values() if len(records) >= 2)
    rest = [record for record in question_records if record["id_post"] != split[0]["id_post"]]
    # the post's first record opens the file, its others close it: two chunks hold the same post
    run = import_path(write_jsonl("scattered.jsonl", [split[0], *rest, *split[1:]]))
    assert paths["general"] >= 1 and paths["fresh"] >= 1
    assert (run.rejected, run.created["question"], run.created["post"]) == (0, 620, 192)


def test_a_row_written_by_another_import_after_the_plan_falls_back_to_the_general_path(test_q, paths, monkeypatch):
    plan_fresh = writer.ChunkWriter.plan_fresh
    intruder = []

    def plan_then_intrude(self, units):
        fresh = plan_fresh(self, units)
        if fresh is not None and not intruder:
            unit = units[0]
            intruder.append(Post.objects.create(
                post_id=unit.post["post_id"], title="written meanwhile", body="by another import",
                author_pseudonym="", split="test", content_hash="other",
            ))
        return fresh

    monkeypatch.setattr(writer.ChunkWriter, "plan_fresh", plan_then_intrude)
    run = import_path(test_q)
    assert paths["general"] == 1
    assert run.rejected == 0 and Question.objects.count() == 620
    assert (run.created["post"], run.updated["post"]) == (191, 1)
    change = RecordChange.objects.get(model="post")
    assert change.changes["title"][0] == "written meanwhile"
