"""Case sets: a gold release with its fixed chief complaints, snapshots that a later change cannot alter."""

import pytest

from annotation.models import BenchmarkRelease, ReleaseItem
from evaluation.casesets import CaseSetError, get_case_set
from evaluation.models import CaseSet, InitialInfo

from .helpers import mediq_records, write_jsonl

pytestmark = pytest.mark.django_db


def test_it_snapshots_a_gold_release_with_its_chief_complaints(lead):
    release = BenchmarkRelease.objects.create(name="gold-v1", created_by=lead, item_count=2, sha256="0" * 64)
    for position, record in enumerate(mediq_records(2)):
        record["initial_info"] = f"Fever and a dry cough for three days ({position})."
        ReleaseItem.objects.create(release=release, case_id=record["id"], gold_version=1, position=position,
                                   record=record)
    case_set = get_case_set("release:gold-v1")
    assert case_set.size == 2 and case_set.initial_info == InitialInfo.RECORD and case_set.source == "release"
    assert case_set.items.get(position=1).initial_info == "Fever and a dry cough for three days (1)."
    with pytest.raises(CaseSetError, match="No benchmark release"):
        get_case_set("release:missing")


def test_it_keeps_a_runs_snapshot_when_the_file_changes(tmp_path):
    path = write_jsonl(tmp_path / "cases.jsonl", mediq_records(2))
    first = get_case_set(str(path))
    records = mediq_records(2)
    records[0]["answer_idx"], records[0]["answer"] = "B", "Appendicitis"
    write_jsonl(path, records)
    second = get_case_set(str(path))
    assert first.pk != second.pk and first.name == second.name == "cases"
    assert first.items.get(position=0).answer_idx == "A" and second.items.get(position=0).answer_idx == "B"
    assert get_case_set("cases") == second  # a name resolves to its newest snapshot
    assert CaseSet.objects.count() == 2


def test_it_refuses_duplicate_ids_and_unknown_names(tmp_path):
    path = write_jsonl(tmp_path / "twice.jsonl", mediq_records(1) * 2)
    with pytest.raises(CaseSetError, match="appears twice"):
        get_case_set(str(path))
    with pytest.raises(CaseSetError, match="No case set named"):
        get_case_set("nothing-here")
    with pytest.raises(CaseSetError, match="No such case file"):
        get_case_set(str(tmp_path / "missing.jsonl"))
