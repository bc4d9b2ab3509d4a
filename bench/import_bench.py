"""Time the corpus import of a question-record file into a fresh database and print records/s and peak memory.

Usage:
    python bench/generate_questions.py bench/out/questions_x40.jsonl --copies 40
    python bench/import_bench.py bench/out/questions_x40.jsonl                # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/alfa_bench python bench/import_bench.py FILE

With a PostgreSQL DATABASE_URL the bench creates a scratch database next to the named one (<name>_run_<pid>),
migrates it, imports, and drops it again; the named database itself is never written. --reimport times a
second import of the same file (idempotent: nothing created). --profile writes a cProfile of the import.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from machine_info import describe_machine  # bench/ is on the path when a benchmark runs as a script
from scratch_db import scratch_postgres  # bench/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20






def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--reimport", action="store_true", help="also time a second import of the same file")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the (first) import here (implies --inline)")
    parser.add_argument("--inline", action="store_true", help="write chunks on the reading thread (no writer thread)")
    parser.add_argument("--threaded", action="store_true",
                        help="write chunks on a writer thread (default: as the importer decides for the database)")
    parser.add_argument("--sql-floor", action="store_true",
                        help="SQLite: replay the import's INSERT statements alone into a fresh copy (the SQL floor)")
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    cleanup = None
    tmp = tempfile.TemporaryDirectory(prefix="alfa-bench-")
    if url.startswith(("postgres://", "postgresql://")):
        url, cleanup = scratch_postgres(url)
    else:
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ALFA_VAR_DIR", str(ROOT / "var"))
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from corpus.importers import import_path
    from corpus.models import Comment, Post, Question, Thread

    if args.inline or args.profile or args.sql_floor:
        settings.ALFA_IMPORT_WRITER_THREAD = False
    elif args.threaded:
        settings.ALFA_IMPORT_WRITER_THREAD = True
    try:
        call_command("migrate", verbosity=0)
        if args.sql_floor:
            return sql_floor(args.file, tmp.name)
        baseline = current_rss_mb()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        run = import_path(args.file, split="test")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        records = run.records_read
        version = connection.Database.sqlite_version if connection.vendor == "sqlite" else connection.pg_version
        print(f"database     {connection.vendor} {version}")
        print(f"machine      {describe_machine()}")
        print(f"file         {args.file} ({args.file.stat().st_size / 2**20:.1f} MiB)")
        print(f"records      {records:,} read, {run.rejected} rejected; created {run.created}")
        print(f"rows         {Post.objects.count():,} posts, {Thread.objects.count():,} threads, "
              f"{Comment.objects.count():,} comments, {Question.objects.count():,} questions")
        from corpus.importers.pipeline import use_writer_thread

        thread = "on" if use_writer_thread() else "off"
        print(f"wall time    {wall:.2f} s (CPU {cpu:.2f} s, writer thread {thread})")
        print(f"throughput   {records / wall:,.0f} records/s")
        print(f"peak RSS     {rss_mb():.0f} MB (process; {baseline:.0f} MB before the import)")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on this machine slows it)")
        if args.reimport:
            started = time.perf_counter()
            again = import_path(args.file, split="test")
            wall = time.perf_counter() - started
            print(f"re-import    {wall:.2f} s, {again.records_read / wall:,.0f} records/s; created {again.created}, "
                  f"updated {again.updated}, unchanged {again.unchanged:,}")
            print(f"peak RSS     {rss_mb():.0f} MB after the re-import")
    finally:
        if cleanup:
            cleanup()
        tmp.cleanup()


def sql_floor(path, folder):
    """Time the database work alone: record the import's INSERTs, then replay them into a fresh migrated copy."""
    import shutil
    import sqlite3

    from django.db import connection

    from corpus.importers import import_path

    connection.close()  # checkpoint the migrated, empty database into its file
    empty = Path(folder) / "empty.sqlite3"
    shutil.copy(Path(folder) / "bench.sqlite3", empty)
    statements = []

    def record(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "corpus_') and "importrun" not in sql:
            statements.append((sql.replace("%s", "?"), list(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        import_path(path, split="test")
    best = {}
    for trigger in (True, False) * 3:  # best of three, alternating: the machine may be shared
        copy = Path(folder) / f"replay-{trigger}.sqlite3"
        shutil.copy(empty, copy)
        db = sqlite3.connect(copy, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if not trigger:
            triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_fts_ai'"
            for (name,) in db.execute(triggers).fetchall():
                db.execute(f"DROP TRIGGER {name}")
        started, cpu = time.perf_counter(), time.process_time()
        db.execute("BEGIN")
        for sql, params in statements:
            db.execute(sql, params)
        db.execute("COMMIT")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        best[trigger] = min(best.get(trigger, (wall, cpu)), (wall, cpu))
        db.close()
        copy.unlink()
    for trigger, (wall, cpu) in best.items():
        label = "with the FTS5 triggers" if trigger else "without the FTS5 triggers"
        print(f"SQL floor    {wall:.2f} s (CPU {cpu:.2f} s) for {len(statements)} INSERT statements {label}, best of 3")


if __name__ == "__main__":
    main()
