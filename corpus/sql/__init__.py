"""The corpus app's database-specific SQL: `sqlite.py` and `postgresql.py` define the same functions.

Full-text search (FTS5 against a GIN tsvector index), the planner trick of the thread list, the parameter limit of a
statement, how a chunk's rows reach the database (multi-row INSERT against COPY), whether an import plans fresh
chunks and writes on a second thread, the import connection's settings (PRAGMAs) and the statistics refresh after an
import (PRAGMA optimize against ANALYZE). Callers use `sql()`, the module of the default connection's database, and
never test the vendor themselves (alfa_platform.backends).
"""

from types import ModuleType

from alfa_platform.backends import backend


def sql() -> ModuleType:
    """The module of this package for the database of the default connection (corpus.sql.sqlite or .postgresql)."""
    return backend(__name__)
