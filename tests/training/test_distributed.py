"""Accelerate configs: every preset is one accelerate reads; a 2-process gloo DPO run launched from a job."""

import pytest
from accelerate.commands.config.config_args import load_config_from_file

from jobs.models import JobStatus, Queue
from training.actions import TrainingError, do_create_training_run
from training.distributed import PRESETS, preset_path, preset_processes, preset_uses_gpu
from training.models import TrainedModel, TrainingMetric

from .conftest import FAST, train


def test_the_presets_are_accelerate_configs_and_the_gpu_ones_are_routed_to_the_gpu_queue():
    assert {"single", "ddp-cpu-2", "ddp-gpu-2", "ddp-gpu-8", "fsdp", "deepspeed-zero3"} <= set(PRESETS)
    for name in PRESETS:
        config = load_config_from_file(str(preset_path(name)))
        assert config.num_processes == preset_processes(name)
    assert preset_processes("single") == 1 and preset_processes("ddp-cpu-2") == 2
    assert not preset_uses_gpu("ddp-cpu-2") and not preset_uses_gpu("single")
    assert all(preset_uses_gpu(name) for name in ("ddp-gpu-2", "fsdp", "deepspeed-zero3"))


@pytest.mark.django_db
def test_a_gpu_config_queues_on_gpu_and_a_batch_the_processes_cannot_split_is_refused(pairs, tiny_model_dir):
    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config={**FAST, "accelerate_config": "fsdp"})
    assert run.job.queue == Queue.GPU and run.options.accelerate_config == "fsdp"
    with pytest.raises(TrainingError, match="8 processes"):
        do_create_training_run("dpo", pairs, str(tiny_model_dir), config={
            **FAST, "accelerate_config": "fsdp", "global_batch_size": 12, "per_device_train_batch_size": 1})
    with pytest.raises(TrainingError, match="accelerate_config"):
        do_create_training_run("dpo", pairs, str(tiny_model_dir), config={**FAST, "accelerate_config": "nope"})


@pytest.mark.slow
def test_a_two_process_gloo_dpo_run_trains_on_both_ranks_and_registers_the_model(
        transactional_db, pairs, tiny_model_dir, lead):
    # Each rank's batch of 2 x 2 ranks: the same 4 rows per step as the one-process runs.
    run = train("dpo", pairs, tiny_model_dir, user=lead, name="ddp",
                config={"accelerate_config": "ddp-cpu-2", "per_device_train_batch_size": 2})
    job = run.job
    assert job.status == JobStatus.SUCCEEDED, job.error + job.log_tail
    assert job.queue == Queue.DEFAULT
    assert "rank 0 of 2 started" in job.log_tail and "rank 1 of 2 started" in job.log_tail
    assert "rank 1 of 2 done" in job.log_tail
    model = TrainedModel.objects.get(run=run)
    assert model.final_metrics["world_size"] == 2 and model.final_metrics["global_step"] == 2
    assert (model.folder / "config.json").is_file() and model.endpoint.name == "ddp"
    assert [m.step for m in TrainingMetric.objects.filter(run=run, split="train").order_by("step")] == [1, 2]
    assert job.progress_done == 2 and job.progress_total == 2
    assert not run.output_path.exists()
