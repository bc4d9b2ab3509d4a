"""create_dataset, import_dataset and export_dataset: ids alone on the last line, clear errors, non-zero exits."""

import json

import datasets
import pytest
from django.core.management import CommandError, call_command

from dataversions.models import DatasetVersion, Provenance

from .conftest import run_queued_jobs

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out = StringIO()
    with run_queued_jobs():
        call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def test_create_dataset_prints_the_new_version_id_last(pair_corpus):
    lines = run("create_dataset", "--kind", "preference", "--name", "pairs", "--attributes", "clarity",
                "--verdict", "unfiltered", "--seed", "3")
    version = DatasetVersion.objects.get(pk=int(lines[-1]))
    assert version.row_count == 18 and version.seed == 3 and version.counts["attribute"] == {"clarity": 18}


@pytest.mark.parametrize(("args", "message"), [
    (["--attributes", "kindness"], "Unknown attribute"), (["--splits", "test", "--attributes", "answerability"],
                                                          "selects no rows"),
    (["--verdict", "maybe"], "Unknown verdict: maybe"), (["--seed", "-1"], "seed must be at least 0."),
])
def test_create_dataset_fails_with_a_clear_message(pair_corpus, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_dataset", "--kind", "preference", "--name", "pairs", *args)
    assert not DatasetVersion.objects.exists()


def test_export_dataset_writes_a_folder_trl_loads(pair_corpus, tmp_path):
    version_id = run("create_dataset", "--kind", "preference", "--name", "pairs", "--verdict", "unfiltered")[-1]
    out = tmp_path / "out"
    lines = run("export_dataset", version_id, "--format", "trl", "--files", "hf", "--out", str(out))
    assert lines[-1] == str(out)
    assert datasets.load_from_disk(str(out))["train"].num_rows == 24
    by_name = run("export_dataset", "pairs@v1", "--format", "trl", "--files", "jsonl", "--out", str(tmp_path / "j"))
    assert (tmp_path / "j" / "train.jsonl").is_file() and by_name[-1] == str(tmp_path / "j")


@pytest.mark.parametrize(("args", "message"), [
    (["999", "--format", "trl"], "No dataset version"), (["pairs@v1", "--format", "csv"], "Unknown format"),
])
def test_export_dataset_fails_with_a_clear_message(pair_corpus, tmp_path, args, message):
    run("create_dataset", "--kind", "preference", "--name", "pairs", "--verdict", "unfiltered")
    with pytest.raises(CommandError, match=message):
        run("export_dataset", *args, "--out", str(tmp_path / "x"))


def test_import_dataset_reads_a_trl_export_back_as_an_external_version(pair_corpus, tmp_path):
    version_id = run("create_dataset", "--kind", "preference", "--name", "pairs", "--verdict", "unfiltered")[-1]
    run("export_dataset", version_id, "--format", "trl-conversational", "--files", "hf", "--out", str(tmp_path / "hf"))
    imported = DatasetVersion.objects.get(pk=int(run("import_dataset", str(tmp_path / "hf"), "--name", "alfa")[-1]))
    original = DatasetVersion.objects.get(pk=int(version_id))
    assert imported.provenance == Provenance.EXTERNAL and imported.row_count == original.row_count
    assert imported.counts["split"] == original.counts["split"]
    assert imported.lineage["source"]["layout"] == "trl-conversational"


def test_import_dataset_reads_jsonl_split_files_in_the_authors_layout(db, tmp_path):
    folder = tmp_path / "filtered"
    folder.mkdir()
    row = {"id": "t1-c1-q0_clarity_more_future_less", "system": [{"role": "system", "content": "You are a doctor."}],
           "context": [{"role": "user", "content": "Headache\nThrobbing."}],
           "chosen": [{"role": "assistant", "content": "Where is the pain?"}],
           "rejected": [{"role": "assistant", "content": "Pain?"}]}
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "validation.jsonl").write_text(json.dumps({**row, "id": "t2-c1-q0_focus_original_less"}) + "\n")
    version = DatasetVersion.objects.get(pk=int(run("import_dataset", str(folder), "--name", "published")[-1]))
    rows = {r.row_id: r for r in version.rows.all()}
    assert rows["t1-c1-q0_clarity_more_future_less"].pair_type == "enhanced_corrupted"
    assert rows["t2-c1-q0_focus_original_less"].attribute == "focus"
    assert rows["t2-c1-q0_focus_original_less"].split == "validation"


@pytest.mark.parametrize(("content", "message"), [
    ('{"question": "x", "answer": "y"}\n', "row 1: the columns are answer, question"),
    ('{"prompt": "p", "chosen": "a", "rejected": "b"}\nnot json\n', "line 2: not JSON"),
    ("", "holds no rows"),
])
def test_import_dataset_refuses_files_that_are_not_trl_and_keeps_nothing(db, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run("import_dataset", str(path), "--name", "bad")
    assert not DatasetVersion.objects.exists()


def test_push_to_hub_says_clearly_why_it_cannot_push(pair_corpus, tmp_path, monkeypatch):
    version_id = run("create_dataset", "--kind", "preference", "--name", "pairs", "--verdict", "unfiltered")[-1]
    monkeypatch.delenv("HF_TOKEN", raising=False)
    args = ["export_dataset", version_id, "--format", "trl", "--out", str(tmp_path / "o"), "--push-to-hub", "lab/x"]
    with pytest.raises(CommandError, match="Set HF_TOKEN"):
        run(*args)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CommandError, match="cannot be reached"):
        run(*args)
    assert (tmp_path / "o" / "train.jsonl").is_file()  # the export itself is kept
