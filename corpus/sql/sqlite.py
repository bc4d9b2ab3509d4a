"""SQLite: FTS5 search, the `+column` planner trick, multi-row INSERTs within the parameter limit, fresh chunks,
the import connection's PRAGMAs and PRAGMA optimize."""

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import BigIntegerField, F, Func, QuerySet
from django.db.models.expressions import RawSQL

if TYPE_CHECKING:
    from ..importers.writer import Inserter
    from ..models import Thread

__all__ = [
    "match_words", "max_parameters", "plans_fresh_chunks", "refresh_statistics", "tune_connection", "unindexed",
    "write_rows", "writer_thread_wanted",
]

# Settings for the connection that writes an import's chunks (restored when the import ends):
# a 64 MiB page cache keeps a chunk's index pages in memory, temporary b-trees stay in memory, and the WAL is
# checkpointed every 64 MiB instead of every 4 MiB (each checkpoint syncs the database file; synchronous stays
# NORMAL, so a commit is as durable as before).
IMPORT_PRAGMAS = {"cache_size": -65_536, "temp_store": 2, "wal_autocheckpoint": 16_384}


def unindexed(column: str) -> F | Func:
    """Return the column as `+column`, which keeps the planner from driving the query by its index.

    The thread list wants its rows in thread_id order and only a page of them: walking the thread_id index and
    testing each row against a search hit list or a set of posts stops after 51 rows, while letting SQLite start
    from the list sorts every hit (12 ms for "pain" at 12,000 threads) or, without ANALYZE statistics, nests the
    list inside a loop over posts (seconds).
    """
    return Func(F(column), template="+%(expressions)s", output_field=BigIntegerField())


def match_words(threads: "QuerySet[Thread]", words: Sequence[str]) -> "QuerySet[Thread]":
    """Filter threads to those whose FTS5 row matches every word (a prefix match on the last); words not empty."""
    # Quote each word so FTS5 operators typed by a user are searched as text, not parsed.
    match = " ".join(f'"{word}"' for word in words[:-1]) + f' "{words[-1]}"*'
    fts = RawSQL("SELECT rowid FROM corpus_thread_fts WHERE corpus_thread_fts MATCH %s", [match.strip()])
    return threads.alias(search_rowid=unindexed("id")).filter(search_rowid__in=fts)


def max_parameters() -> int:
    """Return how many parameters one statement may carry: the connection's limit (999 in older SQLite builds)."""
    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def write_rows(inserter: "Inserter", params: list[Any]) -> None:
    """Insert the rows whose flat values params holds with multi-row INSERTs of inserter.per_statement rows."""
    width, step = len(inserter.columns), inserter.per_statement
    count = len(params) // width
    with connection.cursor() as cursor:
        for start in range(0, count, step):
            rows = min(step, count - start)
            cursor.execute(inserter.statement(rows), params[start * width:(start + rows) * width])


def plans_fresh_chunks() -> bool:
    """Whether a chunk of new rows is planned on the reading thread (ChunkWriter.plan_fresh): yes, as its INSERTs
    name parents by natural key, which SQLite resolves per row, so the writer thread runs little but SQL."""
    return True


def writer_thread_wanted(fresh: bool) -> bool:
    """Whether an import writes on a writer thread: when its first chunk is fresh, as the writer then runs little but
    SQL, 5.1-6.5 s (median 5.6) against 5.4-8.2 s (median 6.7) inline, six alternating pairs of
    bench/import_bench.py. Chunks of existing rows (a re-import) make the writer thread do Python work that contends
    with the reader's for the GIL, and they are written inline (docs/corpus-import.md)."""
    return fresh


def tune_connection() -> Callable[[], None]:
    """Apply IMPORT_PRAGMAS to this thread's connection; return a function that restores the settings."""
    if connection.in_atomic_block:  # temp_store cannot change in a transaction
        return lambda: None
    with connection.cursor() as cursor:
        old = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in IMPORT_PRAGMAS}
        for name, value in IMPORT_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name} = {int(value)}")

    def restore() -> None:
        if connection.connection is None or connection.in_atomic_block:
            return
        with connection.cursor() as cursor:
            for name, value in old.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")

    return restore


def refresh_statistics() -> None:
    """Refresh the planner's statistics after an import wrote rows: PRAGMA optimize analyzes only the tables whose
    statistics are stale."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA optimize")
