"""Training runs on the tiny model: DPO (full and LoRA), SFT and a reward model, from dataset versions."""

import time

import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from jobs.models import Job, JobStatus
from jobs.runner import JobCancelled, JobContext, claim_job
from training.actions import do_create_training_run
from training.models import ModelKind, TrainedModel, TrainingMetric
from training.runners import train_run

from .conftest import FAST, train

pytestmark = pytest.mark.django_db


def changed(before_dir, after_dir):
    before = AutoModelForCausalLM.from_pretrained(before_dir).state_dict()
    after = AutoModelForCausalLM.from_pretrained(after_dir).state_dict()
    return [name for name in before if not torch.equal(before[name], after[name])]


def test_it_trains_dpo_from_a_version_streams_metrics_and_registers_the_model(pairs, tiny_model_dir, lead):
    run = train("dpo", pairs, tiny_model_dir, user=lead, attributes=["clarity"])
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error + run.job.log_tail
    metrics = list(TrainingMetric.objects.filter(run=run, split="train").order_by("step"))
    assert [m.step for m in metrics] == [1, 2]
    assert all(m.loss is not None and m.rewards_chosen is not None and m.rewards_accuracies is not None
               and m.learning_rate is not None and m.tokens_per_second > 0 for m in metrics)
    model = TrainedModel.objects.get(run=run)
    assert model.kind == ModelKind.POLICY and model.dataset_version == pairs
    assert model.dataset_hash == pairs.content_hash and model.config["beta"] == 2.0
    assert model.final_metrics["global_step"] == 2 and model.size_bytes > 0
    assert model.endpoint.model == str(model.folder) and model.endpoint.name == model.name
    assert changed(tiny_model_dir, model.folder)
    assert run.train_rows == pairs.counts["split_attribute"]["train/clarity"] < pairs.counts["split"]["train"]
    assert not run.output_path.exists(), "checkpoints are removed once the model is registered"


def test_it_trains_a_lora_adapter_and_registers_it_merged_into_a_full_model(pairs, tiny_model_dir):
    run = train("dpo", pairs, tiny_model_dir, config={"use_peft": True, "lora_r": 4, "lora_alpha": 8})
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error + run.job.log_tail
    model = TrainedModel.objects.get(run=run)
    assert not (model.folder / "adapter_config.json").exists()
    assert changed(tiny_model_dir, model.folder), "the merged adapter must change the weights"
    assert run.is_data_mixing and run.train_rows == pairs.counts["split"]["train"]


def test_it_trains_sft_on_the_final_question_of_each_conversation(sft_version, tiny_model_dir):
    run = train("sft", sft_version, tiny_model_dir)
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error + run.job.log_tail
    assert run.metrics.filter(split="train").count() == 2
    assert run.config["learning_rate"] == 1e-2 and run.config["num_train_epochs"] == 2.0
    model = TrainedModel.objects.get(run=run)
    assert model.kind == ModelKind.POLICY and changed(tiny_model_dir, model.folder)


def test_it_trains_a_reward_model_that_is_registered_without_an_endpoint(pairs, tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    run = train("rm", pairs, tiny_model_dir, attributes=["focus"], pair_types=["enhanced_corrupted"])
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error + run.job.log_tail
    metric = run.metrics.get(split="train", step=2)
    assert metric.loss is not None and metric.rewards_accuracies is not None
    model = TrainedModel.objects.get(run=run)
    assert model.kind == ModelKind.REWARD and model.endpoint is None
    reward_model = AutoModelForSequenceClassification.from_pretrained(model.folder)
    assert reward_model.config.num_labels == 1
    assert run.train_rows == 4  # one enhanced>corrupted focus pair per train question


def test_a_cancelled_run_stops_at_its_next_report_and_registers_nothing(pairs, tiny_model_dir):
    class LeadCancelsAtStepTwo(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                Job.objects.filter(kind="training_run").update(cancel_requested=True)
                time.sleep(0.6)  # past the progress throttle, so the next report reads the request

    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config={**FAST, "max_steps": 20})
    ctx = JobContext(claim_job(run.job.pk, run.job.version))
    with pytest.raises(JobCancelled):
        train_run(run, ctx, callbacks=[LeadCancelsAtStepTwo()])
    assert run.metrics.filter(split="train").count() < 20
    assert not TrainedModel.objects.exists()
