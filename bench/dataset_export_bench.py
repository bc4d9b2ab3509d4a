"""Time dataset versions at benchmark scale: freeze 80,000 pairs and export them, and Label Studio's W4 workload.

Usage:
    .venv/bin/python bench/dataset_export_bench.py --database sqlite [--pairs 80000]
    .venv/bin/python bench/dataset_export_bench.py --database postgres        # or with DATABASE_URL=postgresql://...

A fresh database each run: a SQLite file in a temporary folder, or a scratch PostgreSQL database created next to
the one DATABASE_URL names (default postgresql://postgres@127.0.0.1:5432/alfa_dataset_bench, as <name>_run_<pid>)
and dropped at the end. The data is generated set-based (bulk inserts): posts, threads and questions with the shared
AskDocs test records' real titles, posts and questions (cycled; 0-2 earlier turns each), their rewrites with
realistic request/response provenance, and the pairs (6 attributes x 3 pair types per question, with their
`context` messages). Then each step runs in a fresh child process, so its wall time and peak RSS are its own:

  1. `create_dataset --kind preference` (freeze every pair into a version);
  2. `export_dataset --format trl --files jsonl|parquet|hf` (three children; the copy to --out included);
  3. Label Studio's W4 workload (shared/peers/labelstudio): the 24,800 tasks of its make_workload.py (same records,
     40 replicas, seed 1234) as one campaign's comparison items, 2,000 judgments on the first 2,000 items (choice and
     rationale as its W3 sends them), then `create_dataset --kind judgments` and `export_dataset --format judgments`.

Prints one table and writes bench/results/dataset_export_<database>.json. --profile DIR writes a cProfile per step.
Peak RSS is the child's own (VmHWM, in MiB); "base" is its RSS once Django has started (every app's imports), "step"
the rest. On PostgreSQL the server's backend is not counted.
"""

import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine_info import describe_machine  # bench/ is on the path when a benchmark runs as a script
from scratch_db import scratch_postgres  # bench/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/alfa_dataset_bench"
ATTRIBUTES = ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"]
CLAUSES = ["and has it changed over the last few days", "and did anything make it better or worse",
           "or is this the first time it has happened", "and are you taking any medication for it"]
BATCH = 2000
TARGETS = {"pairs": (10.0, 400), "w4": (2.0, 200)}  # wall s, peak MB (read as MiB: the stricter)
HEAVY_MODULES = ("pyarrow", "pandas", "datasets", "torch", "transformers", "trl")
LABEL_STUDIO_W4 = {"sqlite": (20.0, 917), "postgres": (35.5, 922)}  # JSON export, label-studio start


# Setup ----------------------------------------------------------------------------------------------------------

def setup_django():
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    import django

    django.setup()






def commit():
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()


def load():
    return [round(x, 2) for x in os.getloadavg()]


# Data -----------------------------------------------------------------------------------------------------------

def askdocs_records():
    from django.conf import settings

    with open(Path(settings.SHARED_DATA_DIR) / "askdocs" / "test_q.jsonl", "rb") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def variant(question, rng):
    """Return a rewrite of about a question's length: a clause appended, or the inner words shuffled."""
    words = question.strip().split()
    if rng.random() < 0.5 or len(words) < 4:
        return f"{question.strip().rstrip('?.! ')}, {rng.choice(CLAUSES)}?"
    inner = words[1:-1]
    rng.shuffle(inner)
    return " ".join([words[0], *inner, words[-1]])


def bulk(model, objects):
    return model.objects.bulk_create(objects, batch_size=BATCH)


