"""Fixtures for the corpus import tests: the shared files, their records, and writers of small test files."""

import gzip
from pathlib import Path

import orjson
import pytest


@pytest.fixture(scope="session")
def test_q(shared_data):
    return Path(shared_data) / "askdocs" / "test_q.jsonl"


@pytest.fixture(scope="session")
def askdocs_mcq(shared_data):
    return Path(shared_data) / "mediq" / "askdocs_mcq.jsonl"


@pytest.fixture(scope="session")
def medqa(shared_data):
    return Path(shared_data) / "mediq" / "medqa_dev_convo.jsonl"


@pytest.fixture(scope="session")
def question_records(test_q):
    """The 620 records of test_q.jsonl, parsed (tests copy before changing them)."""
    with open(test_q, "rb") as handle:
        return [orjson.loads(line) for line in handle]


@pytest.fixture
def write_jsonl(tmp_path):
    """Return write(name, records_or_lines, gzip=False) -> Path; records are dicts, bytes lines are written as is."""

    def write(name, rows, compress=False):
        data = b"".join((row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n" for row in rows)
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if compress else data)
        return path

    return write
