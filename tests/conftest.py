"""Shared fixtures: one persona per role, API clients, the shared real data, eager Celery by default."""

import os
import shutil
from pathlib import Path

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_content_type_cache(request):
    """Forget cached content type ids before a test that starts from a flushed and reloaded database.

    There the ids a process cached may no longer exist, and every audit record names its object's content type.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if transactional or {"transactional_db", "live_server", "start_worker"} & set(request.fixturenames):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def eager_celery(settings, request):
    """Run tasks in-process unless a test starts a real worker."""
    if request.node.get_closest_marker("worker") is None:
        settings.CELERY_TASK_ALWAYS_EAGER = True
        from alfa_platform.celery import app

        app.conf.task_always_eager = True
        yield
        app.conf.task_always_eager = False
    else:
        yield


@pytest.fixture
def make_user(db):
    def make(username, role):
        return create_user_with_role(username, role, password=PASSWORD)

    return make


@pytest.fixture
def lead(make_user):
    return make_user("lena_lead", Role.LEAD)


@pytest.fixture
def annotator(make_user):
    return make_user("anna_annotator", Role.ANNOTATOR)


@pytest.fixture
def second_annotator(make_user):
    return make_user("ben_annotator", Role.ANNOTATOR)


@pytest.fixture
def reviewer(make_user):
    return make_user("rita_reviewer", Role.REVIEWER)


@pytest.fixture
def admin_user(make_user):
    return make_user("adam_admin", Role.ADMIN)


@pytest.fixture
def outsider(make_user):
    return make_user("oscar_outsider", None)


@pytest.fixture
def api_client_for():
    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for(client):
    def make(user):
        client.force_login(user)
        return client

    return make


@pytest.fixture(scope="session")
def shared_data():
    """The real AskDocs/MediQ files in ../shared/data; tests read them in place and never copy them."""
    path = Path(settings.SHARED_DATA_DIR)
    assert (path / "askdocs" / "test_q.jsonl").exists(), f"shared data not found under {path}"
    return path


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Return a function starting a real Celery worker process on the test database; workers stop afterwards.

    Tests using it must be marked `worker` and use committed data (the fixture implies transactional_db).
    """
    from tests.workers import WorkerProcess, use_broker_dir, worker_env

    broker_env = use_broker_dir(tmp_path / "broker")
    started = []

    def start(include="", **env):
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log", worker_env(broker_env, **env), include=include)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server", "start_worker"}


def uses_database(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & DATABASE_FIXTURES) or item.get_closest_marker("django_db") is not None


def pytest_collection_modifyitems(config, items):
    """Give every test that commits (worker, live server, django_db(transaction=True)) a serialized rollback.

    Transactional tests end by flushing the database, which would also wipe rows that data migrations created
    (role groups, the attribute catalogue) for every later test.

    With ALFA_DATABASE_TESTS_ONLY=1 (CI's second pass, on PostgreSQL) only the tests that touch the database run:
    the others do not depend on which database is configured and already ran in the first pass.
    """
    if os.environ.get("ALFA_DATABASE_TESTS_ONLY") == "1":
        independent = [item for item in items if not uses_database(item)]
        if independent:
            config.hook.pytest_deselected(items=independent)
            items[:] = [item for item in items if uses_database(item)]
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None or "django_db_serialized_rollback" in names:
            continue
        marker = item.get_closest_marker("django_db")
        transactional = marker is not None and marker.kwargs.get("transaction", False)
        if transactional or {"transactional_db", "live_server", "start_worker"} & set(names):
            names.append("django_db_serialized_rollback")


# --- Playwright driving Debian's Chromium (one browser per session, shared by every browser test) ---------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def csp_safe_wait_for_function(page):
    """Return a stand-in for page.wait_for_function that works under the site's Content-Security-Policy.

    Playwright's own polls by eval()-ing the expression inside the page, which a policy without 'unsafe-eval'
    refuses; page.evaluate runs it through the DevTools protocol, which the policy does not govern.
    """
    import time

    def wait_for_function(expression, arg=None, timeout=15_000, polling=None):
        deadline = time.monotonic() + timeout / 1000
        while True:
            result = page.evaluate(expression, arg)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"wait_for_function: still false after {timeout} ms: {expression}")
            time.sleep(0.05)

    return wait_for_function


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.wait_for_function = csp_safe_wait_for_function(page)
    # Every browser test also checks the Content-Security-Policy: a page script or style it blocked is a failure.
    page.csp_violations = violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not violations, f"the Content-Security-Policy blocked: {violations}"


@pytest.fixture
def login(live_server):
    """Log `page` in through the real login form."""
    def log_in(page, user):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return log_in


# --- A real OpenID Connect provider for the single sign-on tests (tests/oidc_provider/) ---------------------------


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """django-oidc-provider in its own process on a free loopback port, with its own database; stopped at the end."""
    from tests.oidc_provider.server import ProviderProcess

    provider = ProviderProcess(tmp_path_factory.mktemp("oidc-provider")).start()
    yield provider
    provider.stop()
