"""PostgreSQL: tsvector search through the GIN index, rows streamed with COPY, the writer thread always, and
ANALYZE of the corpus tables after an import."""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import F, Func, QuerySet
from django.db.models.expressions import RawSQL

if TYPE_CHECKING:
    from ..importers.writer import Inserter
    from ..models import Thread

__all__ = [
    "match_words", "max_parameters", "plans_fresh_chunks", "refresh_statistics", "tune_connection", "unindexed",
    "write_rows", "writer_thread_wanted",
]


def unindexed(column: str) -> F | Func:
    """Return the column as it is: the `+column` trick is SQLite's, and this planner picks the page order well."""
    return F(column)


def match_words(threads: "QuerySet[Thread]", words: Sequence[str]) -> "QuerySet[Thread]":
    """Filter threads to those whose search text matches every word (a prefix match on the last); words not empty."""
    # The GIN index serves to_tsvector('english', search_text) only. The hits are computed in a subquery that
    # OFFSET 0 keeps the planner from flattening: otherwise it walks the thread_id index for the page order and
    # computes to_tsvector on every row it passes (64 ms for "pain", seconds for a rare word).
    # A query of stop words only ("the") reduces to an empty tsquery: treat it as no search, as on SQLite,
    # instead of matching nothing; numnode() of a literal is folded by the planner, so the index still serves.
    tsquery = " & ".join([*words[:-1], f"{words[-1]}:*"])
    hits = RawSQL(
        "SELECT hit.id FROM corpus_thread hit WHERE numnode(to_tsquery('english', %s)) = 0"
        " OR to_tsvector('english', hit.search_text) @@ to_tsquery('english', %s) OFFSET 0",
        [tsquery, tsquery],
    )
    return threads.filter(id__in=hits)


def max_parameters() -> int:
    """Return how many parameters one statement may carry: the protocol counts them in 16 bits."""
    return 65_535


def write_rows(inserter: "Inserter", params: list[Any]) -> None:
    """Stream the rows whose flat values params holds with COPY, several times faster than INSERT for bulk data."""
    width, copy_sql = len(inserter.columns), f"COPY {inserter.table} ({inserter.column_list}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for start in range(0, len(params), width):
            copy.write_row(params[start:start + width])


def plans_fresh_chunks() -> bool:
    """Whether a chunk of new rows is planned on the reading thread (ChunkWriter.plan_fresh): no, as its INSERTs
    name parents by natural key and COPY takes plain values."""
    return False


def writer_thread_wanted(fresh: bool) -> bool:
    """Whether an import writes on a writer thread: always, fresh or not, as the server works while this process
    checks the next chunk (15.0 s against 16.2 s inline for 24,800 records)."""
    return True


def tune_connection() -> Callable[[], None]:
    """Bulk-import settings for the writing connection: none are needed; return the function that restores nothing."""
    return lambda: None


def refresh_statistics() -> None:
    """Refresh the planner's statistics after an import wrote rows: ANALYZE of the corpus tables."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE corpus_post, corpus_thread, corpus_comment, corpus_question")
