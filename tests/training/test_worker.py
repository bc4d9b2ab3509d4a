"""A DPO run through real worker processes: killed after its first checkpoint, re-queued, resumed to the end."""

import signal
import time

import pytest

from dataversions.actions import do_create_version
from dataversions.models import DatasetVersion, VersionStatus
from jobs.actions import requeue_stale_jobs
from jobs.models import Job, JobStatus
from training.actions import do_create_training_run
from training.models import TrainedModel
from training.runners import last_checkpoint

from .conftest import FAST, RENDERING

pytestmark = pytest.mark.worker
STALE_AFTER = 3
MAX_STEPS = 30


def wait_for(condition, timeout, message, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def test_a_killed_training_worker_resumes_from_its_checkpoint_on_the_next_worker(
        start_worker, pair_corpus, tiny_model_dir, settings, tmp_path):
    settings.VAR_DIR, settings.MODELS_DIR = tmp_path / "var", tmp_path / "var" / "models"
    settings.JOB_STALE_AFTER_SECONDS = STALE_AFTER
    env = {"ALFA_VAR_DIR": settings.VAR_DIR, "ALFA_MODELS_DIR": settings.MODELS_DIR,
           "ALFA_JOB_STALE_AFTER_SECONDS": STALE_AFTER}
    first = start_worker(**env)
    version = do_create_version("pairs", {"kind": "preference", "verdict": "unfiltered", "rendering": RENDERING})
    wait_for(lambda: DatasetVersion.objects.get(pk=version.pk).status == VersionStatus.READY, 60,
             f"the version\n{first.output()}")
    version.refresh_from_db()
    # Four forward passes per step keep each step long enough to kill the worker between two checkpoints.
    config = {**FAST, "max_steps": MAX_STEPS, "save_steps": 2, "gradient_accumulation_steps": 4}
    run = do_create_training_run("dpo", version, str(tiny_model_dir), config=config, name="killed")

    wait_for(lambda: last_checkpoint(run.output_path), 180, f"a checkpoint\n{first.output()}", interval=0.01)
    first.kill(signal.SIGKILL)
    job = Job.objects.get(pk=run.job.pk)
    assert job.status == JobStatus.RUNNING and job.progress_done < MAX_STEPS, "killed before the end"
    steps_before = job.progress_done

    second = start_worker(**env)
    time.sleep(STALE_AFTER + 0.5)
    assert requeue_stale_jobs()["requeued"] == [job.pk]
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 240, f"the resumed run\n{second.output()}", interval=0.2)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error + job.log_tail
    assert job.attempts == 2 and "resuming from checkpoint-" in job.log_tail
    model = TrainedModel.objects.get(run=run)
    assert model.final_metrics["global_step"] == MAX_STEPS > steps_before
    assert list(run.metrics.filter(split="train").values_list("step", flat=True)) == list(range(1, MAX_STEPS + 1))
    assert model.endpoint is not None and (model.folder / "config.json").is_file()
