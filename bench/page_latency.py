"""Measure corpus page latency (p50/p95 over N requests) on a database holding 24,800 question records.

Usage:
    python bench/page_latency.py [--copies 40] [--requests 200] [--database-url URL] [--workdir DIR] [--http]

Without --database-url it builds a fresh SQLite file in a temporary folder: it writes the benchmark question file
with bench/generate_questions.py (the shared 620 records x --copies, new unique ids), imports it with the corpus
importer (corpus.importers.import_path), then times the thread list (no filter, a search, filters, a deep keyset
page) and the thread page through Django's test Client in-process, and with --http also through a real gunicorn
server with httpx. With --database-url (e.g. postgresql://postgres@127.0.0.1:5432/alfa_bench) it uses that database
instead: it must be empty or hold this benchmark's records (the import is idempotent). Prints a table, the machine
and the slowest SQL of each page.
"""

import argparse
import logging
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Proposed for corpus.Question.Meta.indexes (the importer's app owns the migrations): the question-type filter's
# EXISTS probe then reads the index only, instead of every question row of every thread.
PROPOSED_INDEX = "CREATE INDEX IF NOT EXISTS question_thread_type_idx ON corpus_question (thread_id, question_type)"
SEARCH_TERMS = ["pain", "headache", "fever", "rash", "chest pain", "anxiety", "diarrhea", "blood test", "swollen",
                "dizz", "back pain", "period", "cough", "infection", "lump"]
# Copies 0-31 are imported as train, 32-35 as validation, 36-39 as test: about the shares of the real splits.
RECORDS_PER_COPY = 620
SPLIT_OF_COPY = [("train", 0.8), ("validation", 0.9), ("test", 1.0)]
FILTERS = [
    {"split": "test"},
    {"split": "validation", "q": "pain"},
    {"split": "train", "diagnosis": "true", "q": "head"},
    {"question_type": "Hypotheses testing"},
    {"diagnosis": "true"},
    {"credentialed": "true", "question_type": "Checklist"},
    {"diagnosis": "false", "credentialed": "false"},
    {"q": "pain", "question_type": "Followup", "diagnosis": "true"},
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40, help="copies of the shared 620 records (default 40)")
    parser.add_argument("--requests", type=int, default=200, help="requests per page (default 200)")
    parser.add_argument("--database-url", default=None, help="database to use instead of a fresh SQLite file")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here (default: temp)")
    parser.add_argument("--http", action="store_true", help="also time a real gunicorn server over HTTP")
    parser.add_argument("--proposed-index", action="store_true",
                        help="then add the proposed (thread_id, question_type) index and time again")
    return parser.parse_args(argv)


def setup_django(database_url, workdir):
    """Point the settings at the benchmark database before Django loads them."""
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
    import django

    django.setup()


def build_database(workdir, copies):
    """Migrate, write the question file and import it; return (records, seconds)."""
    from django.conf import settings
    from django.core.management import call_command
    from generate_questions import generate

    from corpus.importers import import_path
    from corpus.models import Question

    call_command("migrate", verbosity=0)
    records = workdir / "questions.jsonl"
    written = generate(Path(settings.SHARED_DATA_DIR) / "askdocs" / "test_q.jsonl", records, copies)
    started = time.perf_counter()
    for split, path in split_by_copy(records, written).items():
        run = import_path(path, split=split)
        print(f"imported {path.name} as {split}: read {run.records_read:,}, created {run.created}, "
              f"rejected {run.rejected}")
    seconds = time.perf_counter() - started
    print(f"imported {written:,} records in {seconds:.1f} s; {Question.objects.count():,} questions in the database")
    return written, seconds


def split_by_copy(records, written):
    """Cut the generated file into train/validation/test files by copy, so the split filter sees real shares."""
    with open(records, "rb") as handle:
        lines = handle.readlines()
    paths, start = {}, 0
    for split, upto in SPLIT_OF_COPY:
        end = round(upto * written / RECORDS_PER_COPY) * RECORDS_PER_COPY  # a post never straddles two files
        paths[split] = records.with_name(f"questions-{split}.jsonl")
        paths[split].write_bytes(b"".join(lines[start:end]))
        start = end
    return paths


def scenarios(requests):
    """Return {name: [url, ...]} with `requests` URLs per page, varied so no single row stays hot."""
    from corpus.models import Question, Thread
    from corpus.views import PAGE_SIZE

    rng = random.Random(7)
    thread_ids = list(Thread.objects.order_by("thread_id").values_list("thread_id", flat=True))
    deep_keys = [thread_ids[i] for i in range(PAGE_SIZE * 100, len(thread_ids), PAGE_SIZE)] or thread_ids[-1:]
    studied = list(Question.objects.values_list("thread__thread_id", "qid"))
    sample = [studied[rng.randrange(len(studied))] for _ in range(requests)]

    def cycle(values):
        return [values[i % len(values)] for i in range(requests)]

    from urllib.parse import urlencode

    return {
        "thread list, no filter": ["/corpus/"] * requests,
        "thread list, search": [f"/corpus/?{urlencode({'q': term})}" for term in cycle(SEARCH_TERMS)],
        "thread list, filters": [f"/corpus/?{urlencode(params)}" for params in cycle(FILTERS)],
        "thread list, deep page": [f"/corpus/?{urlencode({'after': key})}" for key in cycle(deep_keys)],
        "thread page (?q=qid)": [f"/corpus/threads/{thread}/?{urlencode({'q': qid})}" for thread, qid in sample],
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarize(times_ms):
    return {"p50": statistics.median(times_ms), "p95": percentile(times_ms, 0.95), "max": max(times_ms),
            "mean": statistics.fmean(times_ms)}


def time_client(urls_by_page, user):
    """Time every URL through the in-process test Client; return {page: summary}."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    results = {}
    for page, urls in urls_by_page.items():
        for url in urls[:10]:  # warm caches, templates and the connection
            assert client.get(url).status_code == 200, url
        times = []
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            times.append(1000 * (time.perf_counter() - started))
            assert response.status_code == 200, (url, response.status_code)
        results[page] = summarize(times)
    return results


def slowest_queries(urls_by_page, user):
    """Return {page: (query count, total ms, slowest ms, slowest SQL)} for the first URL of each page."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    report = {}
    for page, urls in urls_by_page.items():
        client.get(urls[1])
        with CaptureQueriesContext(connection) as captured:
            client.get(urls[1])
        timed = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
        slowest = max(timed)
        report[page] = (len(timed), sum(ms for ms, _ in timed), slowest[0], slowest[1])
    return report


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_http(urls_by_page, user):
    """Start gunicorn on the benchmark database and time the same URLs with httpx and a session cookie."""
    import httpx
    from django.conf import settings

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "alfa_platform.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}"},
    )
    try:
        cookies = {settings.SESSION_COOKIE_NAME: session.session_key}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=cookies, timeout=30) as client:
            wait_until_up(client, server)
            results = {}
            for page, urls in urls_by_page.items():
                for url in urls[:10]:
                    client.get(url)
                times = []
                for url in urls:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append(1000 * (time.perf_counter() - started))
                    assert response.status_code == 200, (url, response.status_code)
                results[page] = summarize(times)
            return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_up(client, server, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before serving")
        try:
            client.get("/health/")
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def machine():
    from django.db import connection

    database = connection.vendor
    if database == "sqlite":
        import sqlite3

        database += f" {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database += f" {cursor.fetchone()[0]}"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {database}; load average {load} (other work on the machine)")


