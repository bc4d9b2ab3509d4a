"""import_path: read one file, detect or check its format, and import it chunk by chunk into an ImportRun."""

import hashlib
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..models import ImportRun, Split
from ..sql import sql
from .base import CHUNK_RECORDS, FileRejected, NameScrubber, Pseudonymizer, RecordError, Report
from .reader import Line, RecordStream
from .units import FileState, Record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from jobs.models import Job
    from jobs.runner import JobContext


class ChunkOutcome(Protocol):
    """What the report takes of a written chunk (writer.ChunkResult; this module never imports the writer)."""

    created: Counter[str]
    updated: Counter[str]
    stats: Counter[str]
    unchanged: int
    rejected: list[tuple[int, list[RecordError]]]


Text = TypeVar("Text", str, str | None)
Progress = Callable[[int, int], object]  # on_progress(bytes_done, bytes_total)
Job_ = Callable[[], tuple[list[ChunkOutcome], int]]  # a chunk's write: job() -> (results, position)

SPLIT_WORDS = {
    "train": Split.TRAIN,
    "training": Split.TRAIN,
    "eval": Split.VALIDATION,
    "validation": Split.VALIDATION,
    "valid": Split.VALIDATION,
    "val": Split.VALIDATION,
    "dev": Split.VALIDATION,
    "test": Split.TEST,
}
WORD = re.compile(r"[a-z]+")


