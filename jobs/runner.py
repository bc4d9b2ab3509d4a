"""Run a claimed job: the registry of job kinds, the context a runner reports through, and the heartbeat."""

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from audit.context import acting_as

from .models import ItemStatus, Job, JobItem, JobStatus, Queue, item_counts

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
PROGRESS_FLUSH_SECONDS = 0.5
LOG_TAIL_LINES = 200


class JobCancelled(Exception):
    """Raised inside a runner when a lead cancelled its job."""


class JobSuperseded(JobCancelled):
    """Raised inside a runner whose attempt is no longer the job's current one: it must stop and write nothing.

    A subclass of JobCancelled, so runner code that stops cleanly on a cancel (and re-raises) stops here too.
    """


@dataclass(frozen=True)
class Attempt:
    """The fencing token of one claim of a job: the version it was queued with and its attempt number.

    `version` alone is not enough: a redelivered message may take over a stale running job at the same version.
    Every claim bumps `attempts`, so (version, attempts) names one attempt; once the watchdog re-queues the job,
    a cancel ends it or another attempt claims it, the old attempt's writes match no row.
    """

    job_id: int
    version: int
    number: int

    @classmethod
    def of(cls, job: Job) -> "Attempt":
        return cls(job.pk, job.version, job.attempts)

    def job_row(self) -> QuerySet[Job]:
        """Return the job's row as a queryset that is empty unless this attempt is still the running one."""
        return Job.objects.filter(pk=self.job_id, version=self.version, attempts=self.number, status=JobStatus.RUNNING)

    def item_rows(self, **filters: Any) -> QuerySet[JobItem]:
        return JobItem.objects.filter(job_id=self.job_id, job__version=self.version, job__attempts=self.number,
                                      job__status=JobStatus.RUNNING, **filters)

    def superseded(self) -> JobSuperseded:
        return JobSuperseded(f"Job {self.job_id} attempt {self.number} (v{self.version}) was superseded; stopping.")


@dataclass(frozen=True)
class JobKind:
    name: str
    function: "Runner"
    queue: str = Queue.DEFAULT
    label: str = ""


JOB_KINDS: dict[str, JobKind] = {}


def job_runner(name: str, queue: str = Queue.DEFAULT, label: str = "") -> Callable[["Runner"], "Runner"]:
    """Register `function(ctx: JobContext) -> dict` as the runner for job kind `name`."""

    def register(function: "Runner") -> "Runner":
        JOB_KINDS[name] = JobKind(name, function, queue, label or name.replace("_", " "))
        return function

    return register