def print_table(title, results, target_ms=50):
    print(f"\n{title}")
    print(f"| page | p50 ms | p95 ms | mean ms | max ms | p95 < {target_ms} ms |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for page, row in results.items():
        ok = "yes" if row["p95"] < target_ms else "NO"
        print(f"| {page} | {row['p50']:.1f} | {row['p95']:.1f} | {row['mean']:.1f} | {row['max']:.1f} | {ok} |")


def main(argv=None):
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alfa-page-latency-"))
    workdir.mkdir(parents=True, exist_ok=True)
    setup_django(args.database_url, workdir)
    from django.contrib.auth import get_user_model

    from alfa_platform.roles import Role
    from alfa_platform.users import create_user_with_role
    from corpus.models import Question, Thread

    try:
        build_database(workdir, args.copies)
        user = get_user_model().objects.filter(username="bench_annotator").first() or create_user_with_role(
            "bench_annotator", Role.ANNOTATOR, password=None
        )
        urls = scenarios(args.requests)
        print(f"machine: {machine()}")
        print(f"corpus: {Thread.objects.count():,} threads, {Question.objects.count():,} questions; "
              f"{args.requests} requests per page")
        print_table("Django test Client, in-process (no network, full middleware and templates)",
                    time_client(urls, user))
        print("\nqueries per page (second request): count, total ms, slowest ms, slowest SQL")
        for page, (count, total, slowest, sql) in slowest_queries(urls, user).items():
            print(f"- {page}: {count} queries, {total:.1f} ms, slowest {slowest:.1f} ms: {sql[:300]}")
        if args.http:
            print_table("gunicorn (2 sync workers) over HTTP with httpx, one client", time_http(urls, user))
        if args.proposed_index:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(PROPOSED_INDEX)
            print_table(f"Django test Client, after {PROPOSED_INDEX}", time_client(urls, user))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
