"""Freezing a version: the filter selects rows, counts and hash are recorded, later edits never change it."""

import hashlib

import pytest

from dataversions.actions import DatasetError, do_create_version
from dataversions.building import canonical_bytes
from dataversions.models import VersionStatus
from dataversions.selection import SelectionError
from synthesis.models import PreferencePair

from .conftest import create_version

pytestmark = pytest.mark.django_db


def test_it_freezes_the_selected_pairs_with_counts_and_a_content_hash(pair_corpus):
    version = create_version(verdict="unfiltered")
    assert version.status == VersionStatus.READY, version.error
    assert version.row_count == PreferencePair.objects.count() == 36
    assert version.counts["split"] == {"train": 24, "validation": 6, "test": 6}
    assert version.counts["attribute"] == {"clarity": 18, "focus": 18}
    rows = [row.data for row in version.rows.order_by("position")]
    expected = hashlib.sha256(b"".join(canonical_bytes(row) + b"\n" for row in rows)).hexdigest()
    assert version.content_hash == expected
    assert [r["split"] for r in rows] == sorted((r["split"] for r in rows), key=["train", "validation", "test"].index)


def test_it_keeps_only_accepted_pairs_when_filtered(pair_corpus):
    accepted = PreferencePair.objects.filter(verdict="accepted").count()
    assert 0 < accepted < 36
    assert create_version().row_count == accepted


def test_it_selects_by_attribute_pair_type_and_split(pair_corpus):
    version = create_version(attributes=["focus"], pair_types=["enhanced_corrupted"], splits=["train"],
                             verdict="unfiltered")
    rows = list(version.rows.values_list("attribute", "pair_type", "split"))
    assert rows and set(rows) == {("focus", "enhanced_corrupted", "train")}


def test_it_renders_prompts_with_the_recorded_rendering(pair_corpus):
    threaded = create_version(verdict="unfiltered")
    bare = create_version("bare", verdict="unfiltered", rendering="post-nosys-v1")
    assert threaded.rendering == "thread-v1" and bare.rendering == "post-nosys-v1"
    with_turns = threaded.rows.filter(qid=pair_corpus[0].qid).first().data["prompt"]
    assert with_turns[0]["role"] == "system" and len(with_turns) == 4  # system, post, earlier question, answer
    assert [m["role"] for m in bare.rows.filter(qid=pair_corpus[0].qid).first().data["prompt"]] == ["user"]


def test_it_orders_rows_by_seed_and_reproduces_the_hash(pair_corpus):
    first, again = create_version(seed=1), create_version("again", seed=1)
    other = create_version("other", seed=2)
    assert first.content_hash == again.content_hash
    assert other.content_hash != first.content_hash and other.row_count == first.row_count


def test_old_versions_do_not_change_when_sources_change(pair_corpus):
    version = create_version(verdict="unfiltered")
    before = (version.content_hash, list(version.rows.values_list("data", flat=True)))
    PreferencePair.objects.update(chosen_text="edited afterwards")
    PreferencePair.objects.filter(attribute__key="focus").delete()
    version.refresh_from_db()
    assert (version.content_hash, list(version.rows.values_list("data", flat=True))) == before
    assert create_version("later", verdict="unfiltered").row_count == 18


def test_it_links_the_jobs_and_templates_rows_came_from(pair_corpus):
    version = create_version()
    assert version.templates.count() >= 3  # normalize, enhance_hindsight and corrupt of each attribute


def test_it_refuses_a_filter_that_selects_nothing_and_writes_nothing(pair_corpus):
    from dataversions.models import Dataset, DatasetVersion

    with pytest.raises(DatasetError, match="selects no rows"):
        do_create_version("empty", {"kind": "preference", "splits": ["test"], "attributes": ["answerability"]})
    assert not Dataset.objects.filter(name="empty").exists() and not DatasetVersion.objects.exists()


@pytest.mark.parametrize(("selection", "message"), [
    ({"attributes": ["kindness"]}, "Unknown attribute"), ({"pair_types": ["best_worst"]}, "Unknown pair_types"),
    ({"splits": ["holdout"]}, "Unknown splits"), ({"verdict": "maybe"}, "Unknown verdict: maybe"),
    ({"seed": -1}, "seed must be"), ({"colour": "red"}, r"Unknown Selection option\(s\): colour"),
    ({"rendering": "v9"}, "Unknown rendering"), ({"rendering": "external"}, "Unknown rendering"),
])
def test_it_refuses_a_bad_filter_with_a_clear_message(pair_corpus, selection, message):
    with pytest.raises(SelectionError, match=message):
        do_create_version("bad", {"kind": "preference", **selection})


def test_frozen_rows_and_ready_versions_refuse_changes(pair_corpus):
    version = create_version()
    row = version.rows.first()
    row.data = {"id": "tampered"}
    with pytest.raises(ValueError, match="cannot be changed"):
        row.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        version.delete()


def test_it_renders_a_pair_without_a_stored_context_from_its_question(pair_corpus):
    from corpus.rendering import render_messages

    pair = PreferencePair.objects.select_related("question__thread__post").order_by("pk").first()
    PreferencePair.objects.filter(pk=pair.pk).update(context=[])
    version = create_version(verdict="unfiltered")
    row = version.rows.get(row_id=pair.pair_id).data
    assert row["prompt"] == render_messages(pair.question.conversation(), version.rendering)
    assert row["prompt"][1]["content"].startswith(pair.question.thread.post.title)


@pytest.mark.postgres
def test_it_keeps_psycopg_from_counting_the_bulk_inserts_of_a_freeze(pair_corpus):
    from django.db import connection

    from dataversions.building import statements_not_counted

    if connection.vendor != "postgresql":
        pytest.skip("psycopg's statement counter: run with DATABASE_URL=postgresql://...")
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    assert threshold is not None  # settings set one for the annotation hot path
    with statements_not_counted():
        assert connection.connection.prepare_threshold is None
    assert connection.connection.prepare_threshold == threshold
