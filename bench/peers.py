"""Run Label Studio's peer workload (W1-W5) against the platform and against Label Studio, and print one table.

Usage:
    .venv/bin/python bench/peers.py                                  # both databases, 2 rounds, full size
    .venv/bin/python bench/peers.py --databases sqlite --limit 600 --annotations 60 --next-repeats 20   # smoke run
    .venv/bin/python bench/peers.py --table bench/results/peers_sqlite.json   # print the table of saved results

The workload and its phases are the peer's own (`../shared/peers/labelstudio/`, read-only): its make_workload.py
writes workload.json into the scratch folder (sha256 checked against its README), its bench.py is loaded with
importlib and its phase functions (w1_import, w2_next, w3_submit, w4_export, w5_task_list, w2c_label_loop) run with
an adapter per product: `PlatformAdapter` below for this platform's API, the peer's `LabelStudioAdapter` for
Label Studio 1.23.2, which the peer's `ls_server.sh setup` installs into a scratch virtual environment (--ls-venv;
never part of `make test` or CI). Every request opens its own TCP connection (the peer's ClosingSession).

Per database, rounds alternate the products (ours, theirs, ours, theirs), each on a fresh database (a SQLite file in
the scratch folder; a scratch PostgreSQL database on --pg-url's server, dropped afterwards) and a fresh server:

- the platform as `make run` serves it: gunicorn `-w 2 --threads 4` (scripts/run.sh) on SQLite, `-w 3 --threads 4`
  (docker-compose.yml) on PostgreSQL, with an access log, and a Celery worker (`--pool threads --concurrency 2`,
  the filesystem broker) that runs the export's jobs; beat (the job watchdog's schedule) is left out;
- Label Studio as `label-studio start` (Django runserver, one process, a thread per connection).

Where the platform's model differs from Label Studio's:

- W1 imports the tasks as the campaign's comparison items in one JSONL upload (POST campaigns/{id}/import/), then
  activates the campaign; wall time runs from creating the campaign until it reports every item.
- W3 runs as 8 annotators, each looping next -> submit (a judgment belongs to an assignment that `next` handed
  out), so each of its 2,000 "submits" is two requests; Label Studio's W3 posts annotations to given task ids.
- W4 freezes the campaign's judgments into an expert-judgments dataset version and exports it as JSONL (two jobs,
  polled every 0.1 s, then the download): every judgment with its item's questions, not every item; Label Studio
  exports all tasks with their annotations in one synchronous request.
- W5 is the first page of the campaign's item list (GET /api/annotation/campaigns/{id}/items/?page_size=30, the
  page size of Label Studio's task list), with each item's counters; "project detail" is GET
  /api/annotation/campaigns/{id}/.
- Annotation counts come from the database (judgments and distinct items), not from an API.

RSS is the sum over the server's processes (gunicorn master and workers plus the Celery worker); "largest process"
is the peak of the largest single one (the gunicorn worker that imported, the worker that exported). Raw results
per database: bench/results/peers_<database>.json.
"""

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
from machine_info import describe_machine  # bench/ is on the path when a benchmark runs as a script

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = Path(os.environ.get("ALFA_PEER_DIR", ROOT.parent / "shared" / "peers" / "labelstudio"))
ASKDOCS = Path(os.environ.get("ALFA_SHARED_DATA_DIR", ROOT.parent / "shared" / "data")) / "askdocs" / "test_q.jsonl"
WORKLOAD_SHA256 = "6b16ecba819a46d8c3b522f921c41ab56cb7263732bf3164343309131de0ea6c"  # the peer README's
LS_VERSION = "1.23.2"
SERVERS = {"sqlite": (2, 4, "scripts/run.sh"), "postgres": (3, 4, "docker-compose.yml")}  # gunicorn workers, threads
ANNOTATORS = 8
POLL_S = 0.1


