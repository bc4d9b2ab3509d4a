"""Benchmark the annotation loop on PostgreSQL: 100,000 pairs, 20 annotators, real HTTP through gunicorn.

Usage:
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/alfa_annotation_bench \\
        .venv/bin/python bench/annotation_load.py [--pairs 100000] [--clients 8] [--seconds 20] [--workers 3] [--reuse]

Measures, against a gunicorn server on this machine:
  0. --warmup seconds of unmeasured load with every client (first requests of each worker thread pay one-off costs);
  1. one client alone: "next item" and "submit judgment" latency (p50/p95 over --samples round trips);
  2. --clients concurrent clients (separate processes, one annotator each) calling next then submit: latency of
     each under load, and judgments per second;
  3. the same clients in the page's mode (submit returns the next item: one round trip per judgment);
and then checks that the database holds exactly the judgments the clients saw accepted (none lost, none
duplicated) and that no item exceeds its overlap. Prints the machine's load average next to the figures.

With --audit-compare, it measures what the audit trail costs instead: two servers, one recording (ALFA_AUDIT=1)
and one not (ALFA_AUDIT=0), measured in alternation, --rounds times each, in both modes (next then submit, and
the page's), with the judgments/s, p95 and the on/off ratio per pair of runs; then verify_audit checks the chain.
With --compare-ref REF, the same alternation compares this checkout with the code of commit REF (a git worktree
in /tmp, served by this virtual environment on the same database): a change's before and after in one run.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine_info import describe_machine  # bench/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
# Jobs queued during a benchmark go to a private queue that no worker of another database ever reads.
os.environ.setdefault("ALFA_BROKER_DIR", "/tmp/alfa-annotation-bench-broker")
BENCH_DB = "alfa_annotation_bench"
CAMPAIGN = "bench-load-100k"
PORT = 8765
ATTRIBUTES = ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"]


def require_bench_database():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql://") or not url.rstrip("/").endswith("/" + BENCH_DB):
        sys.exit(f"Set DATABASE_URL=postgresql://postgres@127.0.0.1:5432/{BENCH_DB} (a dedicated database).")
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def analyze():
    """Refresh the planner's statistics after bulk loads, as autovacuum would shortly after."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def vacuum():
    """Vacuum what earlier runs left behind, as autovacuum does between them on a server where it is on.

    Every judgment leaves dead row versions (an item's counters, an assignment's status); where autovacuum is off,
    as on the benchmark machine, each --reuse run would otherwise scan all earlier runs' dead index entries.
    """
    from django.db import connection

    from annotation.models import Assignment, CampaignMember, ComparisonItem, Judgment
    from audit.models import AuditChainHead, AuditRecord

    with connection.cursor() as cursor:
        for model in (ComparisonItem, Assignment, Judgment, CampaignMember, AuditRecord, AuditChainHead):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def rows(n):
    """Yield n synthetic but realistic comparison rows (JSONL bytes)."""
    post = ("I've had a dull ache in my lower right abdomen for three days. It gets worse when I walk and I "
            "felt feverish last night. No vomiting. Should I be worried?")
    for i in range(n):
        row = {
            "id": f"bench-{i}", "attribute": ATTRIBUTES[i % len(ATTRIBUTES)],
            "context": {"title": f"Abdominal pain case {i}", "post": post,
                        "turns": [{"question": "How high was the fever?", "patient_answer": "About 38 C."}]},
            "question_a": f"Does the pain move when you press and release the spot? ({i})",
            "question_b": f"Have you eaten anything unusual this week? ({i})",
            "source_a": "enhanced", "source_b": "corrupted",
        }
        yield (json.dumps(row) + "\n").encode()


