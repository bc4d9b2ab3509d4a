"""Thread search, filters and list loading shared by the corpus pages and the API (indexes: see migration 0002;
the database-specific SQL: corpus/sql)."""

import re
from collections.abc import Sequence

from django.db.models import Exists, OuterRef, QuerySet

from .models import Post, Question, Thread
from .sql import sql

# Columns the list shows; loading only these keeps 5 MB posts out of the list query.
LIST_FIELDS = (
    "thread_id", "question_count", "has_final_diagnosis", "has_credentialed_author", "final_diagnosis",
    "post__post_id", "post__title", "post__split",
)
# Letters and digits only: "_" and punctuation separate words in both indexes, so they never reach a query.
WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Longer queries only slow the index down; nobody types more words than this into a search box.
MAX_WORDS = 12


def search_words(query: str | None) -> list[str]:
    """Return the lower-cased words of a search query; punctuation and query operators are dropped."""
    return WORD.findall((query or "").lower())[:MAX_WORDS]


def search_threads(threads: QuerySet[Thread], query: str | None) -> QuerySet[Thread]:
    """Filter a Thread queryset to those matching every word of `query` (prefix match on the last word)."""
    words = search_words(query)
    if not words:
        return threads
    return sql().match_words(threads, words)


def filter_threads(
    threads: QuerySet[Thread], *, q: str = "", split: str = "", question_type: str = "",
    diagnosis: bool | None = None, credentialed: bool | None = None,
) -> QuerySet[Thread]:
    """Apply the thread-list search and filters shared by the corpus pages and the API."""
    threads = search_threads(threads, q)
    if split:
        # A membership test, not a join: SQLite then walks threads in thread_id order and stops at the page's end,
        # instead of starting from every post of the split (6 s combined with a search, without ANALYZE statistics).
        posts = Post.objects.filter(split=split).values("pk")
        threads = threads.alias(split_post=sql().unindexed("post_id")).filter(split_post__in=posts)
    if question_type:
        threads = threads.filter(
            Exists(Question.objects.filter(thread=OuterRef("pk"), question_type=question_type))
        )
    if diagnosis is not None:
        threads = threads.filter(has_final_diagnosis=diagnosis)
    if credentialed is not None:
        threads = threads.filter(has_credentialed_author=credentialed)
    return threads


def thread_keys() -> QuerySet[Thread]:
    """Return threads as (id, thread_id) only, in thread_id order: what filtering and paging need.

    The page's rows are loaded afterwards by id (load_list_rows), so the database never joins posts to every
    matching thread before the sort and limit: PostgreSQL did, hashing all 7,680 posts for a 51-row page.
    """
    return Thread.objects.only("id", "thread_id").order_by("thread_id")


def load_list_rows(keys: Sequence[Thread]) -> list[Thread]:
    """Return the list columns of the given threads, in the order given."""
    rows = Thread.objects.select_related("post").only(*LIST_FIELDS).in_bulk([key.pk for key in keys])
    return [rows[key.pk] for key in keys if key.pk in rows]
