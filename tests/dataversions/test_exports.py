"""Exports: every format and file type, reloaded by datasets and pyarrow, byte-identical, resumable; TRL trains."""

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from dataversions.actions import DatasetError, do_export_version
from dataversions.formats import FormatError
from dataversions.models import DatasetExport, ExportStatus
from synthesis.models import PreferencePair

from .conftest import create_version, run_queued_jobs

pytestmark = pytest.mark.django_db


def export(version, fmt, files):
    with run_queued_jobs():
        made = do_export_version(version, fmt, files)
    made.refresh_from_db()
    assert made.status == ExportStatus.DONE, made.error
    return made, Path(settings.VAR_DIR) / made.folder


@pytest.fixture
def version(pair_corpus, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return create_version(verdict="unfiltered")


def test_it_exports_trl_standard_as_a_datasets_folder_that_loads_unchanged(version):
    _, folder = export(version, "trl", "hf")
    loaded = datasets.load_from_disk(str(folder))
    assert set(loaded) == {"train", "validation", "test"}
    assert loaded["train"].num_rows == 24 and loaded["test"].num_rows == 6
    row = loaded["train"][0]
    assert isinstance(row["prompt"], str) and row["prompt"].endswith("Doctor:")
    assert {"chosen", "rejected", "id", "attribute", "pair_type", "qid", "split", "source_job"} <= set(row)
    first = version.rows.order_by("position").first().data
    assert row["id"] == first["id"] and row["chosen"] == first["chosen"]


def test_it_exports_conversational_pairs_as_message_lists(version):
    _, folder = export(version, "trl-conversational", "jsonl")
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 24
    assert rows[0]["prompt"][0]["role"] == "system" and rows[0]["chosen"][0]["role"] == "assistant"


def test_it_exports_parquet_that_pyarrow_reads(version):
    _, folder = export(version, "trl-conversational", "parquet")
    table = pq.read_table(folder / "validation.parquet")
    assert table.num_rows == 6 and "prompt" in table.column_names


def test_it_exports_the_authors_layout(version):
    _, folder = export(version, "authors", "jsonl")
    row = json.loads((folder / "train.jsonl").read_text().splitlines()[0])
    assert set(row) == {"id", "system", "context", "chosen", "rejected"}
    assert row["system"][0]["role"] == "system" and all(m["role"] != "system" for m in row["context"])


def test_it_writes_a_card_with_the_hub_yaml_header(version):
    _, folder = export(version, "trl", "jsonl")
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n")
    assert "path: train.jsonl" in card and "num_examples: 24" in card and version.content_hash in card
    assert "Pseudonymization" in card and "thread-v1" in card


def test_the_same_version_exports_to_identical_bytes(version):
    made, folder = export(version, "trl-conversational", "hf")
    first = {name: entry["sha256"] for name, entry in made.manifest.items()}
    DatasetExport.objects.filter(pk=made.pk).delete()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    again, _ = export(version, "trl-conversational", "hf")
    assert {name: entry["sha256"] for name, entry in again.manifest.items()} == first


def test_later_edits_do_not_change_an_export(version):
    made, _ = export(version, "trl", "jsonl")
    PreferencePair.objects.update(chosen_text="edited")
    DatasetExport.objects.filter(pk=made.pk).delete()
    again, folder = export(version, "trl", "jsonl")
    assert again.manifest == made.manifest and "edited" not in (folder / "train.jsonl").read_text()


def test_a_retried_export_keeps_the_splits_already_written(version, monkeypatch):
    from dataversions import writers

    real = writers.write_split
    calls = []

    def fail_on_test(version, fmt, files, folder, split):
        calls.append(split)
        if split == "test" and calls.count("test") == 1:
            raise OSError("disk full")
        return real(version, fmt, files, folder, split)

    monkeypatch.setattr(writers, "write_split", fail_on_test)
    with run_queued_jobs():
        made = do_export_version(version, "trl", "jsonl")
    made.refresh_from_db()
    assert made.status == ExportStatus.FAILED and "disk full" in made.error
    from jobs.actions import do_retry_job

    with run_queued_jobs():
        do_retry_job(made.job)
    made.refresh_from_db()
    assert made.status == ExportStatus.DONE
    assert calls == ["train", "validation", "test", "test"]


@pytest.mark.parametrize(("fmt", "files", "message"), [
    ("csv", "jsonl", "Unknown format"), ("sft", "jsonl", "exports as"), ("trl", "xlsx", "Unknown file type"),
])
def test_it_refuses_unknown_or_mismatched_formats(version, fmt, files, message):
    with pytest.raises(FormatError, match=message):
        do_export_version(version, fmt, files)
    assert not DatasetExport.objects.exists()


def test_it_exports_only_ready_versions(version):
    version.status = "building"
    with pytest.raises(DatasetError, match="only a ready version"):
        do_export_version(version, "trl", "jsonl")


@pytest.mark.parametrize("fmt", ["trl", "trl-conversational"])
def test_trl_dpo_trains_two_steps_straight_from_the_export(pair_corpus, settings, tiny_model_dir, tmp_path, fmt):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    settings.VAR_DIR = tmp_path
    # The tiny tokenizer spends a token per character or two: without the system prompt the rows fit its 512.
    version = create_version(verdict="unfiltered", rendering="thread-nosys-v1")
    _, folder = export(version, fmt, "hf")
    train = datasets.load_from_disk(str(folder))["train"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    before = [p.detach().clone() for p in model.parameters()]
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-2,
                     max_length=512, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                     dataloader_num_workers=0, seed=0)
    trainer = DPOTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    assert trainer.state.global_step == 2
    assert any(not p.detach().equal(b) for p, b in zip(model.parameters(), before, strict=True))


def test_the_card_lists_splits_in_train_validation_test_order(version):
    from dataversions.card import dataset_card

    card = dataset_card(version)
    assert card.index("| train |") < card.index("| validation |") < card.index("| test |")
    assert card.index("name: train") < card.index("name: validation") < card.index("name: test")
