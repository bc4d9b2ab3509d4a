"""SQLite: nothing of its own. Every record is written through the ORM (audit.recording), in the caller's
transaction; only PostgreSQL's single-statement submit needs the record in SQL (audit.sql.postgresql)."""

__all__: list[str] = []