def prepare(pairs, annotators, reuse=False):
    """Create (or, with reuse, keep) the campaign with `pairs` items and the annotators with API tokens."""
    from rest_framework.authtoken.models import Token

    from alfa_platform.roles import Role
    from alfa_platform.users import create_user_with_role
    from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
    from annotation.models import Campaign

    users = [create_user_with_role(f"bench{i:02d}", Role.ANNOTATOR) for i in range(annotators)]
    tokens = [Token.objects.get_or_create(user=user)[0].key for user in users]
    existing = Campaign.objects.filter(name=CAMPAIGN, item_count=pairs, status="active").first()
    if reuse and existing is not None:  # skips the 30 s import; a run adds a few thousand of 300,000 judgments
        vacuum()
        return existing.pk, tokens, pairs, None
    Campaign.objects.filter(name=CAMPAIGN).delete()  # a fresh campaign each run: figures start from zero
    campaign = do_create_campaign(name=CAMPAIGN, created_by=None, annotators=users, overlap=3, gold_rate=0.0)
    started = time.perf_counter()
    report = do_import_items(campaign, b"".join(rows(pairs)))
    import_seconds = time.perf_counter() - started
    do_set_campaign_status(campaign, "active")
    analyze()
    return campaign.pk, tokens, report.created, import_seconds


