"""JSONL import of comparison items: formats, line-numbered errors, all-or-nothing, idempotence."""

import gzip
import json

import pytest

from annotation.actions import ImportRejected, do_create_campaign, do_import_items
from annotation.models import Choice, ComparisonItem
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(lead):
    return do_create_campaign(name="Import test", created_by=lead)


def test_it_imports_rows_with_context_turns_and_hidden_sources(campaign):
    report = do_import_items(campaign, jsonl([comparison_row(0), comparison_row(1, attribute="focus", gold="B")]))
    assert (report.created, report.unchanged, report.gold) == (2, 0, 1)
    item = ComparisonItem.objects.get(external_id="pair-0")
    assert item.post_title == "Rash on my arm (0)"
    assert item.turns == [{"question": "Is it raised?", "patient_answer": "Yes, a little."}]
    assert (item.source_a, item.source_b, item.position) == ("enhanced", "corrupted", 1)
    gold = ComparisonItem.objects.get(external_id="pair-1")
    assert gold.is_gold and gold.gold_choice == Choice.B and gold.attribute == "focus"
    campaign.refresh_from_db()
    assert campaign.item_count == 2


def test_it_accepts_string_and_message_list_contexts(campaign):
    rows = [
        {"context": "Just a post", "question_a": "Q1?", "question_b": "Q2?", "attribute": "overall"},
        {"context": [{"role": "user", "content": "Title and post"}, {"role": "assistant", "content": "Fever?"},
                     {"role": "user", "content": "No fever."}],
         "question_a": "Q1?", "question_b": "Q2?", "attribute": "accuracy"},
    ]
    do_import_items(campaign, jsonl(rows))
    first, second = ComparisonItem.objects.order_by("position")
    assert (first.post_body, first.turns) == ("Just a post", [])
    assert second.post_body == "Title and post"
    assert second.turns == [{"question": "Fever?", "patient_answer": "No fever."}]


def test_it_rejects_the_whole_file_and_reports_every_bad_line(campaign):
    good = json.dumps(comparison_row(0))
    lines = [
        good,
        "{not json",
        json.dumps({**comparison_row(2), "attribute": "beauty"}),
        json.dumps({k: v for k, v in comparison_row(3).items() if k != "question_b"}),
        json.dumps({**comparison_row(4), "question_a": 7}),
        json.dumps(comparison_row(0)),  # duplicate id
        "[1, 2]",
    ]
    with pytest.raises(ImportRejected) as caught:
        do_import_items(campaign, ("\n".join(lines) + "\n").encode())
    errors = {(e.line, e.field) for e in caught.value.errors}
    assert errors == {(2, ""), (3, "attribute"), (4, "question_b"), (5, "question_a"), (6, "id"), (7, "")}
    assert "line 3, field 'attribute': unknown attribute 'beauty'" in str(caught.value.errors[1])
    assert not ComparisonItem.objects.exists()


def test_it_reports_non_utf8_and_empty_files(campaign):
    with pytest.raises(ImportRejected) as caught:
        do_import_items(campaign, json.dumps(comparison_row(0)).encode() + b"\n\xff\xfe bad\n")
    assert caught.value.errors[0].line == 2 and "not UTF-8" in caught.value.errors[0].message
    with pytest.raises(ImportRejected) as caught:
        do_import_items(campaign, b"\n\n")
    assert "no rows" in caught.value.errors[0].message


def test_it_reads_gzip_and_is_idempotent(campaign):
    data = gzip.compress(jsonl([comparison_row(i) for i in range(3)]))
    assert do_import_items(campaign, data).created == 3
    again = do_import_items(campaign, data)
    assert (again.created, again.unchanged) == (0, 3)
    assert ComparisonItem.objects.count() == 3


def test_it_refuses_an_id_reused_with_other_content(campaign):
    do_import_items(campaign, jsonl([comparison_row(0)]))
    with pytest.raises(ImportRejected) as caught:
        do_import_items(campaign, jsonl([{**comparison_row(0), "question_b": "Changed?"}]))
    assert "already in this campaign" in caught.value.errors[0].message


def test_it_expands_an_expert_study_row_into_reference_pairs(campaign):
    row = {"id": "q1", "context": "post", "outputs": {"human_output": "Doctor?", "output_base": "Base?",
                                                      "output_dpo_policy": "DPO?"}}
    report = do_import_items(campaign, jsonl([row]))
    assert report.created == 2
    items = ComparisonItem.objects.order_by("external_id")
    assert [(i.external_id, i.source_a, i.source_b, i.attribute) for i in items] == [
        ("q1:human_output-vs-output_base", "human_output", "output_base", "overall"),
        ("q1:human_output-vs-output_dpo_policy", "human_output", "output_dpo_policy", "overall"),
    ]
