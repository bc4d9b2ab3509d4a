"""Database-specific code lives in `<app>/sql/<vendor>.py` (alfa_platform.backends): one module per database,
the same functions in each, and no app code testing the database vendor itself."""

import re
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from alfa_platform.backends import VENDORS, backend, backend_packages, interface

ROOT = Path(settings.BASE_DIR)
APPS = ["platform/alfa_platform", "audit", "jobs", "corpus", "synthesis", "annotation", "dataversions", "training",
        "evaluation"]
VENDOR_TEST = re.compile(r"\.vendor\b")


def test_every_app_with_database_specific_code_has_its_sql_package():
    assert {"alfa_platform.sql", "annotation.sql", "audit.sql", "corpus.sql"} <= set(backend_packages())


@pytest.mark.parametrize("package", backend_packages())
def test_each_database_module_offers_the_same_functions(package):
    interfaces = {vendor: interface(import_module(f"{package}.{vendor}")) for vendor in VENDORS}
    assert interfaces["sqlite"] == interfaces["postgresql"]


@pytest.mark.parametrize("package", backend_packages())
def test_callers_get_the_module_of_the_running_database(package):
    assert backend(package).__name__ == f"{package}.{connection.vendor}"


def test_no_app_module_tests_the_database_vendor_itself():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative.as_posix() == "platform/alfa_platform/backends.py":
                continue
            found += [f"{relative}:{number}" for number, line in enumerate(path.read_text().splitlines(), 1)
                      if VENDOR_TEST.search(line)]
    assert found == []