class JobContext:
    """What a runner sees: the job row, throttled progress and log writes, items, and cancellation."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.attempt = Attempt.of(job)
        self._log = deque(job.log_tail.splitlines(), maxlen=LOG_TAIL_LINES)
        self._last_flush = 0.0
        self._dirty = False

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def log_text(self) -> str:
        return "\n".join(self._log)

    def set_total(self, total: int, unit: str | None = None) -> None:
        self.job.progress_total = total
        self.job.progress_unit = unit or self.job.progress_unit
        self.flush(force=True)

    def advance(self, amount: int = 1) -> None:
        self.job.progress_done += amount
        self._dirty = True
        self.flush()

    def set_done(self, done: int) -> None:
        self.job.progress_done = done
        self._dirty = True
        self.flush()

    def log(self, message: object) -> None:
        self.note(message)
        self.flush()

    def note(self, message: object) -> None:
        """Add the message to the log tail without writing the row; the next flush or the outcome carries it."""
        stamp = timezone.now().strftime("%H:%M:%S")
        for line in str(message).splitlines() or [""]:
            self._log.append(f"{stamp} {line}")
        logger.info("job %s: %s", self.job.pk, message)
        self._dirty = True

    def flush(self, force: bool = False) -> None:
        """Write progress and log to the row at most every PROGRESS_FLUSH_SECONDS; raise if cancelled or superseded."""
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_flush < PROGRESS_FLUSH_SECONDS):
            return
        self._last_flush = now
        self._dirty = False
        self.job.log_tail = self.log_text
        written = self.attempt.job_row().update(
            progress_done=self.job.progress_done,
            progress_total=self.job.progress_total,
            progress_unit=self.job.progress_unit,
            log_tail=self.job.log_tail,
            heartbeat_at=timezone.now(),
        )
        if not written:
            raise self.attempt.superseded()
        self.check_cancelled()

    def set_result(self, result: dict[str, Any]) -> None:
        """Publish the running job's partial result now (fenced: a superseded attempt raises instead)."""
        self.job.result = result
        if not self.attempt.job_row().update(result=result, heartbeat_at=timezone.now()):
            raise self.attempt.superseded()

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancel was requested, JobSuperseded if this attempt no longer owns the job."""
        cancel_requested = self.attempt.job_row().values_list("cancel_requested", flat=True).first()
        if cancel_requested is None:
            raise self.attempt.superseded()
        if cancel_requested:
            raise JobCancelled("Cancelled on request.")

    # Items: a runner declares its units of work once, then does only those not yet succeeded.
    def ensure_items(self, keys: Iterable[str]) -> None:
        # An INSERT cannot carry the fence; creating missing items is idempotent, so checking first is enough.
        if not self.attempt.job_row().exists():
            raise self.attempt.superseded()
        JobItem.objects.bulk_create(
            [JobItem(job=self.job, key=key) for key in keys], ignore_conflicts=True, batch_size=1000
        )

    def pending_items(self) -> QuerySet[JobItem]:
        return self.job.items.exclude(status=ItemStatus.SUCCEEDED).order_by("pk")

    def item_succeeded(self, item: JobItem, result: dict[str, Any] | None = None) -> None:
        self._update_item(item, status=ItemStatus.SUCCEEDED, error="", result=result or {})

    def item_failed(self, item: JobItem, error: object) -> None:
        self._update_item(item, status=ItemStatus.FAILED, error=str(error)[:10000])
        self.log(f"item {item.key} failed: {str(error).splitlines()[0] if str(error) else 'error'}")

    def _update_item(self, item: JobItem, **fields: Any) -> None:
        written = self.attempt.item_rows(pk=item.pk).update(
            **fields, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        if not written:
            raise self.attempt.superseded()

    def item_counts(self) -> dict[str, int]:
        return item_counts(self.job)


Runner = Callable[[JobContext], dict[str, Any] | None]  # a job kind's function: ctx -> result


def stale_cutoff() -> datetime:
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


def claim_job(job_id: int, version: int) -> Job | None:
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

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(daemon=True, name=f"job-{attempt.job_id}-heartbeat")
        self.attempt = attempt
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    if not self.beat():
                        return  # superseded: beating on would hide the loss of the attempt that owns the job now
                except Exception:  # a locked SQLite file or a dropped connection: try again next beat
                    logger.warning("heartbeat for job %s failed", self.attempt.job_id, exc_info=True)
        finally:
            connection.close()

    def beat(self) -> bool:
        """Touch the heartbeat; return False once this attempt no longer owns the job."""
        return bool(self.attempt.job_row().update(heartbeat_at=timezone.now()))

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=HEARTBEAT_SECONDS + 5)


def finish_job(
    ctx: JobContext, status: str, result: dict[str, Any] | None = None, error: str = "", trace: str = ""
) -> bool:
    """Write the attempt's outcome; return False (writing nothing) when the attempt was superseded meanwhile."""
    job = ctx.job
    written = ctx.attempt.job_row().update(
        status=status,
        result=result if result is not None else job.result,
        error=error,
        traceback=trace,
        finished_at=timezone.now(),
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        log_tail=ctx.log_text,
    )
    if not written:
        logger.warning("job %s attempt %s was superseded; its %s outcome is dropped", job.pk, ctx.attempt.number,
                       status)
    return bool(written)


def execute_job(job_id: int, version: int) -> int | None:
    """Claim and run one job; every outcome, including a crash, is written to the job row by its current attempt."""
    job = claim_job(job_id, version)
    if job is None:
        logger.info("job %s v%s not claimable; skipping delivery", job_id, version)
        return None
    kind = JOB_KINDS.get(job.kind)
    ctx = JobContext(job)
    if kind is None:
        finish_job(ctx, JobStatus.FAILED, error=f"Unknown job kind {job.kind!r}.")
        return job.pk
    heartbeat = Heartbeat(ctx.attempt)
    heartbeat.start()
    try:
        ctx.log(f"started (attempt {job.attempts})")
        with acting_as(job.owner):  # the audit records a job writes name whoever launched it
            outcome: dict[str, Any] = {"status": JobStatus.SUCCEEDED, "result": kind.function(ctx) or {}}
        ctx.note("finished")
    except JobSuperseded as exc:
        logger.warning("%s", exc)  # the attempt that owns the job now writes its outcome
        return None
    except JobCancelled as exc:
        ctx.note(str(exc))
        outcome = {"status": JobStatus.CANCELLED, "error": str(exc)}
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        ctx.note(f"failed: {exc}")
        outcome = {"status": JobStatus.FAILED, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    finally:
        heartbeat.stop()
    # The outcome write carries the last log lines; a flush here could only raise JobSuperseded out of a handler.
    return job.pk if finish_job(ctx, **outcome) else None


def run_job_here(job: Job, poll_s: float = 0.5) -> Job:
    """Run a queued job in this process (the command line's --inline) and return it finished.

    Whoever claims the row runs it: if a worker was faster, wait for that worker instead.
    """
    job.refresh_from_db()
    if not job.is_finished:
        execute_job(job.pk, job.version)
    job.refresh_from_db()
    while not job.is_finished:
        time.sleep(poll_s)
        job.refresh_from_db()
    return job
