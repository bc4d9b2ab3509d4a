"""A real worker process killed mid-job: the watchdog re-queues the job and a new worker finishes only what was left."""

import importlib.util
import signal
import time
from pathlib import Path

import orjson
import pytest

from corpus.actions import do_enqueue_import
from corpus.models import ImportRun, Question
from jobs.actions import requeue_stale_jobs
from jobs.models import ItemStatus, Job, JobStatus

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_questions", ROOT / "bench" / "generate_questions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_distinct_files(shared_data, folder, files, copies):
    """Write `files` question files, each holding `copies` re-identified copies of the shared test questions."""
    generator = load_generator()
    records = [orjson.loads(line) for line in (shared_data / "askdocs" / "test_q.jsonl").open("rb")]
    paths = []
    for f in range(files):
        path = folder / f"part{f}.jsonl"
        with path.open("wb") as out:
            for c in range(copies):
                for record in records:
                    out.write(orjson.dumps(generator.replicate(record, f * 100 + c + 1)) + b"\n")
        paths.append(path)
    return paths


def wait_for(condition, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()):
            return value
        time.sleep(interval)
    raise TimeoutError(condition.__doc__ or "condition not met")


def test_killed_worker_job_is_requeued_and_resumed_without_redoing_finished_files(start_worker, shared_data, tmp_path,
                                                                                   settings):
    settings.JOB_STALE_AFTER_SECONDS = 3
    paths = write_distinct_files(shared_data, tmp_path, files=6, copies=3)
    worker = start_worker(ALFA_JOB_STALE_AFTER_SECONDS=3)
    job = do_enqueue_import(paths, split="test")

    def first_file_done():
        """the first file is imported"""
        return job.items.filter(status=ItemStatus.SUCCEEDED).exists()

    wait_for(first_file_done, timeout=120)
    worker.kill(signal.SIGKILL)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING, "the job must still look running after its worker died"
    finished_before_kill = set(job.items.filter(status=ItemStatus.SUCCEEDED).values_list("key", flat=True))
    assert 0 < len(finished_before_kill) < len(paths)

    start_worker(ALFA_JOB_STALE_AFTER_SECONDS=3)
    time.sleep(3.5)  # heartbeat goes stale
    assert requeue_stale_jobs()["requeued"] == [job.pk]

    def job_finished():
        """the re-queued job finishes"""
        return Job.objects.get(pk=job.pk).is_finished

    wait_for(job_finished, timeout=180, interval=0.2)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error + job.log_tail
    assert job.attempts == 2 and "worker lost" in job.log_tail
    assert Question.objects.count() == 6 * 3 * 620
    finished_names = {key.split(" ", 1)[1] for key in finished_before_kill}
    for path in paths:
        runs = ImportRun.objects.filter(file_name=path.name).count()
        if path.name in finished_names:
            assert runs == 1, f"{path.name} was imported again although it had finished"
        else:
            assert runs >= 1
