"""No dead definitions in the apps: every function, method and class is used somewhere.

vulture reads the apps, the tests, the benchmarks and the scripts (a helper that only a test or a benchmark calls
is still used). What only Django, DRF, Celery or a library calls by name is allowed below, by the names and
decorators of those entry points; the rest of the allow-list names what templates and settings call by string.
"""

from pathlib import Path

import vulture

ROOT = Path(__file__).resolve().parent.parent
APPS = ["platform/alfa_platform", "jobs", "audit", "corpus", "synthesis", "annotation", "dataversions", "training",
        "evaluation"]
READ_TOO = ["tests", "bench", "scripts", ".ci", "manage.py"]
# Imports are ruff's (F401), which also sees the names that quoted annotations use.
KINDS = {"function", "method", "class", "property", "unreachable_code"}

# Called by a framework or a library by convention.
ENTRY_POINTS = [
    "Command", "*Config", "*Admin", "*Inline", "*Middleware", "*Serializer", "*ViewSet", "*View", "*Form",
    "*Permission", "*Authentication", "*Parser", "*Backend", "*Filter", "*FilterSet", "*Renderer",
    "handle", "add_arguments", "ready", "dispatch", "get", "post", "put", "patch", "delete", "get_*", "perform_*",
    "has_*permission", "clean", "clean_*", "validate", "validate_*", "to_representation", "to_internal_value",
    "form_valid", "form_invalid", "retrieve", "list", "create", "update", "partial_update", "destroy",
    "authenticate", "authenticate_header", "process_request", "process_response", "process_view",
    "__*__", "save", "valid_value", "prepare_value", "value_from_datadict", "format_value", "render",
    "filter_*", "lookup_allowed", "_reject",  # CsrfViewMiddleware's hook for a refused request
    "log_message", "do_GET", "do_POST",  # http.server.BaseHTTPRequestHandler
    "_verify_jws", "verify_claims", "create_user", "update_user", "filter_users_by_claims", "get_userinfo",  # OIDC
    "parse_known_args",  # argparse
    "on_*",  # transformers' TrainerCallback hooks
]
ENTRY_DECORATORS = ["@action", "@admin.register", "@admin.display", "@register.*", "@receiver", "@shared_task",
                    "@app.task", "@job_runner", "@register_config", "@extend_schema*", "@property",
                    "@cached_property", "@*.setter", "@pytest.fixture", "@api_view", "@csrf_exempt"]
# Named in settings or templates as strings.
BY_NAME = ["roles_context", "lockout_response", "provider_logout_url", "selection_fields"]


def test_the_apps_hold_no_unused_definitions():
    finder = vulture.Vulture(ignore_names=ENTRY_POINTS + BY_NAME, ignore_decorators=ENTRY_DECORATORS)
    finder.scavenge([str(ROOT / path) for path in APPS + READ_TOO], exclude=["*/migrations/*"])
    app_dirs = tuple(str(ROOT / path) for path in APPS)
    dead = sorted(f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.typ} {item.name}"
                  for item in finder.get_unused_code(min_confidence=60)
                  if item.typ in KINDS and str(item.filename).startswith(app_dirs))
    assert dead == []
