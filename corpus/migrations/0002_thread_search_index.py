"""Full-text index over Thread.search_text: FTS5 on SQLite, a GIN tsvector index on PostgreSQL."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE corpus_thread_fts USING fts5(search_text, content='corpus_thread', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER corpus_thread_fts_ai AFTER INSERT ON corpus_thread BEGIN "
    "INSERT INTO corpus_thread_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER corpus_thread_fts_ad AFTER DELETE ON corpus_thread BEGIN "
    "INSERT INTO corpus_thread_fts(corpus_thread_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER corpus_thread_fts_au AFTER UPDATE OF search_text ON corpus_thread BEGIN "
    "INSERT INTO corpus_thread_fts(corpus_thread_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO corpus_thread_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS corpus_thread_fts_au",
    "DROP TRIGGER IF EXISTS corpus_thread_fts_ad",
    "DROP TRIGGER IF EXISTS corpus_thread_fts_ai",
    "DROP TABLE IF EXISTS corpus_thread_fts",
]
POSTGRES_FORWARD = [
    "CREATE INDEX corpus_thread_search_gin ON corpus_thread USING gin (to_tsvector('english', search_text))",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS corpus_thread_search_gin"]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("corpus", "0001_initial")]

    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
