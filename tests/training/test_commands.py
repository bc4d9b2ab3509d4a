"""The train and merge_models commands: queue, or run inline and print the model folder alone on the last line."""

import pytest
from django.core.management import CommandError, call_command
from transformers import AutoModelForCausalLM

from jobs.models import JobStatus
from training.models import TrainedModel, TrainingRun

from .conftest import FAST

pytestmark = pytest.mark.django_db
FAST_ARGS = ["--max-steps", "2", "--global-batch-size", "0", "--per-device-train-batch-size", "4", "--max-length",
             "512", "--no-gradient-checkpointing", "--eval-steps", "0", "--learning-rate", "0.01"]


def run_command(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_train_inline_prints_a_folder_transformers_loads_on_its_last_line(pairs, tiny_model_dir):
    lines = run_command("train", "--method", "dpo", "--dataset", "pairs@v1", "--base-model", str(tiny_model_dir),
                        "--attributes", "clarity", "--lora", "--seed", "3", "--name", "clarity-dpo", *FAST_ARGS,
                        "--inline")
    model = TrainedModel.objects.get(name="clarity-dpo")
    assert lines[-1] == str(model.folder)
    AutoModelForCausalLM.from_pretrained(lines[-1])
    run = model.run
    assert run.attributes == ["clarity"] and run.config["use_peft"] and run.config["seed"] == 3
    assert run.job.status == JobStatus.SUCCEEDED


def test_train_queues_a_run_and_prints_its_id_alone_last(pairs, tiny_model_dir):
    lines = run_command("train", "--method", "dpo", "--dataset", str(pairs.pk), "--base-model", str(tiny_model_dir),
                        "--beta", "0.5")
    run = TrainingRun.objects.get()
    assert lines[-1] == str(run.pk) and run.job.status == JobStatus.QUEUED
    assert run.config["beta"] == 0.5 and run.config["learning_rate"] == 5e-7


def test_train_refuses_an_option_of_another_method(pairs, tiny_model_dir):
    with pytest.raises(CommandError, match=r"unrecognized arguments: --beta 0\.1"):
        run_command("train", "--method", "rm", "--dataset", "pairs@v1", "--base-model", str(tiny_model_dir),
                    "--beta", "0.1")
    assert not TrainingRun.objects.exists()


def test_merge_models_inline_prints_the_merged_folder_last(pairs, tiny_model_dir):
    from tests.training.conftest import train

    first = train("dpo", pairs, tiny_model_dir, attributes=["clarity"], name="clarity").trained_model
    second = train("dpo", pairs, tiny_model_dir, attributes=["focus"], name="focus").trained_model
    lines = run_command("merge_models", first.name, second.name, "--name", "fused", "--weights", "1", "3",
                        "--inline")
    fused = TrainedModel.objects.get(name="fused")
    assert lines[-1] == str(fused.folder)
    assert [link.weight for link in fused.parent_links.all()] == [0.25, 0.75]
    assert [entry["model"].name for entry in fused.lineage() if "model" in entry] == ["fused", "clarity", "focus"]
    assert FAST["max_steps"] == first.final_metrics["global_step"]
