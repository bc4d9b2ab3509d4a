"""The jobs framework: claiming, progress, items, failure, cancel, retry, the watchdog and fencing stale attempts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.actions import JobError, do_cancel_job, do_enqueue_job, do_retry_job, requeue_stale_jobs
from jobs.models import ItemStatus, Job, JobStatus
from jobs.runner import JOB_KINDS, JobCancelled, JobContext, claim_job, execute_job, finish_job, job_runner

pytestmark = pytest.mark.django_db

CALLS = []


@job_runner("test_items")
def run_test_items(ctx):
    """Succeed on every item except those named in params['fail'] (until params['fail'] is cleared)."""
    pending = list(ctx.pending_items())
    ctx.set_total(ctx.job.items.count(), unit="items")
    ctx.set_done(ctx.job.items.filter(status=ItemStatus.SUCCEEDED).count())
    for item in pending:
        CALLS.append(item.key)
        if item.key in Job.objects.get(pk=ctx.job.pk).params.get("fail", []):
            ctx.item_failed(item, f"cannot process {item.key}")
        else:
            ctx.item_succeeded(item, {"length": len(item.key)})
        ctx.advance()
    return {"processed": len(pending)}


@job_runner("test_crash")
def run_test_crash(ctx):
    raise ValueError("boom")


@job_runner("test_cancel")
def run_test_cancel(ctx):
    Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)
    ctx.check_cancelled()
    return {}


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


def enqueue(kind, capture, **kwargs):
    with capture(execute=True):
        job = do_enqueue_job(kind, **kwargs)
    job.refresh_from_db()
    return job


def test_it_runs_a_job_and_records_progress_and_result(django_capture_on_commit_callbacks, lead):
    job = enqueue("test_items", django_capture_on_commit_callbacks, owner=lead, items=["a", "bb", "ccc"])
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (3, 3, 100)
    assert job.result == {"processed": 3}
    assert job.attempts == 1 and job.started_at and job.finished_at
    assert "finished" in job.log_tail


def test_it_marks_a_crashed_job_failed_with_reason_and_traceback(django_capture_on_commit_callbacks):
    job = enqueue("test_crash", django_capture_on_commit_callbacks)
    assert job.status == JobStatus.FAILED
    assert job.error == "ValueError: boom"
    assert "Traceback" in job.traceback and "boom" in job.traceback


def test_it_retries_only_the_failed_items(django_capture_on_commit_callbacks):
    job = enqueue("test_items", django_capture_on_commit_callbacks, items=["a", "b", "c"], params={"fail": ["b"]})
    assert job.status == JobStatus.SUCCEEDED
    assert job.items.get(key="b").status == ItemStatus.FAILED
    assert CALLS == ["a", "b", "c"]
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, params={})
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        do_retry_job(job)
    job.refresh_from_db()
    assert CALLS == ["a", "b", "c", "b"]
    assert job.status == JobStatus.SUCCEEDED and job.version == 2
    assert set(job.items.values_list("status", flat=True)) == {ItemStatus.SUCCEEDED}


def test_it_cancels_a_running_job_at_its_next_check(django_capture_on_commit_callbacks):
    job = enqueue("test_cancel", django_capture_on_commit_callbacks)
    assert job.status == JobStatus.CANCELLED


def test_it_cancels_a_queued_job_and_its_delivery_does_nothing():
    job = Job.objects.create(kind="test_items")
    do_cancel_job(job)
    assert job.status == JobStatus.CANCELLED
    assert execute_job(job.pk, job.version) is None
    with pytest.raises(JobError):
        do_cancel_job(job)


def test_it_ignores_a_duplicate_delivery_of_a_running_job():
    job = Job.objects.create(kind="test_items")
    assert claim_job(job.pk, job.version) is not None
    assert claim_job(job.pk, job.version) is None


def test_it_lets_a_redelivery_take_over_a_job_whose_heartbeat_is_stale(settings):
    job = Job.objects.create(kind="test_items")
    claim_job(job.pk, job.version)
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    taken = claim_job(job.pk, job.version)
    assert taken is not None and taken.attempts == 2


def test_it_ignores_a_delivery_with_an_old_version():
    job = Job.objects.create(kind="test_items", version=3)
    assert claim_job(job.pk, 2) is None


def test_watchdog_requeues_a_stale_running_job_then_gives_up(settings, django_capture_on_commit_callbacks):
    settings.JOB_MAX_ATTEMPTS = 2
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 5)
    job = Job.objects.create(kind="test_items", status=JobStatus.RUNNING, heartbeat_at=stale, attempts=1)
    job.items.create(key="x")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = requeue_stale_jobs()
    job.refresh_from_db()
    assert outcome["requeued"] == [job.pk]
    assert job.status == JobStatus.SUCCEEDED and job.version == 2 and job.attempts == 2
    assert "worker lost" in job.log_tail
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=stale)
    assert requeue_stale_jobs()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Worker lost" in job.error


def test_it_leaves_fresh_running_jobs_alone():
    Job.objects.create(kind="test_items", status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    assert requeue_stale_jobs() == {"requeued": [], "failed": [], "cancelled": []}


def test_it_refuses_unknown_kinds_and_bad_transitions():
    with pytest.raises(JobError):
        do_enqueue_job("no_such_kind")
    job = Job.objects.create(kind="test_items", status=JobStatus.SUCCEEDED)
    with pytest.raises(JobError):
        do_retry_job(job)


def test_registered_kinds_include_the_test_runners():
    assert {"test_items", "test_crash", "test_cancel"} <= set(JOB_KINDS)


def test_job_cancelled_is_an_exception():
    assert issubclass(JobCancelled, Exception)


# Cancel when the worker has died -----------------------------------------------------------------------------

def long_ago(settings):
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 5)


def test_it_ends_at_once_a_cancelled_job_whose_worker_has_died(settings):
    job = Job.objects.create(kind="test_items", status=JobStatus.RUNNING, heartbeat_at=long_ago(settings), attempts=1)
    do_cancel_job(job)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert "worker" in job.error
    assert requeue_stale_jobs()["requeued"] == []


def test_watchdog_ends_a_job_whose_worker_died_before_honouring_the_cancel(settings,
                                                                          django_capture_on_commit_callbacks):
    job = Job.objects.create(kind="test_items", status=JobStatus.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    do_cancel_job(job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested  # a live worker stops at its next report
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago(settings))  # ...but it died first
    with django_capture_on_commit_callbacks(execute=True):
        outcome = requeue_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None, "a cancelled job must not be re-queued"
    assert outcome["cancelled"] == [job.pk] and outcome["requeued"] == []


# Fencing: only the current attempt writes ----------------------------------------------------------------------

@job_runner("test_superseded")
def run_test_superseded(ctx):
    """Lose the job mid-run (watchdog re-queue, then a new attempt claims it), and carry on as a stale worker would."""
    item = ctx.pending_items().get()
    Job.objects.filter(pk=ctx.job.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    requeue_stale_jobs()
    newer = JobContext(claim_job(ctx.job.pk, ctx.job.version + 1))
    newer.item_succeeded(item, {"attempt": newer.job.attempts})
    newer.log("newer attempt at work")
    CALLS.append("superseded")
    ctx.item_succeeded(item, {"attempt": ctx.job.attempts})
    ctx.set_done(99)
    CALLS.append("kept going")
    return {"attempt": ctx.job.attempts}


def test_a_superseded_attempt_stops_and_leaves_the_new_attempts_rows_alone():
    job = Job.objects.create(kind="test_superseded")
    job.items.create(key="only")
    execute_job(job.pk, job.version)
    job.refresh_from_db()
    assert CALLS == ["superseded"], "the stale attempt must stop at its first write"
    assert (job.status, job.version, job.attempts, job.result) == (JobStatus.RUNNING, 2, 2, {})
    assert job.progress_done != 99 and "newer attempt at work" in job.log_tail
    assert job.items.get().result == {"attempt": 2}


def test_a_superseded_attempt_cannot_write_progress_items_or_its_outcome(settings):
    job = Job.objects.create(kind="test_items")
    item = job.items.create(key="a")
    stale = JobContext(claim_job(job.pk, job.version))
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago(settings))
    requeue_stale_jobs()
    current = JobContext(claim_job(job.pk, job.version + 1))
    current.item_succeeded(item, {"by": "current"})
    current.log("current attempt")
    current.flush(force=True)
    with pytest.raises(JobCancelled):
        stale.item_failed(item, "stale")
    with pytest.raises(JobCancelled):
        stale.flush(force=True)
    with pytest.raises(JobCancelled):
        stale.ensure_items(["b"])
    with pytest.raises(JobCancelled):
        stale.check_cancelled()
    finish_job(stale, JobStatus.SUCCEEDED, result={"by": "stale"})
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.RUNNING, {}, 2)
    assert "current attempt" in job.log_tail
    assert list(job.items.values_list("key", "status", "result")) == [("a", ItemStatus.SUCCEEDED, {"by": "current"})]
    current.flush(force=True)  # the current attempt is not disturbed


def test_a_cancelled_then_ended_job_keeps_its_outcome_when_its_paused_worker_wakes(settings):
    job = Job.objects.create(kind="test_items")
    paused = JobContext(claim_job(job.pk, job.version))
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago(settings))
    do_cancel_job(job)
    with pytest.raises(JobCancelled):
        paused.set_total(5)
    finish_job(paused, JobStatus.SUCCEEDED, result={"late": True})
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.result == {} and job.progress_total == 0


def test_a_superseded_attempt_cannot_publish_a_partial_result(db):
    from jobs.runner import JobSuperseded

    job = do_enqueue_job("test_items")
    ctx = JobContext(claim_job(job.pk, job.version))
    ctx.set_result({"generated": 1})
    assert Job.objects.get(pk=job.pk).result == {"generated": 1}
    Job.objects.filter(pk=job.pk).update(attempts=ctx.job.attempts + 1)  # another attempt took the job over
    with pytest.raises(JobSuperseded):
        ctx.set_result({"generated": 2})
    assert Job.objects.get(pk=job.pk).result == {"generated": 1}