def infer_split(name: str) -> str | None:
    """Return the split a file name names (train_q.jsonl -> train, eval_q -> validation, test_q -> test), else None."""
    found = {SPLIT_WORDS[word] for word in WORD.findall(Path(name).name.lower()) if word in SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


class ImportContext:
    """Everything one file's import shares: its run, report, per-file state, split and the pseudonymizer."""

    def __init__(self, run: ImportRun, report: Report, split: str, split_explicit: bool = False) -> None:
        self.run, self.report, self.split = run, report, split
        self.split_explicit = split_explicit  # named by the caller, not inferred from the file name
        self.format = ""
        self.state = FileState()
        self.pseudonymize = Pseudonymizer()
        self.scrubber = NameScrubber(self.pseudonymize)

    def scrub(self, text: Text, names: Collection[str]) -> Text:
        """Return text with whole-word mentions of the given forum usernames replaced by their pseudonyms."""
        if not text or not names:
            return text
        for name in names:
            if name in text:
                break
        else:
            return text
        text, count = self.scrubber(text, names)
        if count:
            self.report.normalizations["usernames mentioned in text: pseudonymized"] += count
        return text

    def merge(self, result: ChunkOutcome) -> None:
        """Add a committed chunk's outcome to the report."""
        report = self.report
        report.created.update(result.created)
        report.updated.update(result.updated)
        report.stats.update(result.stats)
        report.unchanged += result.unchanged
        for line, problems in result.rejected:
            report.reject(line, problems)


def import_path(
    path: str | Path, *, format: str | None = None, split: str | None = None,  # noqa: A002
    user: "User | None" = None, ctx: "JobContext | None" = None, name: str | None = None,
    job: "Job | None" = None, on_progress: Progress | None = None, progress_offset: int = 0,
) -> ImportRun:
    """Import one JSONL file (plain or gzip) and return its ImportRun with counts, errors and normalizations.

    format: one of FORMATS (None or "auto" detects it from the first record's keys); split: the posts' split
    (None infers it from the file name, else unassigned); ctx: a jobs.runner.JobContext to report progress to
    (bytes, offset by progress_offset) and to stop when the job is cancelled; on_progress(bytes_done, bytes_total)
    is called after each chunk.
    """
    from . import FORMATS_BY_NAME, detect_format

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    display = name or path.name
    named = None if format in (None, "", "auto") else format
    if named is not None and named not in FORMATS_BY_NAME:
        raise ValueError(f"unknown format {named!r}; choose one of {', '.join(FORMATS_BY_NAME)}")
    if split is not None and split not in Split.values:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(Split.values)}")
    chosen_split = split or infer_split(display) or Split.UNASSIGNED
    run = ImportRun.objects.create(
        file_name=display[:255], format=named or "", split=chosen_split, user=user,
        job=job or (ctx.job if ctx is not None else None), status=ImportRun.Status.RUNNING,
    )
    report = Report(display)
    context = ImportContext(run, report, chosen_split, split_explicit=split is not None)
    try:
        run.file_sha256 = file_sha256(path)
        with RecordStream(path) as stream:
            if stream.compressed:
                report.notes.append("gzip-compressed: decompressed while reading")
            try:
                run.format = read_records(stream, context, named, detect_format, ctx, on_progress, progress_offset)
                if run.format and not FORMATS_BY_NAME[run.format].parser.has_posts:
                    run.split = ""  # splits belong to posts; MCQ files have none
            finally:
                report.stats["blank lines"] += stream.blank_lines
                report.stats["bytes"] = stream.size
    except FileRejected as exc:
        report.error(exc.line, exc.field, exc.reason)
        run.format = run.format or context.format
        finish(run, report, ImportRun.Status.DONE)
        return run
    except BaseException as exc:  # a crash or a cancel: committed chunks stay, the run says where it stopped
        report.notes.append(f"stopped after {report.records_read:,} records: {type(exc).__name__}: {exc}")
        finish(run, report, ImportRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    if report.created or report.updated:
        sql().refresh_statistics()
    finish(run, report, ImportRun.Status.DONE)
    return run


def read_records(
    stream: RecordStream, context: ImportContext, named: str | None, detect_format: Callable[[Record], str | None],
    ctx: "JobContext | None", on_progress: Progress | None, progress_offset: int,
) -> str:
    """Feed the stream's records to the format's parser in chunks; return the format used."""
    from . import FORMATS_BY_NAME

    report = context.report
    parser: Any = None  # an instance of the format's parser class, once the first record named the format
    group: Any = None
    accepted: list[tuple[int, Record]] = []
    sink = ChunkSink(context)

    def flush() -> None:
        payload, position = parser.prepare(accepted), stream.position
        accepted.clear()

        def write() -> tuple[list[ChunkOutcome], int]:
            sink.tune()
            results = parser.write(payload)
            if ctx is not None:  # on the writer's connection: no lock wait behind our own transaction
                ctx.set_done(progress_offset + position)
            return results, position

        for position_done in sink.submit(write, threaded=use_writer_thread(parser.is_fresh(payload))):
            if on_progress is not None:
                on_progress(position_done, stream.size)

    try:
        for line in stream:
            report.records_read += 1
            if line.error is not None:
                report.reject(line.number, [line.error])
                continue
            if parser is None:
                context.format = check_format(line, named, detect_format)
                parser = FORMATS_BY_NAME[context.format].parser(context)
                stream.decoder = parser.decoder
            accept = parser.accept_decoded if line.decoded else parser.accept
            record = accept(line.number, line.record)
            if record is None:
                continue
            key = parser.group_key(record)
            if len(accepted) >= CHUNK_RECORDS and (key != group or len(accepted) >= 4 * CHUNK_RECORDS):
                flush()
            group = key
            accepted.append((line.number, record))
        if parser is None and report.records_read == 0:
            raise FileRejected(0, "-", "empty file: no records")
        if parser is not None:
            flush()
    except FileRejected:
        if accepted:  # a corrupt gzip tail: the complete records read before it are still imported
            flush()
        sink.close()
        raise
    except BaseException:
        sink.close(quiet=True)
        raise
    for position_done in sink.close():
        if on_progress is not None:
            on_progress(position_done, stream.size)
    if parser is None:  # every line was unreadable
        return named or ""
    parser.finish()
    return context.format


def use_writer_thread(fresh: bool = True) -> bool:
    """Return whether an import whose first chunk is (or is not) fresh writes its chunks on a second thread with
    its own connection: as the setting or the database says, and only when this thread has no transaction open,
    since the writer could not see uncommitted rows (tests, callers inside atomic()). What each database wants, and
    the timings behind it: writer_thread_wanted in corpus/sql."""
    wanted = getattr(settings, "ALFA_IMPORT_WRITER_THREAD", None)
    if wanted is None:
        wanted = sql().writer_thread_wanted(fresh)
    return wanted and not connection.in_atomic_block


class ChunkSink:
    """Write prepared chunks in order, inline or on one writer thread, and merge their results into the report.

    On the writer thread the database work (SQLite and psycopg release the GIL) overlaps with reading and
    checking the next chunk. At most two chunks wait, so memory stays flat.
    """

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self.results: queue.Queue[tuple[list[ChunkOutcome], int]] = queue.Queue()
        self.error: BaseException | None = None
        self.restore: Callable[[], None] | None = None  # undoes tune() on the writing connection
        self.started = False
        self.queue: queue.Queue[Job_ | None] | None = None  # the writer thread's, when there is one

    def submit(self, job: Job_, threaded: bool) -> list[int]:
        """Write a chunk (job() -> (results, position)); return the positions of the chunks merged meanwhile.

        threaded: whether to write on a writer thread; the first chunk decides for the whole import.
        """
        if not self.started:
            self.started = True
            if threaded:
                self.queue = queue.Queue(maxsize=2)
                self.thread = threading.Thread(target=self.work, name="corpus-import-writer", daemon=True)
                self.thread.start()
        if self.queue is None:
            self.results.put(job())
        else:
            if self.error is not None:
                raise self.error
            self.queue.put(job)
        return self.merge()

    def tune(self) -> None:
        """On the connection that writes (called there, before its first chunk): bulk-import settings."""
        if self.restore is None:
            self.restore = sql().tune_connection()

    def untune(self) -> None:
        if self.restore is not None:
            restore, self.restore = self.restore, None
            restore()

    def work(self) -> None:
        try:
            assert self.queue is not None  # submit() made it before starting this thread
            while True:
                job = self.queue.get()
                if job is None:
                    return
                if self.error is None:
                    try:
                        self.results.put(job())
                    except BaseException as exc:  # handed to the reading thread, which re-raises it
                        self.error = exc
        finally:
            try:
                self.untune()
            finally:
                connection.close()

    def merge(self) -> list[int]:
        positions = []
        while not self.results.empty():
            results, position = self.results.get()
            for result in results:
                self.context.merge(result)
            positions.append(position)
        return positions

    def close(self, quiet: bool = False) -> list[int]:
        """Wait for every submitted chunk; re-raise a writer error unless quiet; return the last positions."""
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
            self.queue = None
        else:
            self.untune()
        positions = self.merge()
        if self.error is not None and not quiet:
            raise self.error
        return positions


def check_format(line: Line, named: str | None, detect_format: Callable[[Record], str | None]) -> str:
    """Return the format of the first record, or reject the file when it is not the named one (or none)."""
    assert line.record is not None  # the caller passes a line that was read (line.error is None)
    detected = detect_format(line.record)
    if named is None:
        if detected is None:
            keys = ", ".join(sorted(line.record)[:12])
            raise FileRejected(
                line.number, "-", f"unknown format: no importer reads records with fields {keys}; nothing imported"
            )
        return detected
    if detected == named:
        return named
    from . import FORMATS_BY_NAME

    expected = FORMATS_BY_NAME[named]
    missing = ", ".join(sorted(expected.signature - set(line.record)))
    if detected is not None:
        reason = (
            f"wrong format: this looks like {detected} ({FORMATS_BY_NAME[detected].label}), not {named}; "
            f"name --format {detected} or leave the format out; nothing was imported from this file"
        )
    else:
        reason = (
            f"wrong format: not {named} ({expected.label}) records, missing fields {missing}; "
            "nothing was imported from this file"
        )
    raise FileRejected(line.number, "-", reason)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finish(run: ImportRun, report: Report, status: str, error: str = "") -> None:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.records_read = report.records_read
    run.created = dict(report.created)
    run.updated = dict(report.updated)
    run.unchanged = report.unchanged
    run.rejected = report.rejected
    run.skipped = report.skipped
    run.errors = report.errors
    run.error_count = report.error_count
    run.warnings = report.warnings
    run.normalizations = dict(report.normalizations)
    run.stats = dict(report.stats)
    run.notes = report.notes
    run.save()
