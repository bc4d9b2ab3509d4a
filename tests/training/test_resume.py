"""A run whose worker dies after a checkpoint continues from it when the watchdog re-queues its job."""

import pytest
import torch
from django.utils import timezone
from safetensors.torch import load_file
from transformers import TrainerCallback

from jobs.actions import requeue_stale_jobs
from jobs.models import Job, JobStatus
from jobs.runner import JobContext, claim_job
from training.actions import do_create_training_run
from training.models import TrainedModel
from training.runners import last_checkpoint, train_run

from .conftest import FAST, run_queued_jobs, train

pytestmark = pytest.mark.django_db
CONFIG = {**FAST, "max_steps": 4, "save_steps": 2}


class WorkerDied(Exception):
    """Stands in for a killed worker process."""


class DieAfterFirstCheckpoint(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        raise WorkerDied(f"killed after checkpoint-{state.global_step}")


def test_it_resumes_from_the_last_checkpoint_with_the_same_final_step_count(pairs, tiny_model_dir, settings):
    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config=CONFIG, name="resumed")
    ctx = JobContext(claim_job(run.job.pk, run.job.version))
    with pytest.raises(WorkerDied):
        train_run(run, ctx, callbacks=[DieAfterFirstCheckpoint()])
    assert last_checkpoint(run.output_path).name == "checkpoint-2"
    assert list(run.metrics.filter(split="train").values_list("step", flat=True)) == [1, 2]

    settings.JOB_STALE_AFTER_SECONDS = 1
    Job.objects.filter(pk=run.job.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(seconds=5))
    with run_queued_jobs():
        assert requeue_stale_jobs()["requeued"] == [run.job.pk]
    job = Job.objects.get(pk=run.job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error + job.log_tail
    assert job.attempts == 2 and "resuming from checkpoint-2" in job.log_tail
    resumed = TrainedModel.objects.get(run=run)
    assert resumed.final_metrics["global_step"] == 4
    assert list(run.metrics.filter(split="train").values_list("step", flat=True)) == [1, 2, 3, 4]

    straight = TrainedModel.objects.get(run=train("dpo", pairs, tiny_model_dir, config=CONFIG, name="straight"))
    resumed_weights, straight_weights = (load_file(m.folder / "model.safetensors") for m in (resumed, straight))
    assert all(torch.equal(resumed_weights[k], straight_weights[k]) for k in straight_weights), \
        "the resumed run must end where an uninterrupted one does"