def load_peer_bench():
    """Import the peer's bench.py from its read-only folder (it is never copied into this repository)."""
    spec = importlib.util.spec_from_file_location("labelstudio_peer_bench", PEER_DIR / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEER = load_peer_bench()


# The platform's side -------------------------------------------------------------------------------------------

class ProcessPeakMonitor(PEER.RssMonitor):
    """The peer's RSS monitor (sum over the process trees), also keeping the peak of the largest single process."""

    largest_peak = 0

    def sample(self):
        total = super().sample()
        largest = 0
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    largest = max(largest, proc.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
        self._largest_now = largest
        self.largest_peak = max(self.largest_peak, largest)
        return total

    def reset(self):
        value = super().reset()
        self.largest_peak = self._largest_now
        return value

    def workers(self):
        return {**super().workers(), "largest_process_peak_mib": round(self.largest_peak / 2**20, 1)}


class JudgmentCounter:
    """Count a campaign's live judgments and the distinct items they judge, straight from the database."""

    SQL = ("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM annotation_judgment "
           "WHERE campaign_id = {0} AND retracted_at IS NULL")

    def __init__(self, database_url):
        self.url = database_url

    def count(self, campaign):
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30) as conn:
                return tuple(conn.execute(self.SQL.format("?"), [campaign]).fetchone())
        import psycopg

        with psycopg.connect(self.url) as conn:
            return tuple(conn.execute(self.SQL.format("%s"), [campaign]).fetchone())


class PlatformAdapter(PEER.Adapter):
    """The peer's adapter contract over the platform's API: a campaign, its items, next/submit, a judgments export."""

    def __init__(self, url, lead_token, annotators, counter, question_a_texts, timeout=600):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.lead = self._session(lead_token)
        self.annotators = annotators  # [(username, token)]
        self._next_annotator = itertools.cycle(range(len(annotators)))
        self._lock = threading.Lock()
        self.counter = counter
        self.question_a_texts = question_a_texts
        self.served = {}  # assignment id -> (left text, judgment keys), for the submit that follows
        self.activated = set()

    def _session(self, token):
        session = PEER.ClosingSession()
        session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
        return session

    def new_session(self):
        """A session of the next annotator in turn: W3's 8 client threads are 8 different annotators."""
        with self._lock:
            k = next(self._next_annotator)
        return self._session(self.annotators[k][1])

    def _ok(self, response):
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.method} {response.url} -> {response.status_code}: "
                               f"{response.text[:500]}")
        return response

    def _api(self, path):
        return f"{self.url}/api/{path}"

    def create_project(self, title):
        body = {"name": title, "judgment_mode": "per_attribute", "attribute_keys": [], "overlap": 1,
                "gold_rate": 0.0, "annotators": [name for name, _ in self.annotators]}
        response = self.lead.post(self._api("annotation/campaigns/"), json=body, timeout=self.timeout)
        return self._ok(response).json()["id"]

    def import_chunk(self, project, tasks):
        rows = b"".join(json.dumps({
            "id": task["qid"], "context": {"title": task["title"], "post": task["post"]},
            "question_a": task["question_a"], "question_b": task["question_b"], "attribute": task["attribute"],
        }).encode() + b"\n" for task in tasks)
        response = self._ok(self.lead.post(self._api(f"annotation/campaigns/{project}/import/"),
                                           files={"file": ("tasks.jsonl", rows, "application/jsonl")},
                                           timeout=self.timeout))
        if project not in self.activated:  # a campaign starts once it holds items
            self._ok(self.lead.post(self._api(f"annotation/campaigns/{project}/status/"), json={"status": "active"},
                                    timeout=self.timeout))
            self.activated.add(project)
        return response.json()["created"]

    def count_tasks(self, project):
        return self._campaign(project)["item_count"]

    def _campaign(self, project, session=None):
        return self._ok((session or self.lead).get(self._api(f"annotation/campaigns/{project}/"),
                                                   timeout=self.timeout)).json()

    def task_ids(self, project, n):
        """No ids up front: each of W3's submits judges whatever `next` serves that annotator (see submit)."""
        return [None] * n

    def next_task(self, project, session):
        response = self._ok(session.post(self._api(f"annotation/campaigns/{project}/next/"), timeout=self.timeout))
        item = response.json()["item"]
        if item is None:
            raise RuntimeError(f"campaign {project} has nothing left to serve")
        self.served[item["assignment"]] = (item["left"], [row["attribute"] for row in item["judgments"]])
        return item["assignment"]

    def submit(self, project, task_id, choice, rationale, session):
        """Judge assignment `task_id` ("A" = question A); None: first ask `next` for this annotator's item."""
        if task_id is None:
            task_id = self.next_task(project, session)
        left, keys = self.served.pop(task_id)
        left_is_a = left in self.question_a_texts
        pick = "left" if (choice == "A") == left_is_a else "right"
        body = {"judgments": [{"attribute": key, "pick": pick, "rationale": rationale, "time_ms": 12_500}
                              for key in keys], "duration_ms": 12_500}
        response = session.post(self._api(f"annotation/assignments/{task_id}/submit/"), json=body,
                                timeout=self.timeout)
        if response.status_code >= 300:
            self.served[task_id] = (left, keys)  # a retry submits the same assignment again
        return response.status_code

    def count_annotations(self, project):
        return self.counter.count(project)

    def export(self, project, fmt, path):
        """Freeze the campaign's judgments into a new version, export it as JSONL and download it (a zip)."""
        version = self._ok(self.lead.post(self._api("datasets/versions/"), json={
            "name": f"peers-w4-campaign-{project}", "selection": {"kind": "judgments", "campaigns": [project]}},
            timeout=self.timeout)).json()
        self._wait(f"datasets/versions/{version['id']}/", "ready")
        export = self._ok(self.lead.post(self._api(f"datasets/versions/{version['id']}/export/"),
                                         json={"format": "judgments", "files": "jsonl"}, timeout=self.timeout)).json()
        self._wait(f"datasets/exports/{export['id']}/", "done")
        written = 0
        with self.lead.get(self._api(f"datasets/exports/{export['id']}/download/"), stream=True,
                           timeout=self.timeout) as response:
            self._ok(response)
            with open(path, "wb") as handle:
                for chunk in response.iter_content(1 << 20):
                    handle.write(chunk)
                    written += len(chunk)
        self.lead.close()
        return written

    def _wait(self, path, done):
        deadline = time.time() + self.timeout
        while True:
            body = self._ok(self.lead.get(self._api(path), timeout=self.timeout)).json()
            if body["status"] == done:
                return body
            if body["status"] == "failed" or time.time() > deadline:
                raise RuntimeError(f"{path} is {body['status']}: {body.get('error', '')}")
            time.sleep(POLL_S)

    def task_list_page(self, project, session):
        response = self._ok(self.lead.get(self._api(f"annotation/campaigns/{project}/items/"), params={"page_size": 30},
                                          timeout=self.timeout))
        return len(response.json()["results"])

    def project_detail(self, project, session):
        self._campaign(project)