def make_corpus(records, n_questions):
    """Create one post, thread and question per question (real AskDocs text, cycled); return the questions."""
    from corpus.models import Post, Question, Thread

    posts, threads, questions = [], [], []
    for i in range(n_questions):
        record = records[i % len(records)]
        split = "validation" if i % 10 == 8 else "test" if i % 10 == 9 else "train"
        posts.append(Post(post_id=f"bp{i}", title=record["title"] or "", body=record["post"] or "",
                          author_pseudonym="anon", created_utc=record.get("created_utc"), year=record.get("year"),
                          split=split, content_hash="x"))
    bulk(Post, posts)
    for i, post in enumerate(posts):
        threads.append(Thread(thread_id=f"bt{i}", post=post, final_diagnosis=records[i % len(records)].get(
            "final_diagnosis") or "", content_hash="x", question_count=1))
    bulk(Thread, threads)
    for i, thread in enumerate(threads):
        record = records[i % len(records)]
        turns = [{"question": records[(i + k + 1) % len(records)]["question"],
                  "patient_answer": records[(i + k + 1) % len(records)].get("patient_answer") or "Not sure."}
                 for k in range(i % 3)]
        questions.append(Question(qid=f"bt{i}-c{len(turns)}-q0", thread=thread, turn_index=len(turns),
                                  text=record["question"], patient_answer=record.get("patient_answer") or "",
                                  previous_turns=turns, content_hash="x"))
    bulk(Question, questions)
    return questions


def rewrite(question, template, direction, text, attribute=None, source=None):
    from synthesis.models import Backend, Rewrite

    post = question.thread.post
    request = {"messages": [{"role": "system", "content": template.system_text},
                            {"role": "user", "content": f"{post.title}\n{post.body}\n\nQuestion: {question.text}"}]}
    return Rewrite(question=question, attribute=attribute, direction=direction, source=source, text=text,
                   template=template, model_name="bench-generator", backend=Backend.OPENAI_HTTP,
                   generator_key="bench", sampling={"temperature": 0.7, "max_tokens": 64}, prompt_hash="h" * 64,
                   request=request, response={"text": text, "finish_reason": "stop"}, tokens_in=600, tokens_out=30)


def make_pairs(questions, n_pairs):
    """Create each question's original, enhanced and corrupted rewrites and its 18 accepted pairs, up to n_pairs."""
    from corpus.rendering import conversation_messages
    from synthesis.models import Attribute, PairType, PreferencePair, PromptTemplate, Rewrite

    attributes = {a.key: a for a in Attribute.objects.filter(key__in=ATTRIBUTES)}
    active = PromptTemplate.objects.filter(status="active")
    normalize = active.get(kind="normalize", attribute=None)
    enhance = {t.attribute.key: t for t in active.filter(kind="enhance_hindsight", attribute__key__in=ATTRIBUTES)}
    corrupt = {t.attribute.key: t for t in active.filter(kind="corrupt", attribute__key__in=ATTRIBUTES)}
    made, rewrites_made = 0, 0
    for start in range(0, len(questions), 200):
        chunk = questions[start:start + 200]
        if made >= n_pairs:
            break
        originals = bulk(Rewrite, [rewrite(q, normalize, "original", q.text) for q in chunk])
        derived, pairs = [], []
        for question, original in zip(chunk, originals, strict=True):
            rng = random.Random(hashlib.sha256(question.qid.encode()).digest())
            for key in ATTRIBUTES:
                enhanced = f"{question.text.strip().rstrip('?.! ')}, {rng.choice(CLAUSES)}?"
                derived.append(rewrite(question, enhance[key], "enhance_hindsight", enhanced, attributes[key],
                                       original))
                derived.append(rewrite(question, corrupt[key], "corrupt", variant(question.text, rng),
                                       attributes[key], original))
        bulk(Rewrite, derived)
        rewrites_made += len(originals) + len(derived)
        for n, (question, original) in enumerate(zip(chunk, originals, strict=True)):
            post = question.thread.post
            context = conversation_messages(post.title, post.body, question.previous_turns)
            for a, key in enumerate(ATTRIBUTES):
                enhanced, corrupted = derived[12 * n + 2 * a], derived[12 * n + 2 * a + 1]
                for pair_type, chosen, rejected, winner, loser in (
                        (PairType.ENHANCED_CORRUPTED, enhanced, corrupted, "enhanced", "corrupted"),
                        (PairType.ENHANCED_ORIGINAL, enhanced, original, "enhanced", "original"),
                        (PairType.ORIGINAL_CORRUPTED, original, corrupted, "original", "corrupted")):
                    if made + len(pairs) < n_pairs:
                        pairs.append(PreferencePair(
                            question=question, attribute=attributes[key], pair_type=pair_type,
                            chosen_text=chosen.text, rejected_text=rejected.text, chosen=chosen, rejected=rejected,
                            verdict="accepted", judge_verdict="accepted", judge_model="bench-judge", context=context,
                            pair_id=f"{question.qid}_{key}_{winner}_{loser}"))
        bulk(PreferencePair, pairs)
        made += len(pairs)
    return made, rewrites_made


