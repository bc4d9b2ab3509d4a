"""How fast can question records reach SQLite on this machine at all? A lower bound for the corpus import.

Usage:
    python bench/import_floor.py bench/out/questions_x40.jsonl [--rounds 3]

It loads the same rows as `corpus.importers.import_path` into a freshly migrated SQLite database with the least
work that still produces them: orjson parsing, each shared post, thread and comment built at its first sighting,
pseudonyms (HMAC, cached), content hashes, search text, ids assigned in Python, multi-row INSERTs on a writer thread
with its own connection (sqlite3 releases the GIL while SQLite works), one transaction per ~2,000 records, the
file's SHA-256 on a third thread, and the FTS5 trigger of migration 0002. It leaves out everything that makes the
importer an importer: field validation, conflict and duplicate checks, error reports, name scrubbing, change
records and re-import detection. So no importer can beat its figure on the same machine; it prints that figure
next to its parts measured alone (the file digest, reading and parsing, the SQL replayed without Python).
"""

import argparse
import hashlib
import hmac
import os
import queue
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 2_000
KEY = b"floor-bench-key"


def migrated_database(folder):
    """Return the path of an empty, migrated SQLite database in folder (built by Django's migrate)."""
    path = Path(folder) / "empty.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("ALFA_VAR_DIR", str(ROOT / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    connection.close()
    return path