def count_exported_judgments(path):
    """Return (judgments, distinct items) in a downloaded judgments export (a zip of JSONL files)."""
    rows, items = 0, set()
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".jsonl"):
                with archive.open(name) as handle:
                    for line in handle:
                        if line.strip():
                            rows += 1
                            items.add(json.loads(line)["item"])
    return rows, len(items)


# Servers ---------------------------------------------------------------------------------------------------------

def wait_for(url, process, seconds=240):
    import requests

    for _ in range(int(seconds / 0.5)):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with requests.get(url, timeout=5, headers={"Connection": "close"}) as response:
                if response.status_code == 200:
                    return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no answer from {url}")


def stop_process(process, seconds=30):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PlatformServer:
    """The platform on a fresh database: migrate, users with tokens, gunicorn and a Celery worker as `make run`."""

    def __init__(self, database, database_url, folder, port, code):
        self.database, self.url, self.folder, self.port, self.code = database, database_url, folder, port, code
        self.workers, self.threads, self.source = SERVERS[database]
        var = folder / "var"
        (var / "log").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DATABASE_URL": database_url, "ALFA_VAR_DIR": str(var),
                    "ALFA_BROKER_DIR": str(folder / "broker"), "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                    "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": f"{code}:{code / 'platform'}",
                    "ALFA_SHARED_DATA_DIR": str(ASKDOCS.parents[1])}
        self.processes = []

    @property
    def description(self):
        return (f"gunicorn {self.workers} workers x {self.threads} threads (gthread, as {self.source}) "
                f"+ Celery worker (threads x 2)")

    def start(self):
        python = str(ROOT / ".venv" / "bin" / "python")
        subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=self.code, env=self.env,
                       check=True)
        made = subprocess.run([python, __file__, "--make-users", str(ANNOTATORS)], cwd=self.code, env=self.env,
                              check=True, capture_output=True, text=True)
        self.users = json.loads(made.stdout.strip().splitlines()[-1])
        log = self.folder / "var" / "log"
        self.web = subprocess.Popen(
            [python, "-m", "gunicorn", "alfa_platform.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers),
             "--threads", str(self.threads), "--access-logfile", str(log / "access.log")],
            cwd=self.code, env=self.env, stdout=open(log / "gunicorn.log", "w"), stderr=subprocess.STDOUT)
        self.worker = subprocess.Popen(
            [python, "-m", "celery", "-A", "alfa_platform", "worker", "-Q", "default,gpu", "--pool", "threads",
             "--concurrency", "2", "-l", "info"],
            cwd=self.code, env=self.env, stdout=open(log / "worker.log", "w"), stderr=subprocess.STDOUT)
        self.processes = [self.web, self.worker]
        wait_for(f"http://127.0.0.1:{self.port}/health/", self.web)
        return [self.web.pid, self.worker.pid]

    def adapter(self, tasks):
        annotators = [(user["username"], user["token"]) for user in self.users["annotators"]]
        return PlatformAdapter(f"http://127.0.0.1:{self.port}", self.users["lead"], annotators,
                               JudgmentCounter(self.url), {task["question_a"].strip() for task in tasks})

    def stop(self):
        for process in self.processes:
            stop_process(process)


