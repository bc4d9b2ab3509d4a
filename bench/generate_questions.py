"""Write a benchmark question-record file: the shared test_q.jsonl replicated N times with new unique ids.

Usage:
    python bench/generate_questions.py OUT.jsonl [--copies 40] [--source PATH]

Every copy k gets its own post, thread, comment and question ids: each Reddit base-36 id (id_post, comment ids,
the root comment id inside thread_id, the ids inside comment_parent_id and comment_respond_to) gets the suffix
"x<k>", and qid is rebuilt from the new thread_id, so copies never collide with each other or with the original
file. Everything else (text, authors, flairs, derived fields) is copied unchanged. 620 records x 40 = 24,800.
"""

import argparse
import os
import re
import sys
from pathlib import Path

import orjson

THREAD_ID = re.compile(r"^t_(?P<root>[^-]+)-(?P<k>\d+)$")
QID = re.compile(r"^(?P<thread>t_[^-]+-\d+)(?P<rest>-c\d+-q\d+)$")
FULLNAME = re.compile(r"^(?P<prefix>t[13]_)(?P<id>.+)$")


def default_source():
    """Return the shared test_q.jsonl, found through the Django settings when they load, else ../shared/data."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
        from django.conf import settings

        return Path(settings.SHARED_DATA_DIR) / "askdocs" / "test_q.jsonl"
    except Exception:  # settings not importable (bare interpreter): fall back to the documented layout
        return Path(__file__).resolve().parents[2] / "shared" / "data" / "askdocs" / "test_q.jsonl"


def rename_thread(thread_id, suffix):
    match = THREAD_ID.match(thread_id)
    if not match:
        return thread_id + suffix
    return f"t_{match['root']}{suffix}-{match['k']}"


def rename_fullname(value, suffix):
    if not value:
        return value
    match = FULLNAME.match(value)
    return f"{match['prefix']}{match['id']}{suffix}" if match else value + suffix


def replicate(record, copy):
    """Return a copy of one question record with every id made unique to copy number `copy`."""
    suffix = f"x{copy}"
    out = dict(record)
    out["id_post"] = record["id_post"] + suffix
    out["thread_id"] = rename_thread(record["thread_id"], suffix)
    out["comment_id"] = record["comment_id"] + suffix
    out["comment_parent_id"] = rename_fullname(record.get("comment_parent_id"), suffix)
    if record.get("comment_respond_to"):
        out["comment_respond_to"] = rename_fullname(record["comment_respond_to"], suffix)
    match = QID.match(record["qid"])
    out["qid"] = out["thread_id"] + match["rest"] if match else f"{record['qid']}{suffix}"
    return out


def generate(source, out, copies):
    """Write `copies` renamed copies of every record of `source` to `out`; return the number of records written."""
    with open(source, "rb") as handle:
        records = [orjson.loads(line) for line in handle if line.strip()]
    written = 0
    with open(out, "wb") as sink:
        for copy in range(copies):
            for record in records:
                sink.write(orjson.dumps(replicate(record, copy)) + b"\n")
                written += 1
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the JSONL file to write")
    parser.add_argument("--copies", type=int, default=40, help="how many copies of the source (default 40)")
    parser.add_argument("--source", type=Path, default=None, help="question records to copy (default: shared test_q)")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = generate(source, args.out, args.copies)
    print(f"wrote {written:,} records ({args.copies} copies of {source}) to {args.out}")


if __name__ == "__main__":
    main()
