"""Synthesis fixtures: a tiny offline model (built once per session), its endpoint, and a small corpus."""

import pytest

from corpus.models import Comment, Post, Question, Split, Thread
from synthesis.models import Backend, ModelEndpoint


@pytest.fixture
def catalogue(db):
    """The attribute catalogue and its templates; reloaded when a transactional test has flushed the tables.

    Transactional tests (real workers, the browser) empty every table on teardown, data migrations included.
    """
    from importlib import import_module

    from django.apps import apps

    from synthesis.models import Attribute

    if not Attribute.objects.exists():
        for migration in ("0002_catalogue_v1", "0005_catalogue_v2"):
            import_module(f"synthesis.migrations.{migration}").load(apps, None)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A ~100k-parameter random Llama with a BPE tokenizer and chat template, saved to disk (no network)."""
    from synthesis.tiny_model import build_tiny_model

    path = tmp_path_factory.mktemp("tiny-model")
    build_tiny_model(path)
    return path


@pytest.fixture
def tiny_endpoint(db, tiny_model_dir):
    return ModelEndpoint.objects.create(
        name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu", batch_size=4,
        default_sampling={"max_tokens": 12, "temperature": 1.0, "seed": 0},
        is_default_generator=True, is_default_judge=True,
    )


def make_question(number, split=Split.TRAIN, turns=0, diagnosis="Migraine"):
    """Create a post, a thread, a doctor comment and its question through the ORM."""
    post = Post.objects.create(
        post_id=f"p{number}", title=f"Headache for {number} days", author_pseudonym="anon", split=split,
        body=f"I have had a throbbing headache on one side for {number} days, worse with light.", content_hash="x",
    )
    thread = Thread.objects.create(
        thread_id=f"t{number}", post=post, final_diagnosis=diagnosis, conclusion="Seen by a neurologist.",
        has_final_diagnosis=bool(diagnosis), content_hash="x",
    )
    comment = Comment.objects.create(
        thread=thread, comment_id=f"c{number}", author_pseudonym="doc", content_hash="x",
        body=f"That sounds unpleasant. Any vision changes before the pain starts? (case {number})",
    )
    previous = [{"question": f"How old are you? ({k})", "patient_answer": "34"} for k in range(turns)]
    return Question.objects.create(
        qid=f"t{number}-c{turns}-q0", thread=thread, comment=comment, turn_index=turns, content_hash="x",
        text="Any vision changes before the pain starts?", previous_turns=previous,
    )


@pytest.fixture
def questions(db):
    return [make_question(n, turns=n % 2) for n in range(1, 4)]