class LabelStudioServer:
    """Label Studio started and stopped by the peer's ls_server.sh (`label-studio start`) on a fresh data folder."""

    description = f"label-studio {LS_VERSION} start (Django runserver: 1 process, a thread per connection)"

    def __init__(self, database, database_url, folder, port, venv):
        self.database, self.url, self.folder, self.port, self.venv = database, database_url, folder, port, venv
        self.env = dict(os.environ)
        if database == "postgres":
            parts = urlsplit(database_url)
            self.env.update(POSTGRE_NAME=parts.path.lstrip("/"), POSTGRE_USER=parts.username or "postgres",
                            POSTGRE_PASSWORD=parts.password or "", POSTGRE_HOST=parts.hostname or "127.0.0.1",
                            POSTGRE_PORT=str(parts.port or 5432))

    def start(self):
        kind = "postgresql" if self.database == "postgres" else "sqlite"
        subprocess.run([str(PEER_DIR / "ls_server.sh"), "start", str(self.venv), str(self.folder), str(self.port),
                        kind], env=self.env, check=True)
        return [int((self.folder / "ls.pid").read_text())]

    def adapter(self, tasks):
        return PEER.LabelStudioAdapter(f"http://127.0.0.1:{self.port}", (self.folder / "token").read_text().strip())

    def stop(self):
        subprocess.run([str(PEER_DIR / "ls_server.sh"), "stop", str(self.folder)], check=False)


# Databases -------------------------------------------------------------------------------------------------------

def create_postgres(base_url, name):
    import psycopg

    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def fresh_database(database, args, folder, label):
    """Return (database URL, cleanup) for one run: a SQLite file in its folder, or a scratch PostgreSQL database."""
    if database == "sqlite":
        return f"sqlite:///{folder / 'db.sqlite3'}", lambda: None
    return create_postgres(args.pg_url, f"{urlsplit(args.pg_url).path.lstrip('/')}_{label}_{os.getpid()}")


# Running ---------------------------------------------------------------------------------------------------------

