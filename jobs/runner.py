"""Run a claimed job: the registry of job kinds, the context a runner reports through, and the heartbeat."""

import logging
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from .models import ItemStatus, Job, JobItem, JobStatus, Queue, item_counts

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
PROGRESS_FLUSH_SECONDS = 0.5
LOG_TAIL_LINES = 200


class JobCancelled(Exception):
    """Raised inside a runner when a lead cancelled its job."""


@dataclass(frozen=True)
class JobKind:
    name: str
    function: object
    queue: str = Queue.DEFAULT
    label: str = ""


JOB_KINDS: dict[str, JobKind] = {}


def job_runner(name, queue=Queue.DEFAULT, label=""):
    """Register `function(ctx: JobContext) -> dict` as the runner for job kind `name`."""

    def register(function):
        JOB_KINDS[name] = JobKind(name, function, queue, label or name.replace("_", " "))
        return function

    return register


class JobContext:
    """What a runner sees: the job row, throttled progress and log writes, items, and cancellation."""

    def __init__(self, job):
        self.job = job
        self._log = deque(job.log_tail.splitlines(), maxlen=LOG_TAIL_LINES)
        self._last_flush = 0.0
        self._dirty = False

    @property
    def params(self):
        return self.job.params

    @property
    def log_text(self):
        return "\n".join(self._log)

    def set_total(self, total, unit=None):
        self.job.progress_total = total
        self.job.progress_unit = unit or self.job.progress_unit
        self.flush(force=True)

    def advance(self, amount=1):
        self.job.progress_done += amount
        self._dirty = True
        self.flush()

    def set_done(self, done):
        self.job.progress_done = done
        self._dirty = True
        self.flush()

    def log(self, message):
        stamp = timezone.now().strftime("%H:%M:%S")
        for line in str(message).splitlines() or [""]:
            self._log.append(f"{stamp} {line}")
        logger.info("job %s: %s", self.job.pk, message)
        self._dirty = True
        self.flush()

    def flush(self, force=False):
        """Write progress and log to the row at most every PROGRESS_FLUSH_SECONDS; raise if cancelled."""
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_flush < PROGRESS_FLUSH_SECONDS):
            return
        self._last_flush = now
        self._dirty = False
        self.job.log_tail = self.log_text
        Job.objects.filter(pk=self.job.pk).update(
            progress_done=self.job.progress_done,
            progress_total=self.job.progress_total,
            progress_unit=self.job.progress_unit,
            log_tail=self.job.log_tail,
            heartbeat_at=timezone.now(),
        )
        self.check_cancelled()

    def check_cancelled(self):
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled("Cancelled on request.")

    # Items: a runner declares its units of work once, then does only those not yet succeeded.
    def ensure_items(self, keys):
        JobItem.objects.bulk_create(
            [JobItem(job=self.job, key=key) for key in keys], ignore_conflicts=True, batch_size=1000
        )

    def pending_items(self):
        return self.job.items.exclude(status=ItemStatus.SUCCEEDED).order_by("pk")

    def item_succeeded(self, item, result=None):
        JobItem.objects.filter(pk=item.pk).update(
            status=ItemStatus.SUCCEEDED, error="", result=result or {}, attempts=F("attempts") + 1,
            updated_at=timezone.now(),
        )

    def item_failed(self, item, error):
        JobItem.objects.filter(pk=item.pk).update(
            status=ItemStatus.FAILED, error=str(error)[:10000], attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        self.log(f"item {item.key} failed: {str(error).splitlines()[0] if str(error) else 'error'}")

    def item_counts(self):
        return item_counts(self.job)


def stale_cutoff():
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


def claim_job(job_id, version):
    """Atomically move the job to running; return it, or None if another delivery owns it or it is done.

    A redelivered message (worker died, late ack) may take over a running job only when its heartbeat is stale.
    """
    claimable = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale_cutoff())
    now = timezone.now()
    claimed = (
        Job.objects.filter(claimable, pk=job_id, version=version, cancel_requested=False)
        .update(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None,
                attempts=F("attempts") + 1, error="", traceback="")
    )
    return Job.objects.get(pk=job_id) if claimed else None


class Heartbeat(threading.Thread):
    """Touch the job's heartbeat while the runner works, so the watchdog can tell a live job from a lost one."""

    def __init__(self, job_id):
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:  # a locked SQLite file or a dropped connection: try again next beat
                    logger.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=HEARTBEAT_SECONDS + 5)


def finish_job(ctx, status, result=None, error="", trace=""):
    job = ctx.job
    Job.objects.filter(pk=job.pk).update(
        status=status,
        result=result if result is not None else job.result,
        error=error,
        traceback=trace,
        finished_at=timezone.now(),
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        log_tail=ctx.log_text,
    )


def execute_job(job_id, version):
    """Claim and run one job; every outcome, including a crash, is written to the job row."""
    job = claim_job(job_id, version)
    if job is None:
        logger.info("job %s v%s not claimable; skipping delivery", job_id, version)
        return None
    kind = JOB_KINDS.get(job.kind)
    ctx = JobContext(job)
    if kind is None:
        finish_job(ctx, JobStatus.FAILED, error=f"Unknown job kind {job.kind!r}.")
        return job.pk
    heartbeat = Heartbeat(job.pk)
    heartbeat.start()
    try:
        ctx.log(f"started (attempt {job.attempts})")
        result = kind.function(ctx)
        ctx.log("finished")
        finish_job(ctx, JobStatus.SUCCEEDED, result=result or {})
    except JobCancelled as exc:
        ctx.log(str(exc))
        finish_job(ctx, JobStatus.CANCELLED, error=str(exc))
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        ctx.log(f"failed: {exc}")
        finish_job(ctx, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
    finally:
        heartbeat.stop()
    return job.pk