def w4_tasks(records):
    """Return Label Studio's W4 task list, built by its own make_workload.py (same records, replicas and seed)."""
    sys.path.insert(0, str(Path(os.environ.get("ALFA_SHARED_DATA_DIR", ROOT.parent / "shared" / "data")).parent
                           / "peers" / "labelstudio"))
    from make_workload import build

    return build(records, 40, 1234)


def make_w4_campaign(tasks, n_judgments, n_annotators=8):
    """Create the campaign with every task as an item, and n_judgments submitted judgments on the first items."""
    from django.utils import timezone

    from alfa_platform.roles import Role
    from alfa_platform.users import create_user_with_role
    from annotation.models import Assignment, Campaign, CampaignMember, ComparisonItem, Judgment

    users = [create_user_with_role(f"w4-annotator-{k}", Role.ANNOTATOR) for k in range(n_annotators)]
    campaign = Campaign.objects.create(name="w4-labelstudio", status="active", attribute_keys=ATTRIBUTES, overlap=1,
                                       gold_rate=0.0, seed=1234, item_count=len(tasks))
    bulk(CampaignMember, [CampaignMember(campaign=campaign, user=user, done_count=n_judgments // n_annotators)
                          for user in users])
    items = bulk(ComparisonItem, [
        ComparisonItem(campaign=campaign, external_id=task["qid"], position=i, post_title=task["title"],
                       post_body=task["post"], question_a=task["question_a"], question_b=task["question_b"],
                       attribute=task["attribute"], source_a="original", source_b="variant", split="test",
                       active_count=int(i < n_judgments), submitted_count=int(i < n_judgments))
        for i, task in enumerate(tasks)])
    now = timezone.now()
    assignments = bulk(Assignment, [
        Assignment(campaign=campaign, item=item, annotator=users[i % n_annotators], status="submitted",
                   left_is_a=hashlib.sha256(f"1234:{users[i % n_annotators].pk}:{item.pk}".encode()).digest()[0] & 1
                   == 0, submitted_at=now, duration_ms=12_500)
        for i, item in enumerate(items[:n_judgments])])
    judgments = []
    for i, assignment in enumerate(assignments):
        choice = "a" if i % 3 else "b"
        side = "left" if (choice == "a") == assignment.left_is_a else "right"
        judgments.append(Judgment(
            assignment=assignment, campaign=campaign, item=assignment.item, annotator=assignment.annotator,
            attribute=assignment.item.attribute, choice=choice, side=side, strength="clearly", time_ms=12_500,
            rationale=f"Option {choice.upper()} asks for the missing detail more directly (bench {i})."))
    bulk(Judgment, judgments)
    return campaign, len(items)


def generate(args):
    from django.db import connection

    from annotation.models import Judgment
    from corpus.models import Post, Question

    records = askdocs_records()
    started = time.perf_counter()
    questions = make_corpus(records, args.questions)
    pairs, rewrites = make_pairs(questions, args.pairs)
    pairs_s = time.perf_counter() - started
    started = time.perf_counter()
    campaign, items = make_w4_campaign(w4_tasks(records), args.judgments)
    w4_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would shortly after a bulk load
    return {"posts": Post.objects.count(), "questions": Question.objects.count(), "rewrites": rewrites,
            "pairs": pairs, "generate_pairs_s": round(pairs_s, 1), "campaign": campaign.pk, "items": items,
            "judgments": Judgment.objects.filter(campaign=campaign).count(), "generate_w4_s": round(w4_s, 1)}


# Steps (each in its own child process) --------------------------------------------------------------------------

def status_mib(field):
    """Return a /proc/self/status memory field in MiB (VmRSS: now; VmHWM: the peak of this process image).

    Not ru_maxrss: Linux carries the parent's peak across fork and exec into it, so a child started from the
    generating process would report that process's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def run_step(step, params, profile):
    """Run one step in this (child) process and return its measurements."""
    from django.core.management import call_command

    from dataversions.models import DatasetExport, DatasetVersion
    from jobs.models import Job

    base = status_mib("VmRSS")
    heavy = sorted(name for name in HEAVY_MODULES if name in sys.modules)
    out = io.StringIO()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    load_before, started, cpu = load(), time.perf_counter(), time.process_time()
    if step == "freeze":
        call_command("create_dataset", "--kind", params["kind"], "--name", params["name"], *params.get("args", []),
                     stdout=out)
    else:
        call_command("export_dataset", str(params["version"]), "--format", params["format"], "--files",
                     params["files"], "--out", params["out"], stdout=out)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    result = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
              "peak_rss_mib": round(status_mib("VmHWM")),
              "base_rss_mib": round(base), "imported_at_start": heavy,
              "load_before": load_before}
    if step == "freeze":
        version = DatasetVersion.objects.get(pk=int(out.getvalue().strip().splitlines()[-1]))
        job = Job.objects.get(pk=version.job_id)
        result.update(version=version.pk, rows=version.row_count, content_hash=version.content_hash)
    else:
        export = DatasetExport.objects.get(version_id=params["version"], format=params["format"],
                                           files=params["files"])
        job = Job.objects.get(pk=export.job_id)
        result.update(rows=sum(entry["rows"] or 0 for entry in export.manifest.values()),
                      bytes=sum(entry["bytes"] for entry in export.manifest.values()),
                      sha256={name: entry["sha256"] for name, entry in export.manifest.items()})
    result["job_s"] = round(job.duration_seconds, 2)
    return result


def child(step, params, env, profile_dir):
    command = [sys.executable, __file__, "--child", step, "--params", json.dumps(params)]
    if profile_dir:
        command += ["--profile", str(Path(profile_dir) / f"{params['label']}.prof")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"step {params['label']} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# Report ---------------------------------------------------------------------------------------------------------

def verdict(wall, peak, target):
    wall_target, peak_target = target
    ok = wall < wall_target and peak < peak_target
    return f"{'met' if ok else 'NOT met'} (< {wall_target:g} s, < {peak_target} MB)"


def table(report):
    steps = report["steps"]
    rows = [("step", "rows", "size MB", "wall s", "job s", "CPU s", "peak RSS MiB", "base MiB", "step MiB", "load 1m",
             "target")]
    for label, step in steps.items():
        target = ""
        if label.startswith("trl-"):
            target = verdict(step["wall_s"], step["peak_rss_mib"], TARGETS["pairs"])
        size = f"{step['bytes'] / 1e6:.1f}" if "bytes" in step else ""
        rows.append((label, f"{step['rows']:,}", size, f"{step['wall_s']:.2f}", f"{step['job_s']:.2f}",
                     f"{step['cpu_s']:.2f}", str(step["peak_rss_mib"]), str(step["base_rss_mib"]),
                     str(step["peak_rss_mib"] - step["base_rss_mib"]), f"{step['load_before'][0]:.2f}", target))
    w4 = report["w4"]
    rows.append(("w4 freeze + export", f"{w4['rows']:,}", "", f"{w4['wall_s']:.2f}", "", "",
                 str(w4["peak_rss_mib"]), "", "", "", verdict(w4["wall_s"], w4["peak_rss_mib"], TARGETS["w4"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) if i in (0, 10) else cell.rjust(width)
                               for i, (cell, width) in enumerate(zip(row, widths, strict=True))) for row in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], help="default: from DATABASE_URL, else sqlite")
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--questions", type=int, default=4_463, help="questions the pairs are built on (18 each)")
    parser.add_argument("--judgments", type=int, default=2_000, help="W4: judgments on the first items")
    parser.add_argument("--profile", type=Path, help="write a cProfile of every step into this folder")
    parser.add_argument("--out", type=Path, help="result JSON (default bench/results/dataset_export_<db>.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        setup_django()
        profile = str(args.profile) if args.profile else None
        print(json.dumps(run_step(args.child, json.loads(args.params), profile)))
        return
    if args.pairs > 18 * args.questions:
        parser.error(f"--pairs {args.pairs} needs at least {-(-args.pairs // 18)} --questions (18 pairs each).")
    url = os.environ.get("DATABASE_URL", "")
    database = args.database or ("postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite")
    tmp = tempfile.TemporaryDirectory(prefix="alfa-dataset-bench-")
    cleanup = None
    if database == "postgres":
        url, cleanup = scratch_postgres(url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_POSTGRES)
    else:
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ.update(DATABASE_URL=url, ALFA_VAR_DIR=f"{tmp.name}/var", ALFA_BROKER_DIR=f"{tmp.name}/broker")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        report = run(args, database, tmp.name)
    finally:
        if cleanup:
            cleanup()
        tmp.cleanup()
    out = args.out or ROOT / "bench" / "results" / f"dataset_export_{database}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


def run(args, database, folder):
    setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    version = connection.Database.sqlite_version if connection.vendor == "sqlite" else connection.pg_version
    report = {"database": f"{connection.vendor} {version}", "machine": describe_machine(),
              "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load(),
              "nice": os.nice(0), "settings": os.environ["DJANGO_SETTINGS_MODULE"], "commit": commit()}
    print(f"database {report['database']}; machine {report['machine']}; load {report['load_start']}")
    report["data"] = generate(args)
    print(f"data     {json.dumps(report['data'])}")
    connections.close_all()  # the children open their own
    env = dict(os.environ)
    steps = {}
    steps["freeze"] = child("freeze", {"label": "freeze", "kind": "preference", "name": "bench-pairs"}, env,
                            args.profile)
    print(f"{'freeze':<12} {json.dumps(steps['freeze'])}")
    pairs_version = steps["freeze"]["version"]
    for files in ("jsonl", "parquet", "hf"):
        params = {"label": f"trl-{files}", "version": pairs_version, "format": "trl", "files": files,
                  "out": f"{folder}/out/trl-{files}"}
        steps[f"trl-{files}"] = child("export", params, env, args.profile)
        print(f"{params['label']:<12} {json.dumps(steps[params['label']])}")
    campaign = report["data"]["campaign"]
    steps["w4-freeze"] = child("freeze", {"label": "w4-freeze", "kind": "judgments", "name": "bench-w4",
                                          "args": ["--campaigns", str(campaign)]}, env, args.profile)
    steps["w4-export"] = child("export", {"label": "w4-export", "version": steps["w4-freeze"]["version"],
                                          "format": "judgments", "files": "jsonl", "out": f"{folder}/out/w4"},
                               env, args.profile)
    report["steps"] = steps
    ls_wall, ls_rss = LABEL_STUDIO_W4[database]
    w4_wall = steps["w4-freeze"]["wall_s"] + steps["w4-export"]["wall_s"]
    w4_peak = max(steps["w4-freeze"]["peak_rss_mib"], steps["w4-export"]["peak_rss_mib"])
    report["w4"] = {"rows": steps["w4-export"]["rows"], "wall_s": round(w4_wall, 2), "peak_rss_mib": w4_peak,
                    "label_studio": {"wall_s": ls_wall, "peak_rss_mib": ls_rss,
                                     "config": "label-studio start, JSON export, download_all_tasks"},
                    "speedup": round(ls_wall / w4_wall, 1), "memory_ratio": round(ls_rss / w4_peak, 1)}
    report["load_end"] = load()
    print()
    print(table(report))
    print(f"\nW4: Label Studio exports all {report['data']['items']:,} tasks with their annotations; a judgments "
          f"version holds the {report['w4']['rows']:,} judgments (each with its item's questions)")
    print(f"W4 vs Label Studio 1.23.2 ({database}, label-studio start): {w4_wall:.2f} s vs {ls_wall} s "
          f"({report['w4']['speedup']}x faster), peak {w4_peak} MiB vs {ls_rss} MiB "
          f"({report['w4']['memory_ratio']}x less)")
    print(f"load average: start {report['load_start']}, end {report['load_end']} ({os.cpu_count()} cores)")
    return report


if __name__ == "__main__":
    main()
