"""Two real workers: one paused mid-job, the job re-queued to the other; the paused one wakes and writes nothing."""

import re
import signal
import time

import pytest

from jobs.actions import do_enqueue_job, requeue_stale_jobs
from jobs.models import ItemStatus, Job, JobStatus
from tests.jobs.runners import STEPS_JOB

pytestmark = pytest.mark.worker
STALE_AFTER = 2
INCLUDE = "tests.jobs.runners"


def wait_for(condition, timeout, message, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def snapshot(job_id):
    job = Job.objects.get(pk=job_id)
    items = {item.key: (item.status, item.result, item.attempts) for item in Job.objects.get(pk=job_id).items.all()}
    fields = ("status", "version", "attempts", "result", "error", "log_tail", "progress_done", "progress_total",
              "finished_at", "heartbeat_at")
    return {name: getattr(job, name) for name in fields}, items


def test_a_paused_worker_woken_after_its_job_was_requeued_cannot_overwrite_the_new_attempt(start_worker, settings):
    settings.JOB_STALE_AFTER_SECONDS = STALE_AFTER
    first = start_worker(include=INCLUDE, ALFA_JOB_STALE_AFTER_SECONDS=STALE_AFTER)
    job = do_enqueue_job(STEPS_JOB, params={"steps": 8, "rest": 0.6})
    # progress_done is written by the step's last write; right after it the runner rests, holding no lock.
    wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 2, 60, f"two steps\n{first.output()}")
    first.send(signal.SIGSTOP)
    time.sleep(STALE_AFTER + 0.5)
    assert requeue_stale_jobs()["requeued"] == [job.pk]

    second = start_worker(include=INCLUDE, ALFA_JOB_STALE_AFTER_SECONDS=STALE_AFTER)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 120, f"the second attempt\n{second.output()}", 0.1)
    job_after_second, items_after_second = snapshot(job.pk)
    assert job_after_second["status"] == JobStatus.SUCCEEDED, job_after_second["error"] + job_after_second["log_tail"]
    assert job_after_second["result"] == {"pid": second.process.pid, "attempt": 2}
    by_second = {key for key, (_, result, _) in items_after_second.items() if result["pid"] == second.process.pid}
    assert len(by_second) >= 4 and all(status == ItemStatus.SUCCEEDED for status, _, _ in items_after_second.values())

    first.send(signal.SIGCONT)

    def first_task_ended():
        return re.search(r"Task jobs\.tasks\.run_job\[[^]]+\] (succeeded|raised)", first.output())

    wait_for(first_task_ended, 60, f"the paused worker's task to end\n{first.output()}", 0.1)
    assert snapshot(job.pk) == (job_after_second, items_after_second), "the stale worker overwrote the new attempt"
    assert "superseded" in first.output()