def digest(values):
    return hashlib.blake2b(orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


class Pseudonyms(dict):
    def __missing__(self, name):
        value = self[name] = "u_" + hmac.new(KEY, name.encode(), hashlib.sha256).hexdigest()[:12] if name else ""
        return value


class Builder:
    """Rows as tuples in column order, each shared row built once; ids assigned here (the database is empty)."""

    def __init__(self):
        self.pseudonym = Pseudonyms()
        self.posts, self.threads, self.comments = {}, {}, {}
        self.next_id = {"post": 1, "thread": 1, "comment": 1, "question": 1}

    def new_id(self, kind):
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def chunk(self, records):
        """Return {table: [row tuples]} for a chunk of records."""
        posts, threads, comments, questions, texts = [], {}, [], [], {}
        for r in records:
            post_id = self.posts.get(r["id_post"])
            if post_id is None:
                post_id = self.posts[r["id_post"]] = self.new_id("post")
                values = (r["title"], r["post"], self.pseudonym[r.get("author_post")], r.get("created_utc"),
                          r.get("year"))
                posts.append((post_id, r["id_post"], *values, "test", digest(values)))
            thread_key = r["thread_id"]
            thread_id = self.threads.get(thread_key)
            if thread_id is None:
                thread_id = self.threads[thread_key] = self.new_id("thread")
                threads[thread_key] = (thread_id, post_id, r)
                texts[thread_key] = [r["title"], r["post"]]
            comment_key = (thread_key, r["comment_id"])
            comment_id = self.comments.get(comment_key)
            if comment_id is None:
                comment_id = self.comments[comment_key] = self.new_id("comment")
                flair = r.get("comment_author_flair_text") or ""
                derived = {name: r.get(name) for name in ("comment_is_question", "comment_is_response",
                                                           "comment_respond_to", "comment_requested_info")}
                values = (r.get("comment_parent_id") or "", self.pseudonym[r.get("comment_author")],
                          r.get("comment_author") == r.get("author_post"), r["comment_body"],
                          r.get("comment_turn_level") or 0, flair, bool(flair) and "not" not in flair,
                          r.get("comment_score") or 0, r.get("comment_created_utc"), orjson.dumps(derived).decode())
                comments.append((comment_id, r["comment_id"], *values, digest(values), thread_id))
            texts[thread_key].append(r["question"])
            answer = r.get("patient_answer")
            previous = [{"question": p["question"], "patient_answer": p.get("patient_answer")}
                        for p in r.get("prev_additional_contexts") or ()]
            derived = {"binary_question": r.get("binary_question"), "hypotheses": r.get("hypotheses"),
                       "additional_context": r.get("additional_context"),
                       "prev_additional_contexts": [p.get("additional_context")
                                                    for p in r.get("prev_additional_contexts") or ()]}
            turn, index = r["qid"].rsplit("-c", 1)[1].split("-q")
            values = (int(turn), int(index), r["question"], answer or "", bool(answer), r["question_type"].capitalize(),
                      orjson.dumps(previous).decode(), orjson.dumps(derived).decode())
            questions.append((self.new_id("question"), r["qid"], *values, digest(values), comment_id, thread_id))
        thread_rows = []
        for key, (thread_id, post_id, r) in threads.items():
            final, conclusion = r.get("final_diagnosis") or "", r.get("conclusion") or ""
            values = (r.get("turn_count") or 0, r.get("total_score") or 0, r.get("unique_author_counts") or 0,
                      orjson.dumps(r.get("verified_author_flairs") or []).decode(), False, final, conclusion,
                      bool(final.strip()), bool(conclusion.strip()), r.get("post_author_feedback"),
                      orjson.dumps({"refer_to_hospital": r.get("refer_to_hospital")}).decode())
            search = "\n".join(texts[key]).lower()
            thread_rows.append((thread_id, key, *values, search, len(texts[key]) - 2, digest(values), post_id))
        return {"corpus_post": posts, "corpus_thread": thread_rows, "corpus_comment": comments,
                "corpus_question": questions}


def write_chunks(path, chunks, done):
    """Writer thread: insert each chunk's rows with multi-row INSERTs in one transaction."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "temp_store=2",
                   "wal_autocheckpoint=16384"):
        db.execute(f"PRAGMA {pragma}")
    while (tables := chunks.get()) is not None:
        db.execute("BEGIN")
        for table, rows in tables.items():
            if not rows:
                continue
            width = len(rows[0])
            step = max(1, 32_000 // width)
            head = f"INSERT INTO {table} VALUES "
            row_sql = "(" + ",".join("?" * width) + ")"
            for start in range(0, len(rows), step):
                batch = rows[start:start + step]
                db.execute(head + ",".join([row_sql] * len(batch)), [v for row in batch for v in row])
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.close()
    done.set()


def chunked(records):
    """Yield lists of about CHUNK records that end between posts (as the importer's chunks do)."""
    chunk, group = [], None
    for record in records:
        if len(chunk) >= CHUNK and record["id_post"] != group:
            yield chunk
            chunk = []
        group = record["id_post"]
        chunk.append(record)
    if chunk:
        yield chunk


def load(source, path):
    """Load the file into the database at path; return the wall time."""
    started = time.perf_counter()
    sha = {}
    hasher = threading.Thread(target=lambda: sha.setdefault("hex", hashlib.file_digest(open(source, "rb"), "sha256")))
    hasher.start()
    chunks, done = queue.Queue(maxsize=2), threading.Event()
    writer = threading.Thread(target=write_chunks, args=(path, chunks, done))
    writer.start()
    builder = Builder()
    with open(source, "rb") as handle:
        for records in chunked(map(orjson.loads, handle)):
            chunks.put(builder.chunk(records))
    chunks.put(None)
    writer.join()
    hasher.join()
    return time.perf_counter() - started


def parts(source, empty, folder):
    """Time the parts alone: file digest, read + parse, and the SQL (captured rows replayed without Python)."""
    started = time.perf_counter()
    with open(source, "rb") as handle:
        hashlib.file_digest(handle, "sha256")
    sha = time.perf_counter() - started
    started = time.perf_counter()
    with open(source, "rb") as handle:
        records = [orjson.loads(line) for line in handle]
    parse = time.perf_counter() - started
    builder, captured = Builder(), []
    for chunk in chunked(records):
        captured.append(builder.chunk(chunk))
    copy = Path(folder) / "parts.sqlite3"
    shutil.copy(empty, copy)
    chunks, done = queue.Queue(), threading.Event()
    for chunk in captured:
        chunks.put(chunk)
    chunks.put(None)
    started = time.perf_counter()
    write_chunks(copy, chunks, done)
    sql = time.perf_counter() - started
    copy.unlink()
    return sha, parse, sql, len(records)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-fts", action="store_true", help="drop the FTS5 trigger: a corpus without search")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alfa-floor-") as folder:
        empty = migrated_database(folder)
        if args.no_fts:
            db = sqlite3.connect(empty)
            db.execute("DROP TRIGGER corpus_thread_fts_ai")
            db.close()
        sha, parse, sql, count = parts(args.file, empty, folder)
        walls = []
        for round_number in range(args.rounds):
            copy = Path(folder) / f"floor-{round_number}.sqlite3"
            shutil.copy(empty, copy)
            walls.append(load(args.file, copy))
            db = sqlite3.connect(copy)
            rows = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("corpus_post", "corpus_thread", "corpus_comment", "corpus_question")]
            db.close()
            copy.unlink()
    best = min(walls)
    print(f"records        {count:,} ({args.file.stat().st_size / 2**20:.1f} MiB); rows {rows}")
    print(f"parts alone    SHA-256 {sha:.2f} s, read + orjson {parse:.2f} s, SQL {sql:.2f} s "
          f"({'without' if args.no_fts else 'with'} the FTS5 trigger)")
    rounds = " ".join(f"{wall:.2f}" for wall in walls)
    print(f"floor loader   {rounds} s -> best {best:.2f} s = {count / best:,.0f} records/s")
    print(f"load average   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
