"""Full-text search over threads, using the index each database has (see migration 0002)."""

import re

from django.db import connection

WORD = re.compile(r"\w+", re.UNICODE)


def search_threads(threads, query):
    """Filter a Thread queryset to those matching every word of `query` (prefix match on the last word)."""
    words = WORD.findall(query.lower())
    if not words:
        return threads
    if connection.vendor == "sqlite":
        # Quote each word so FTS5 operators typed by a user are searched as text, not parsed.
        match = " ".join(f'"{word}"' for word in words[:-1]) + f' "{words[-1]}"*'
        return threads.extra(
            where=["corpus_thread.id IN (SELECT rowid FROM corpus_thread_fts WHERE corpus_thread_fts MATCH %s)"],
            params=[match.strip()],
        )
    if connection.vendor == "postgresql":
        tsquery = " & ".join(words[:-1] + [f"{words[-1]}:*"])
        return threads.extra(
            where=["to_tsvector('english', corpus_thread.search_text) @@ to_tsquery('english', %s)"],
            params=[tsquery],
        )
    for word in words:
        threads = threads.filter(search_text__contains=word)
    return threads