def workload(scratch):
    """Write workload.json with the peer's make_workload.py (same records, 40 replicas, seed 1234); check its sha256."""
    path = scratch / "workload.json"
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != WORKLOAD_SHA256:
        subprocess.run([sys.executable, str(PEER_DIR / "make_workload.py"), str(ASKDOCS), str(path),
                        "--replicas", "40", "--seed", "1234"], check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WORKLOAD_SHA256:
        sys.exit(f"workload.json has sha256 {digest}, not the peer README's {WORKLOAD_SHA256}")
    return path, digest


def run_phases(adapter, monitor, tasks, args, export_format, folder):
    """Run the peer's phases in its order (W1, W2, W3, W2b, W4, W5, W2c) and return its result dict."""
    res = {}
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    project = PEER.w1_import(adapter, monitor, tasks, args.chunk or len(tasks), res)
    res["project"] = project
    if "W2" in phases:
        PEER.w2_next(adapter, monitor, project, args.next_repeats, res)
    if "W3" in phases:
        PEER.w3_submit(adapter, monitor, project, args.annotations, args.threads, res)
    if "W2b" in phases:
        PEER.w2_next(adapter, monitor, project, args.next_repeats, res, key="W2b_next_task_after_W3")
    if "W4" in phases:
        PEER.w4_export(adapter, monitor, project, [export_format], args.export_repeats, str(folder), res)
        entry = res["W4_export"][export_format]
        if export_format == "JUDGMENTS_JSONL" and "error" not in entry:
            judged, items = count_exported_judgments(folder / f"export_{export_format}.json")
            entry.update(annotations_in_export=judged, tasks_with_annotations_in_export=items)
    if "W5" in phases:
        PEER.w5_task_list(adapter, monitor, project, args.list_repeats, res)
    if "W2c" in phases:
        PEER.w2c_label_loop(adapter, monitor, project, args.next_repeats, res)
    return res


def run_one(system, database, round_no, args, tasks, scratch):
    label = f"{system}_{database}_{round_no}"
    folder = scratch / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url, drop = fresh_database(database, args, folder, label)
    if system == "ours":
        server = PlatformServer(database, url, folder, args.port, args.code_dir)
    else:
        server = LabelStudioServer(database, url, folder / "ls", args.port + 1, args.ls_venv)
    print(f"\n== {label}: {server.description}, load {load()}", flush=True)
    try:
        pids = server.start()
        monitor = ProcessPeakMonitor(pids)
        monitor.start()
        started, load_start = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), load()
        try:
            res = run_phases(server.adapter(tasks), monitor, tasks, args,
                             "JUDGMENTS_JSONL" if system == "ours" else "JSON", folder)
        finally:
            monitor.stop()
        res.update(system=system, database=database, round=round_no, server=server.description, started=started,
                   load_start=load_start, load_end=load(), n_tasks=len(tasks))
    finally:
        server.stop()
        drop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"   {label} done, load {load()}", flush=True)
    return res


def load():
    return [round(x, 2) for x in os.getloadavg()]




def git(*arguments):
    return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, check=True).stdout


def platform_code(choice, scratch):
    """Return (the folder the platform runs from, the commit it is): a snapshot of HEAD, or the working tree."""
    head = git("rev-parse", "--short", "HEAD").decode().strip()
    if choice == "worktree":
        return ROOT, head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no").strip() else "")
    folder = scratch / "code"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=git("archive", "HEAD"), check=True)
    # The venv's editable install resolves any module the snapshot lacks (a new file in the working tree) from the
    # working tree; with its finder gone, the snapshot on PYTHONPATH is the only code (site runs this after the .pth).
    (folder / "sitecustomize.py").write_text(
        "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n")
    return folder, head


# The table -------------------------------------------------------------------------------------------------------

def dig(res, *keys):
    for key in keys:
        if not isinstance(res, dict) or key not in res:
            return None
        res = res[key]
    return res


def export_entry(res):
    entries = list((dig(res, "W4_export") or {}).values())
    return entries[0] if entries else {}


