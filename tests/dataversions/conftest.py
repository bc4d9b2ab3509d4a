"""Dataset-version fixtures: a small corpus with real rewrites, judge rankings and pairs in every split."""

import pytest
from django.test import TestCase

from corpus.models import Split
from tests.synthesis.conftest import catalogue, make_question, tiny_model_dir  # noqa: F401
from tests.synthesis.helpers import make_triple

# The judge ranks enhanced > original > corrupted, so the verdict of every pair is "accepted".
AGREEING = {"enhanced": 1, "original": 2, "corrupted": 3}


@pytest.fixture
def pair_corpus(catalogue):  # noqa: F811
    """Six questions (four train, one validation, one test) with clarity and focus triples: 36 pairs."""
    splits = [Split.TRAIN] * 4 + [Split.VALIDATION, Split.TEST]
    questions = [make_question(n, split=split, turns=n % 2) for n, split in enumerate(splits, start=1)]
    for question in questions:
        make_triple(question, "clarity", ranks=AGREEING)
        make_triple(question, "focus", ranks=AGREEING if question.pk % 3 else None)
    return questions


def run_queued_jobs():
    """Run the jobs queued in the block when it ends (a test transaction never commits, so on_commit waits)."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def create_version(name="pairs", **selection):
    from dataversions.actions import do_create_version

    with run_queued_jobs():
        version = do_create_version(name, {"kind": "preference", **selection})
    version.refresh_from_db()
    return version
