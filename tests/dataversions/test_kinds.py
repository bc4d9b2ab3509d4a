"""SFT, expert-judgment and interactive versions; pairs filtered by expert agreement."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from annotation.actions import do_create_campaign, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.pairs import PairSelection, do_add_synthesis_pairs
from dataversions.actions import do_export_version
from dataversions.building import annotator_pseudonym
from tests.annotation.factories import create_case

from .conftest import create_version, run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def export_lines(version, fmt, files="jsonl", split="train"):
    with run_queued_jobs():
        export = do_export_version(version, fmt, files)
    export.refresh_from_db()
    return [json.loads(line) for line in (Path(settings.VAR_DIR) / export.folder / f"{split}.jsonl").open()]


@pytest.fixture
def judged(pair_corpus, lead, annotator, second_annotator):
    """A campaign over the clarity enhanced>corrupted pairs: both experts prefer the chosen text, except on t1."""
    campaign = do_create_campaign(name="Experts", created_by=lead, annotators=[annotator, second_annotator],
                                  gold_rate=0.0, overlap=2)
    do_add_synthesis_pairs(campaign, PairSelection(attributes=["clarity"], pair_types=["enhanced_corrupted"]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    for user in (annotator, second_annotator):
        while (assignment := do_assign_next_item(campaign, user)) is not None:
            agrees = not assignment.item.question.qid.startswith("t1-")
            pick = "left" if assignment.left_is_a == agrees else "right"
            do_submit_assignment(assignment, [{"attribute": "clarity", "pick": pick, "rationale": "why"}])
    return campaign


def test_it_builds_real_sft_rows_with_the_doctor_question_as_completion(pair_corpus):
    version = create_version("sft", kind="sft", splits=["train"])
    assert version.row_count == 4
    row = export_lines(version, "sft")[0]
    assert row["messages"][-1] == {"role": "assistant", "content": "Any vision changes before the pain starts?"}
    assert row["messages"][0]["role"] == "system" and row["source"] == "real"


def test_it_builds_synthetic_sft_from_originals_and_enhanced_rewrites(pair_corpus):
    version = create_version("synthetic", kind="sft", sft_source="synthetic", verdict="unfiltered")
    ids = set(version.rows.values_list("row_id", flat=True))
    qid = pair_corpus[0].qid
    assert {f"{qid}_original", f"{qid}_clarity", f"{qid}_focus"} <= ids and version.row_count == 18
    authors = export_lines(version, "authors")[0]
    assert set(authors) == {"id", "system", "context", "question", "messages"}


def test_it_keeps_only_pairs_whose_expert_majority_agrees(judged):
    judged_only = create_version("judged", agreement="judged")
    agreeing = create_version("agreeing", agreement="agrees")
    assert judged_only.row_count == 6 and agreeing.row_count == 5
    assert not agreeing.rows.filter(qid__startswith="t1-").exists()
    assert agreeing.campaigns.filter(pk=judged.pk).exists()
    assert judged_only.counts["agreement"] == {"clarity": {"judged": 6, "agrees": 5}}


def test_it_exports_every_raw_judgment_with_pseudonyms_and_shown_order(judged, annotator):
    version = create_version("judgments", kind="judgments", campaigns=[judged.pk])
    assert version.row_count == 12
    rows = [row for split in ("train", "validation", "test") for row in export_lines(version, "judgments",
                                                                                      split=split)]
    mine = [row for row in rows if row["annotator"] == annotator_pseudonym(annotator.pk)]
    assert len(mine) == 6 and annotator.username not in json.dumps(rows)
    assert {row["shown_left"] for row in rows} <= {"a", "b"} and all(row["rationale"] == "why" for row in rows)
    assert {row["choice"] for row in rows} == {"a", "b"} and rows[0]["time_ms"] is None


def test_it_exports_the_judgments_as_parquet_too(judged):
    import pyarrow.parquet as pq

    version = create_version("judgments", kind="judgments", campaigns=[judged.pk])
    with run_queued_jobs():
        export = do_export_version(version, "judgments", "parquet")
    export.refresh_from_db()
    assert pq.read_table(Path(settings.VAR_DIR) / export.folder / "train.parquet").num_rows == 8


def test_it_builds_the_interactive_benchmark_as_mediq_jsonl(db, catalogue):
    create_case("t_a-0"), create_case("t_b-0", answer_idx="C")
    version = create_version("mediq", kind="interactive")
    rows = export_lines(version, "mediq", split="test")
    assert {row["id"] for row in rows} == {"t_a-0", "t_b-0"}
    assert {"question", "options", "answer_idx", "answer", "context", "atomic_facts", "initial_info"} <= set(rows[0])


def test_it_builds_the_interactive_benchmark_from_a_gold_release(db, catalogue):
    from annotation.models import BenchmarkRelease, ReleaseItem

    release = BenchmarkRelease.objects.create(name="askdocs-gold-v1", item_count=1, sha256="x")
    record = {"id": "t_a-0", "question": "What next?", "options": {"A": "Wait", "B": "See a doctor"},
              "answer": "See a doctor", "answer_idx": "B", "atomic_facts": ["Red calf."], "context": ["Red calf."],
              "initial_info": "A red, warm calf since yesterday.", "original_post": "Red calf", "usage": {}}
    ReleaseItem.objects.create(release=release, case_id="t_a-0", gold_version=2, position=0, record=record)
    version = create_version("gold", kind="interactive", release="askdocs-gold-v1")
    [row] = export_lines(version, "mediq", split="test")
    assert row["initial_info"] == "A red, warm calf since yesterday." and row["source"] == "release:askdocs-gold-v1"
    from dataversions.selection import SelectionError

    with pytest.raises(SelectionError, match="No benchmark release"):
        create_version("gold", kind="interactive", release="nope")