def start_server(workers, threads, port=PORT, audit=True, code=ROOT):
    """gunicorn as production runs it, serving the code at `code` (this checkout, or a worktree of another commit:
    its folders come first on the path, before the editable install's)."""
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "ALFA_AUDIT": "1" if audit else "0"}
    if code != ROOT:
        env["PYTHONPATH"] = f"{code}:{code / 'platform'}"
    command = [str(ROOT / ".venv/bin/gunicorn"), "alfa_platform.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--keep-alive", "30", "--log-level", "warning", "--chdir", str(code)]
    server = subprocess.Popen(command, env=env, cwd=code)
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid):
    """Return (comm, ppid, cpu seconds) of a live process from /proc, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1: raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_snapshot(server_pid):
    """CPU seconds used so far by the gunicorn server (master and workers), by PostgreSQL, and by the machine."""
    server = postgres = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat is None:
            continue
        comm, ppid, seconds = stat
        if int(entry) == server_pid or ppid == server_pid:
            server += seconds
        elif comm == "postgres":
            postgres += seconds
    with open("/proc/stat") as handle:
        ticks = [int(value) for value in handle.readline().split()[1:]]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS  # all but idle and iowait
    return {"server": server, "postgres": postgres, "machine": busy}


def cpu_report(before, after, client_seconds, judgments, wall):
    """One line: CPU milliseconds per judgment spent by the server, PostgreSQL, the clients and everything else."""
    if not judgments:
        return "cpu: no judgments"
    used = {key: after[key] - before[key] for key in before}
    other = used["machine"] - used["server"] - used["postgres"] - client_seconds
    per = {name: seconds * 1000 / judgments for name, seconds in
           (("server", used["server"]), ("postgres", used["postgres"]), ("clients", client_seconds),
            ("other", other), ("total", used["machine"]))}
    return (f"cpu per judgment: server {per['server']:.2f} ms, PostgreSQL {per['postgres']:.2f} ms, clients "
            f"{per['clients']:.2f} ms, rest of the machine {per['other']:.2f} ms; total {per['total']:.2f} ms "
            f"(machine {used['machine'] / wall / os.cpu_count():.0%} busy)")


class Client:
    """A keep-alive HTTP client for one annotator."""

    def __init__(self, token, campaign, port=PORT):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.campaign = campaign

    def post(self, path, body=None):
        started = time.perf_counter()
        self.connection.request("POST", path, body=json.dumps(body or {}), headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, (json.loads(data) if data else None), elapsed

    def next_item(self):
        return self.post(f"/api/annotation/campaigns/{self.campaign}/next/")

    def submit(self, item, want_next=False):
        body = {"judgments": [{"attribute": j["attribute"], "pick": "left", "time_ms": 1500}
                              for j in item["judgments"]], "duration_ms": 2000, "next": want_next}
        return self.post(f"/api/annotation/assignments/{item['assignment']}/submit/", body)


def client_loop(token, campaign, seconds, combined, results, port=PORT):
    """Judge for `seconds`; report latencies and how many judgments the server accepted."""
    client = Client(token, campaign, port)
    next_ms, submit_ms, accepted, errors = [], [], 0, 0
    status, data, _ = client.next_item()
    item = data["item"] if status == 200 else None
    deadline = time.perf_counter() + seconds
    while item is not None and time.perf_counter() < deadline:
        status, data, elapsed = client.submit(item, want_next=combined)
        submit_ms.append(elapsed)
        if status != 200:
            errors += 1
            break
        accepted += len(item["judgments"])
        if combined:
            item = data["item"]
            continue
        status, data, elapsed = client.next_item()
        next_ms.append(elapsed)
        item = data["item"] if status == 200 else None
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this forked process only
    results.put({"next": next_ms, "submit": submit_ms, "accepted": accepted, "errors": errors,
                 "cpu": usage.ru_utime + usage.ru_stime})


def percentiles(values):
    if not values:
        return "n/a"
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):.1f} ms, p95 {p95:.1f} ms (n={len(values)})"


def run_clients(tokens, campaign, seconds, combined, server_pid, port=PORT):
    results = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=client_loop, args=(token, campaign, seconds, combined, results, port))
                 for token in tokens]
    load_before = os.getloadavg()[0]
    cpu_before = cpu_snapshot(server_pid)
    started = time.perf_counter()
    for process in processes:
        process.start()
    collected = [results.get() for _ in processes]
    wall = time.perf_counter() - started
    cpu_after = cpu_snapshot(server_pid)
    for process in processes:
        process.join()
    merged = {key: [value for row in collected for value in row[key]] for key in ("next", "submit")}
    accepted = sum(row["accepted"] for row in collected)
    errors = sum(row["errors"] for row in collected)
    merged["cpu"] = cpu_report(cpu_before, cpu_after, sum(row["cpu"] for row in collected), accepted, wall)
    merged["cpu_ms"] = {key: (cpu_after[key] - cpu_before[key]) * 1000 / max(accepted, 1)
                        for key in ("server", "postgres")}
    return merged, accepted, errors, wall, load_before, os.getloadavg()[0]


def single_client(token, campaign, samples):
    client = Client(token, campaign)
    _status, data, _ = client.next_item()
    item = data["item"]
    next_ms, submit_ms = [], []
    for _ in range(samples):
        status, _data, elapsed = client.submit(item)
        if status != 200:
            sys.exit(f"submit answered {status}")
        submit_ms.append(elapsed)
        status, data, elapsed = client.next_item()
        if status != 200:
            sys.exit(f"next item answered {status}")
        next_ms.append(elapsed)
        item = data["item"]
    return next_ms, submit_ms, samples


def stored_judgments(campaign_id):
    from annotation.models import Judgment

    return Judgment.objects.filter(campaign_id=campaign_id, retracted_at__isnull=True).count()


def verify(campaign_id, accepted_total, stored_before=0):
    from django.db.models import Count

    from annotation.models import Assignment, Judgment

    stored = stored_judgments(campaign_id) - stored_before
    duplicates = (Judgment.objects.filter(campaign_id=campaign_id, retracted_at__isnull=True)
                  .values("assignment_id", "attribute").annotate(n=Count("id")).filter(n__gt=1).count())
    over = (Assignment.objects.filter(campaign_id=campaign_id, status__in=["assigned", "submitted"])
            .values("item_id").annotate(n=Count("id")).filter(n__gt=3).count())
    repeated = (Assignment.objects.filter(campaign_id=campaign_id).values("item_id", "annotator_id")
                .annotate(n=Count("id")).filter(n__gt=1).count())
    print(f"verify: accepted by the server {accepted_total}, stored {stored}, duplicated {duplicates}, "
          f"items over overlap {over}, repeated (item, annotator) {repeated}")
    return stored == accepted_total and not duplicates and not over and not repeated


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))] if values else float("nan")


def audit_records():
    from audit.models import AuditRecord

    return AuditRecord.objects.filter(event="judgment.submit").count()


def worktree(ref):
    """A checkout of commit `ref` beside this one (made once, kept for reruns), for the before side of a comparison."""
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()
    path = Path(f"/tmp/alfa-bench-{commit}")
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=ROOT, check=True)
    return path, commit


def compare_servers(args, campaign, tokens, variants):
    """Alternate runs against two servers; print each pair and the first ÷ second ratios, in both modes.

    `variants`: [(label, start_server keyword arguments)] for the two servers, the one measured first listed first.
    """
    from django.db import connections

    clients = tokens[: args.clients]
    (first, _), (second, _) = variants
    servers, ports = {}, {}
    for offset, (label, options) in enumerate(variants):
        ports[label] = PORT + offset
        servers[label] = start_server(args.workers, args.threads, ports[label], **options)
    accepted, rows = 0, []
    try:
        for label in servers:  # every worker thread of both servers warm before anything is measured
            accepted += run_clients(clients, campaign, args.warmup, True, servers[label].pid, ports[label])[1]
        for round_number in range(1, args.rounds + 1):
            for combined in (False, True):
                pair = {}
                order = (first, second) if round_number % 2 else (second, first)  # who goes first alternates too
                for label in order:
                    merged, judged, errors, wall, _load0, load1 = run_clients(
                        clients, campaign, args.seconds, combined, servers[label].pid, ports[label])
                    accepted += judged
                    pair[label] = {"rate": judged / wall, "p95_submit": p95(merged["submit"]),
                                   "p95_next": p95(merged["next"]), "errors": errors, "load": load1,
                                   "server_cpu_ms": merged["cpu_ms"]["server"],
                                   "postgres_cpu_ms": merged["cpu_ms"]["postgres"]}
                rows.append((round_number, "page mode" if combined else "next+submit", pair))
                a, b = pair[first], pair[second]
                print(f"round {round_number} {rows[-1][1]:<11} {first} {a['rate']:6.0f}/s p95 submit "
                      f"{a['p95_submit']:5.1f} ms | {second} {b['rate']:6.0f}/s p95 submit {b['p95_submit']:5.1f} ms"
                      f" | {first}/{second} {a['rate'] / b['rate']:.3f}; server CPU per judgment "
                      f"{a['server_cpu_ms']:.2f} / {b['server_cpu_ms']:.2f} ms, PostgreSQL {a['postgres_cpu_ms']:.2f}"
                      f" / {b['postgres_cpu_ms']:.2f} ms (load {b['load']:.1f}, errors {a['errors'] + b['errors']})",
                      flush=True)
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)
    connections.close_all()
    for mode in ("next+submit", "page mode"):
        pairs = [pair for _round, name, pair in rows if name == mode]
        ratio = statistics.median(pair[first]["rate"] / pair[second]["rate"] for pair in pairs)
        rate = {label: statistics.median(pair[label]["rate"] for pair in pairs) for label in servers}
        tail = {label: statistics.median(pair[label]["p95_submit"] for pair in pairs) for label in servers}
        # The server's CPU only: PostgreSQL's is summed over all its processes, which other work on a shared
        # server starts and ends during a run (its per-run difference can even come out negative).
        cpu = {label: statistics.median(pair[label]["server_cpu_ms"] for pair in pairs) for label in servers}
        print(f"median {mode:<11}: {first} {rate[first]:.0f} judgments/s (p95 submit {tail[first]:.1f} ms), "
              f"{second} {rate[second]:.0f} judgments/s (p95 submit {tail[second]:.1f} ms); {first}/{second} "
              f"throughput {ratio:.3f}; server CPU per judgment {cpu[first]:.2f} vs {cpu[second]:.2f} ms "
              f"({cpu[first] / cpu[second] - 1:+.1%})")
    return rows, accepted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first (every worker warm)")
    parser.add_argument("--reuse", action="store_true", help="keep the campaign of an earlier run (no import)")
    parser.add_argument("--audit-compare", action="store_true",
                        help="alternate runs with the audit trail on and off (two servers) and print the ratio")
    parser.add_argument("--compare-ref", metavar="REF",
                        help="alternate runs against this checkout and the code of commit REF (a worktree beside it, "
                             "same database) and print the ratio: before and after a change, side by side")
    parser.add_argument("--rounds", type=int, default=3, help="comparisons: pairs of runs per mode")
    parser.add_argument("--json", type=Path, help="comparisons: also write the runs to this file")
    args = parser.parse_args()

    require_bench_database()
    setup_django()
    campaign, tokens, created, import_seconds = prepare(args.pairs, args.annotators, args.reuse)
    stored_before = stored_judgments(campaign)
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    if import_seconds is None:
        print(f"campaign: {created} pairs reused ({stored_before} judgments already stored); "
              f"{args.annotators} annotators, overlap 3")
    else:
        print(f"campaign: {created} pairs imported in {import_seconds:.1f} s ({created / import_seconds:,.0f} "
              f"rows/s); {args.annotators} annotators, overlap 3")
    from django.db import connections

    connections.close_all()  # the server and client processes open their own
    if args.audit_compare or args.compare_ref:
        records_before = audit_records()
        if args.audit_compare:
            variants = [("audit-on", {"audit": True}), ("audit-off", {"audit": False})]
        else:
            code, commit = worktree(args.compare_ref)
            variants = [("after", {}), (f"before-{commit}", {"code": code})]
        rows, accepted = compare_servers(args, campaign, tokens, variants)
        from django.core.management import call_command

        print(f"audit: {audit_records() - records_before} submissions recorded")
        if args.json:
            args.json.write_text(json.dumps({
                "pairs": created, "clients": args.clients, "seconds": args.seconds, "workers": args.workers,
                "threads": args.threads, "machine": describe_machine(),
                "runs": [{"round": r, "mode": mode, **pair} for r, mode, pair in rows]}, indent=2) + "\n")
        call_command("verify_audit")
        sys.exit(0 if verify(campaign, accepted, stored_before) else 1)
    server = start_server(args.workers, args.threads)
    try:
        # Every worker thread's first requests pay one-off costs (the URLconf and views imported, connections
        # opened, statements prepared); a server that has run a while has paid them, so they are not measured.
        _merged, warmed, _errors, *_ = run_clients(tokens[: args.clients], campaign, args.warmup, True, server.pid)
        next_ms, submit_ms, alone = single_client(tokens[-1], campaign, args.samples)
        print(f"1 client   next item:  {percentiles(next_ms)}")
        print(f"1 client   submit:     {percentiles(submit_ms)}")
        clients = tokens[: args.clients]
        merged, accepted_b, errors_b, wall, load0, load1 = run_clients(clients, campaign, args.seconds, False,
                                                                         server.pid)
        print(f"{args.clients} clients  next item:  {percentiles(merged['next'])}")
        print(f"{args.clients} clients  submit:     {percentiles(merged['submit'])}")
        print(f"{args.clients} clients  next+submit: {accepted_b / wall:.0f} judgments/s over {wall:.1f} s "
              f"({accepted_b} judgments, {errors_b} errors; load {load0:.2f} -> {load1:.2f})")
        print(f"{args.clients} clients  next+submit {merged['cpu']}")
        merged, accepted_c, errors_c, wall, load0, load1 = run_clients(clients, campaign, args.seconds, True,
                                                                         server.pid)
        print(f"{args.clients} clients  page mode (submit returns next): {percentiles(merged['submit'])}")
        print(f"{args.clients} clients  page mode: {accepted_c / wall:.0f} judgments/s over {wall:.1f} s "
              f"({accepted_c} judgments, {errors_c} errors; load {load0:.2f} -> {load1:.2f})")
        print(f"{args.clients} clients  page mode {merged['cpu']}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = verify(campaign, warmed + alone + accepted_b + accepted_c, stored_before)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
