"""The typed decoder of question records: the same rules as the Python checks, and a fallback that names problems."""

import msgspec
import orjson
import pytest

from corpus.importers import import_path
from corpus.importers.base import DECODE_ERRORS
from corpus.importers.questions import ABSENT, CHECK_RECORD, QuestionRecordParser
from corpus.models import Question, Thread

decode = QuestionRecordParser.decoder


def test_the_decoder_reads_every_real_record_as_the_python_checks_do(test_q):
    with open(test_q, "rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            assert CHECK_RECORD(record) == []
            assert decode(line) == ABSENT | record


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("comment_score", "high"),  # wrong type
        ("turn_count", 40_000),  # outside the column's range
        ("title", "x" * 2_001),  # over the length limit
        ("has_final_diagnosis", 2),  # a flag is true/false or 0/1
        ("verified_author_flairs", ["ok", 3]),
        ("qid", None),  # required, not nullable
        ("an_unknown_field", 1),  # reported in the run's notes, so the decoder must not drop it silently
    ],
)
def test_the_decoder_refuses_what_the_python_checks_refuse_or_must_report(question_records, field, value):
    record = {**question_records[0], field: value}
    with pytest.raises(DECODE_ERRORS):
        decode(orjson.dumps(record))


def test_the_decoder_refuses_a_missing_required_field_and_bytes_that_are_not_utf8(question_records):
    record = dict(question_records[0])
    del record["thread_id"]
    with pytest.raises(msgspec.ValidationError):
        decode(orjson.dumps(record))
    with pytest.raises(DECODE_ERRORS):
        decode(b'{"qid": "\xff"}')


@pytest.mark.django_db
def test_a_record_the_decoder_refuses_but_the_rules_accept_is_imported(write_jsonl, question_records):
    record = {**question_records[0], "turn_count": 3.0, "comment_score": 2.0}  # integral floats: integers to us
    run = import_path(write_jsonl("floats.jsonl", [record]))
    assert (run.rejected, run.created["question"]) == (0, 1)
    assert Thread.objects.get(thread_id=record["thread_id"]).turn_count == 3


@pytest.mark.django_db
def test_a_record_the_decoder_refuses_is_reported_with_its_field(write_jsonl, question_records):
    records = [dict(record) for record in question_records[:2]]
    records[1]["comment_score"] = True
    run = import_path(write_jsonl("bool.jsonl", records))
    assert run.errors == [{
        "file": "bool.jsonl", "line": 2, "field": "comment_score", "reason": "expected an integer, got boolean",
    }]
    assert Question.objects.filter(qid=records[0]["qid"]).exists()


@pytest.mark.django_db
def test_an_absent_optional_field_and_an_explicit_null_make_identical_duplicates(write_jsonl, question_records):
    first = {**question_records[0], "year": None}
    second = {key: value for key, value in first.items() if key != "year"}
    run = import_path(write_jsonl("dup.jsonl", [first, second]))
    assert (run.rejected, run.skipped) == (0, 1)
