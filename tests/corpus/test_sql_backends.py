"""corpus.sql: the SQLite and PostgreSQL modules define the same functions, and the running database gets its own."""

import importlib
import threading
from pathlib import Path

import pytest
from django.db import connection

from alfa_platform.backends import VENDORS, backend, interface
from corpus.sql import sql

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
# What the corpus calls through sql(): a module that lacks one would fail only on its own database.
CALLED = {"match_words", "max_parameters", "plans_fresh_chunks", "refresh_statistics", "tune_connection",
          "unindexed", "write_rows", "writer_thread_wanted"}


def modules():
    return [importlib.import_module(f"corpus.sql.{vendor}") for vendor in VENDORS]


def test_both_modules_define_the_same_functions_with_the_same_signatures():
    sqlite, postgresql = modules()
    assert interface(sqlite) == interface(postgresql)
    assert set(interface(sqlite)) == CALLED


def test_each_module_exports_exactly_its_functions():
    for module in modules():
        assert sorted(module.__all__) == sorted(interface(module)), module.__name__


def test_the_running_database_gets_the_module_of_its_vendor():
    expected = importlib.import_module(f"corpus.sql.{connection.vendor}")
    assert backend("corpus.sql") is expected
    assert sql() is expected


def test_no_corpus_module_tests_the_vendor_itself():
    readers = [str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*.py")
               if "migrations" not in path.parts and "connection.vendor" in path.read_text()]
    assert readers == []


def test_a_statement_carries_at_least_the_oldest_sqlite_limit_of_parameters(db):
    assert sql().max_parameters() >= 999


def on_own_connection(work):
    """Run work() on a new thread, whose connection (unlike the test's) has no transaction open, as a writer's."""
    results = []

    def run():
        try:
            results.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return results[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PRAGMAs are SQLite's")
def test_the_import_settings_of_a_connection_are_restored_afterwards(db):
    def cache_size():
        with connection.cursor() as cursor:
            return cursor.execute("PRAGMA cache_size").fetchone()[0]

    def tune_and_restore():
        before = cache_size()
        restore = sql().tune_connection()
        tuned = cache_size()
        restore()
        return before, tuned, cache_size()

    before, tuned, after = on_own_connection(tune_and_restore)
    assert tuned == -65_536 != before
    assert after == before