# (figure, how to read it from one run, unit, "lower"/"higher" is better, target advantage or None)
FIGURES = [
    ("W1 import wall until queryable", lambda r: dig(r, "W1_import", "wall_until_queryable_s"), "s", "lower", 2),
    ("W1 import rate", lambda r: dig(r, "W1_import", "tasks_per_s"), "tasks/s", "higher", None),
    ("W1 server CPU (database server not counted)", lambda r: dig(r, "W1_import", "server_cpu_s"), "s", "lower",
     None),
    ("W1 peak RSS, all server processes", lambda r: dig(r, "W1_import", "peak_server_rss_mib"), "MiB", "lower", None),
    ("W1 peak RSS, largest process", lambda r: dig(r, "W1_import", "largest_process_peak_mib"), "MiB", "lower",
     None),
    ("W2 next (re-served) p50", lambda r: dig(r, "W2_next_task", "p50_ms"), "ms", "lower", None),
    ("W2 next (re-served) p95", lambda r: dig(r, "W2_next_task", "p95_ms"), "ms", "lower", None),
    ("W2b next (re-served) after W3 p50", lambda r: dig(r, "W2b_next_task_after_W3", "p50_ms"), "ms", "lower", None),
    ("W2b next (re-served) after W3 p95", lambda r: dig(r, "W2b_next_task_after_W3", "p95_ms"), "ms", "lower", None),
    ("W2c label loop: next p50", lambda r: dig(r, "W2c_label_loop", "next", "p50_ms"), "ms", "lower", None),
    ("W2c label loop: next p95", lambda r: dig(r, "W2c_label_loop", "next", "p95_ms"), "ms", "lower", 2),
    ("W2c label loop: submit p50", lambda r: dig(r, "W2c_label_loop", "submit", "p50_ms"), "ms", "lower", None),
    ("W2c label loop: submit p95", lambda r: dig(r, "W2c_label_loop", "submit", "p95_ms"), "ms", "lower", None),
    ("W3 throughput, 8 threads (ours: 8 annotators, next+submit each)",
     lambda r: dig(r, "W3_submit", "throughput_per_s"), "/s", "higher", 5),
    ("W3 latency p50 (ours: next+submit)", lambda r: dig(r, "W3_submit", "p50_ms"), "ms", "lower", None),
    ("W3 latency p95 (ours: next+submit)", lambda r: dig(r, "W3_submit", "p95_ms"), "ms", "lower", None),
    ("W3 server CPU per judgment (ours: next+submit; database not counted)", lambda r: None
     if dig(r, "W3_submit", "server_cpu_s") is None
     else r["W3_submit"]["server_cpu_s"] * 1000 / r["W3_submit"]["annotations_sent"], "ms", "lower", None),
    ("W3 exactly N stored, failed attempts", lambda r: None if "W3_submit" not in r else
     f"{'yes' if r['W3_submit']['exact_count_ok'] else 'NO'}, {r['W3_submit']['failed_attempts']}", "", "", None),
    ("W4 export wall (ours: freeze + export + download)", lambda r: dig(export_entry(r), "wall_s", "median"), "s",
     "lower", 10),
    ("W4 peak RSS, all server processes", lambda r: dig(export_entry(r), "peak_server_rss_mib", "median"), "MiB",
     "lower", 4),
    ("W4 peak RSS, largest process (last run)", lambda r: dig(export_entry(r), "largest_process_peak_mib"), "MiB",
     "lower", None),
    ("W4 bytes downloaded", lambda r: dig(export_entry(r), "bytes"), "B", "", None),
    ("W4 annotations / annotated tasks in export", lambda r: None if not export_entry(r).get("annotations_in_export")
     else f"{export_entry(r)['annotations_in_export']} / {export_entry(r)['tasks_with_annotations_in_export']}", "",
     "", None),
    ("W5 first list page, median of 5 (ours: items, 30 rows)",
     lambda r: None if dig(r, "W5_task_list", "latency_s", "median") is None
     else r["W5_task_list"]["latency_s"]["median"] * 1000, "ms", "lower", 2),
    ("W5 project / campaign detail, median", lambda r: None
     if dig(r, "W5_task_list", "project_detail_latency_s", "median") is None
     else r["W5_task_list"]["project_detail_latency_s"]["median"] * 1000, "ms", "lower", None),
]


def cell(values):
    numbers = [v for v in values if isinstance(v, int | float)]
    if not numbers:
        texts = [str(v) for v in values if v is not None]
        return "; ".join(texts) or "-", None
    middle = statistics.median(numbers)
    shown = number(middle)
    if len(numbers) > 1:
        shown += " (" + ", ".join(number(v) for v in numbers) + ")"
    return shown, middle


def number(value):
    return f"{value:,.1f}" if value < 10_000 and value != int(value) else f"{value:,.0f}"


def table(report):
    """Return the Markdown table: each figure for both systems (median of the rounds, rounds in brackets), ratio."""
    runs = report["runs"]
    ours = [r for r in runs if r["system"] == "ours"]
    theirs = [r for r in runs if r["system"] == "labelstudio"]
    lines = ["| figure | ours | Label Studio | advantage (x) | target |", "| --- | ---: | ---: | ---: | --- |"]
    for name, read, unit, better, target in FIGURES:
        ours_text, ours_mid = cell([read(r) for r in ours])
        theirs_text, theirs_mid = cell([read(r) for r in theirs])
        ratio, verdict = "", ""
        if ours_mid and theirs_mid and better:
            advantage = theirs_mid / ours_mid if better == "lower" else ours_mid / theirs_mid
            ratio = f"{advantage:.2f}"
            if target:
                verdict = f"≥ {target}x: {'met' if advantage >= target else 'missed'}"
        label = f"{name}, {unit}" if unit else name
        lines.append(f"| {label} | {ours_text} | {theirs_text} | {ratio} | {verdict} |")
    return "\n".join(lines)


def header(report):
    return (f"{report['database']}: {report['n_tasks']:,} tasks, started {report['started']}, {report['machine']}, "
            f"load {report['load_start']} at start, {report['load_end']} at the end; "
            f"ours: {report['servers']['ours']}; "
            f"Label Studio: {report['servers']['labelstudio']}; commit {report['commit']}")


