"""Accelerate configs: every preset is one accelerate reads; a 2-process gloo DPO run launched from a job."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

from dataversions.actions import do_create_version
from dataversions.models import DatasetVersion, VersionStatus
from jobs.actions import do_cancel_job
from jobs.models import Job, JobStatus, Queue
from training.actions import TrainingError, do_create_training_run
from training.distributed import PRESETS, preset_path, preset_processes, preset_uses_gpu
from training.models import TrainedModel, TrainingMetric

from .conftest import FAST, RENDERING, train
from .test_worker import wait_for


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


def launched_ranks(run_id: int) -> list[int]:
    """Return the pids of live processes launched for run `run_id` (the launcher and its ranks)."""
    marker = f"training.launched\0--run-id\0{run_id}\0".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes():
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.worker
def test_cancelling_a_two_process_run_on_a_worker_ends_every_rank_and_registers_nothing(
        start_worker, pair_corpus, tiny_model_dir, settings, tmp_path):
    settings.VAR_DIR, settings.MODELS_DIR = tmp_path / "var", tmp_path / "var" / "models"
    worker = start_worker(ALFA_VAR_DIR=settings.VAR_DIR, ALFA_MODELS_DIR=settings.MODELS_DIR)
    version = do_create_version("pairs", {"kind": "preference", "verdict": "unfiltered", "rendering": RENDERING})
    wait_for(lambda: DatasetVersion.objects.get(pk=version.pk).status == VersionStatus.READY, 60,
             f"the version\n{worker.output()}")
    run = do_create_training_run("dpo", DatasetVersion.objects.get(pk=version.pk), str(tiny_model_dir), config={
        **FAST, "max_steps": 500, "accelerate_config": "ddp-cpu-2", "per_device_train_batch_size": 2})
    wait_for(lambda: Job.objects.get(pk=run.job.pk).progress_done >= 1, 180, f"a first step\n{worker.output()}")
    assert len(launched_ranks(run.pk)) >= 3  # the launcher and two ranks

    do_cancel_job(Job.objects.get(pk=run.job.pk))
    wait_for(lambda: Job.objects.get(pk=run.job.pk).is_finished, 60, f"the cancel\n{worker.output()}")
    job = Job.objects.get(pk=run.job.pk)
    assert job.status == JobStatus.CANCELLED and job.progress_done < 500, job.error + job.log_tail
    wait_for(lambda: not launched_ranks(run.pk), 15, "every rank to end")
    assert not TrainedModel.objects.filter(run=run).exists()
