"""Synthesis through a real Celery worker: the whole flow, a SIGKILL mid-job with resume, and cancel."""

import signal
import time

import pytest

from jobs.actions import do_cancel_job, requeue_stale_jobs
from jobs.models import ItemStatus, Job, JobStatus
from synthesis.actions import do_enqueue_synthesis, do_enqueue_verification
from synthesis.configs import SynthesisConfig, VerificationConfig
from synthesis.models import Backend, ModelEndpoint, PreferencePair, Rewrite, Verification

from .conftest import make_question

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("catalogue")]


def wait_for(condition, timeout=180, every=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {message}")


def finished(job):
    job.refresh_from_db()
    return job.is_finished


def make_endpoint(tiny_model_dir, **fields):
    return ModelEndpoint.objects.create(**{
        "name": "tiny", "backend": Backend.TRANSFORMERS, "model": str(tiny_model_dir), "device": "cpu",
        "batch_size": 4, "default_sampling": {"max_tokens": 12, "seed": 0}, **fields})


def test_it_runs_normalize_rewrite_verify_and_pairs_in_a_worker(start_worker, tiny_model_dir):
    make_endpoint(tiny_model_dir)
    for number in range(1, 4):
        make_question(number, turns=number % 2)
    worker = start_worker()
    job = do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", attributes=["relevance", "overall"]))
    wait_for(lambda: finished(job), message=f"synthesis\n{worker.output()}")
    assert job.status == JobStatus.SUCCEEDED, job.error
    verify = do_enqueue_verification(VerificationConfig(endpoint="tiny", max_attempts=1))
    wait_for(lambda: finished(verify), message=f"verification\n{worker.output()}")
    assert verify.status == JobStatus.SUCCEEDED, verify.error
    assert Rewrite.objects.count() == 3 + 3 * 2 * 2
    for row in Rewrite.objects.all():
        assert all([row.text, row.template_id, row.prompt_hash, row.model_name, row.backend, row.generator_key,
                    row.sampling, row.tokens_in, row.tokens_out, row.created_at, row.job_id == job.pk])
    assert Verification.objects.count() == 3 * 2
    for row in Verification.objects.all():
        assert all([row.status, row.template_id, row.prompt_hash, row.judge_model, row.replies, row.order,
                    row.job_id == verify.pk])
    assert PreferencePair.objects.count() == 3 * 2 * 3
    for pair in PreferencePair.objects.all():
        assert pair.verification_id and pair.chosen.provenance["template"] and pair.context
    assert job.result["items_per_s"] > 0 and job.result["tokens_per_s"] > 0


def test_it_resumes_after_the_worker_is_killed_without_duplicates(start_worker, tiny_model_dir, settings):
    settings.JOB_STALE_AFTER_SECONDS = 3
    make_endpoint(tiny_model_dir, batch_size=1, default_sampling={"max_tokens": 24, "seed": 0})
    for number in range(1, 7):
        make_question(number)
    attributes = ["clarity", "focus", "accuracy", "relevance"]
    total = 6 + 6 * len(attributes) * 2
    worker = start_worker(ALFA_JOB_STALE_AFTER_SECONDS=3)
    job = do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", attributes=attributes))
    wait_for(lambda: job.items.filter(status=ItemStatus.SUCCEEDED).count() >= 8, every=0.05,
             message=f"progress\n{worker.output()}")
    worker.kill(signal.SIGKILL)
    kept = dict(Rewrite.objects.values_list("pk", "text"))
    done_before = job.items.filter(status=ItemStatus.SUCCEEDED).count()
    assert 8 <= done_before < total, "the job finished before the kill; give it more work"
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # the row still says running: only the watchdog can tell
    wait_for(lambda: requeue_stale_jobs()["requeued"], timeout=30, every=0.5, message="the watchdog")
    second = start_worker(ALFA_JOB_STALE_AFTER_SECONDS=3)
    wait_for(lambda: finished(job), message=f"resume\n{second.output()}")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2 and job.items.filter(status=ItemStatus.SUCCEEDED).count() == total
    assert Rewrite.objects.count() == total  # the uniqueness key allows no duplicate
    assert {pk: text for pk, text in Rewrite.objects.values_list("pk", "text") if pk in kept} == kept
    assert job.result["generated"] == total - len(kept)  # finished outputs were not generated again


def test_it_cancels_a_running_synthesis_between_batches(start_worker, tiny_model_dir):
    make_endpoint(tiny_model_dir, batch_size=1, default_sampling={"max_tokens": 24, "seed": 0})
    for number in range(1, 7):
        make_question(number)
    worker = start_worker()
    job = do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", attributes=["clarity", "focus", "accuracy"]))
    wait_for(lambda: job.items.filter(status=ItemStatus.SUCCEEDED).count() >= 3, every=0.05,
             message=f"progress\n{worker.output()}")
    do_cancel_job(Job.objects.get(pk=job.pk))
    wait_for(lambda: finished(job), timeout=60, message="cancel")
    assert job.status == JobStatus.CANCELLED
    assert job.items.filter(status=ItemStatus.PENDING).exists()
