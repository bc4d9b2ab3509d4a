"""PostgreSQL's hot-path tools: cursors whose statements the server prepares, and loading instances from their rows.

Django's own cursors bind parameters on the client, so every statement is parsed and planned again; planning the
annotation loop's claim statement cost about as much as running it. Hot statements are fixed strings run on every
request over persistent connections, so psycopg prepares them after `prepare_threshold` uses (settings).
"""

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Model

if TYPE_CHECKING:
    from django.db.backends.utils import _ExecuteQuery


def prepared_cursor() -> CursorWrapper:
    """A Django cursor whose statements PostgreSQL binds, and psycopg prepares once per connection.

    The psycopg cursor is wrapped like Django's own: errors become django.db errors, and the statements are
    recorded in connection.queries (CaptureQueriesContext counts them).
    """
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    # make_cursor wraps a DB-API cursor; django-stubs types its argument as Django's own CursorWrapper
    return _LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)  # type: ignore[arg-type]


class _LoggedCursor(CursorDebugWrapper):
    """Logs a statement as written, placeholders and all: Django reads values back from client-bound cursors only."""

    def execute(self, sql: "_ExecuteQuery", params: Any = None) -> Any:
        with self.debug_sql(sql, params):  # type: ignore[arg-type]  # stub: debug_sql logs whatever execute takes
            return CursorWrapper.execute(self, sql, params)


M = TypeVar("M", bound=Model)


class RowLoader(Generic[M]):
    """A model's columns for a hand-written SELECT or RETURNING, and building instances from such rows.

    What the ORM does for a fetched row (from_db, JSON decoding), without compiling a query on every request.
    Columns in `left_out` are not selected: the instances have them deferred, so Django would load one with a
    query if some code read it after all.
    """

    def __init__(self, model: type[M], alias: str, left_out: Collection[str] = ()) -> None:
        fields = [field for field in model._meta.concrete_fields if field.attname not in left_out]
        self.model, self.width = model, len(fields)
        self.attnames = [field.attname for field in fields]
        self.columns = ", ".join(f'{alias}."{field.column}"' for field in fields)
        self.converters = [(index, field.from_db_value) for index, field in enumerate(fields)
                           if hasattr(field, "from_db_value")]

    def load(self, row: Sequence[Any], offset: int = 0) -> M:
        values = list(row[offset: offset + self.width])
        for index, convert in self.converters:
            values[index] = convert(values[index], None, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def fetch_one(self, rest: str, params: Sequence[Any]) -> M | None:
        """Run `SELECT <columns> <rest>` (rest may use {table}) as a prepared statement; an instance or None."""
        with prepared_cursor() as cursor:
            cursor.execute(f"SELECT {self.columns} " + rest.format(table=self.model._meta.db_table), params)
            row = cursor.fetchone()
        return None if row is None else self.load(row)