# Entry points ----------------------------------------------------------------------------------------------------

def make_users(count):
    """(Child process, Django set up) Create a lead and `count` annotators with API tokens; print them as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")  # the code is on PYTHONPATH
    import django

    django.setup()
    from alfa_platform.roles import Role
    from alfa_platform.tokens import issue_token
    from alfa_platform.users import create_user_with_role

    lead = create_user_with_role("peers-lead", Role.LEAD)
    annotators = [create_user_with_role(f"peers-annotator-{k}", Role.ANNOTATOR) for k in range(count)]
    print(json.dumps({"lead": issue_token(lead).key,
                      "annotators": [{"username": u.username, "token": issue_token(u).key} for u in annotators]}))


def merged_reports(paths):
    """Load saved results; files of the same database (say, two sessions' rounds) become one report."""
    reports = {}
    for path in paths:
        report = json.loads(path.read_text())
        if report["database"] not in reports:
            reports[report["database"]] = report
            continue
        first = reports[report["database"]]
        first["runs"] += report["runs"]
        first["load_end"] = report.get("load_end")
        first["started"] += f" and {report['started']}"
        if report["commit"] != first["commit"]:
            first["commit"] += f" and {report['commit']}"
    return list(reports.values())


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=2, help="ours, theirs alternations per database")
    parser.add_argument("--systems", default="ours,labelstudio")
    parser.add_argument("--limit", type=int, help="use only the first N tasks")
    parser.add_argument("--chunk", type=int, default=0, help="tasks per import POST (0: all in one)")
    parser.add_argument("--next-repeats", type=int, default=200)
    parser.add_argument("--annotations", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=ANNOTATORS)
    parser.add_argument("--export-repeats", type=int, default=3)
    parser.add_argument("--list-repeats", type=int, default=5)
    parser.add_argument("--phases", default="W1,W2,W3,W2b,W4,W5,W2c", help="W1 always runs")
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/peers"))
    parser.add_argument("--ls-venv", type=Path, default=Path("/work/scratch/ls-venv"))
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/alfa_peers")
    parser.add_argument("--port", type=int, default=8871, help="ours; Label Studio gets the next port")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--tag", default="", help="suffix of the result files (peers_<database><tag>.json)")
    parser.add_argument("--code", choices=["head", "worktree"], default="head",
                        help="head: run a snapshot of the committed HEAD (git archive into the scratch folder), so the "
                             "results name the code they measured; worktree: the working tree as it is")
    parser.add_argument("--keep", action="store_true", help="keep each run's scratch folder")
    parser.add_argument("--table", nargs="+", type=Path, help="print the tables of saved results and stop")
    parser.add_argument("--make-users", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def ensure_label_studio(venv):
    if not (venv / "bin" / "label-studio").exists():
        subprocess.run([str(PEER_DIR / "ls_server.sh"), "setup", str(venv)], env={**os.environ,
                       "LS_VERSION": LS_VERSION}, check=True)


def main(argv=None):
    args = parse_args(argv)
    if args.make_users:
        return make_users(args.make_users)
    if args.table:
        for report in merged_reports(args.table):
            print(f"\n{header(report)}\n\n{table(report)}")
        return None
    args.scratch.mkdir(parents=True, exist_ok=True)
    args.code_dir, measured = platform_code(args.code, args.scratch)
    path, digest = workload(args.scratch)
    tasks = json.loads(path.read_text())[:args.limit] if args.limit else json.loads(path.read_text())
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if "labelstudio" in systems:
        ensure_label_studio(args.ls_venv)
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        workers, threads, source = SERVERS[database]
        report = {"database": database, "n_tasks": len(tasks), "workload_sha256": digest, "machine": describe_machine(),
                  "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load(),
                  "commit": measured, "settings": {k: str(v) for k, v in vars(args).items() if k != "table"},
                  "servers": {"ours": f"gunicorn {workers}x{threads} ({source}) + Celery worker",
                              "labelstudio": LabelStudioServer.description}, "runs": []}
        out = args.out_dir / f"peers_{database}{args.tag}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        for round_no in range(1, args.rounds + 1):
            for system in systems:
                report["runs"].append(run_one(system, database, round_no, args, tasks, args.scratch))
                report["load_end"] = load()
                out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\n{header(report)}\n\n{table(report)}\n\nwrote {out}", flush=True)
    return None


if __name__ == "__main__":
    main()
