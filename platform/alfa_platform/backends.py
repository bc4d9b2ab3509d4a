"""Per-database modules: where an app's SQL differs by database, it lives in `<app>/sql/<vendor>.py`.

Each such package holds one module per database Django names by `connection.vendor` (`sqlite`, `postgresql`),
each defining the same functions with the same signatures (tests/test_backend_modules.py checks it), so a reader
sees at once what is database-specific and a caller never tests the vendor itself. A module's `__all__`, where it
has one, names what callers dispatch to; its other public names serve that database's own code only (the
PostgreSQL statements the annotation store builds, say).
"""

import importlib
import inspect
from functools import cache
from types import ModuleType

from django.db import connection

VENDORS = ("sqlite", "postgresql")


@cache
def _module(package: str, vendor: str) -> ModuleType:
    return importlib.import_module(f"{package}.{vendor}")


def backend(package: str) -> ModuleType:
    """The module of `package` (e.g. "corpus.sql") for the database of the default connection."""
    return _module(package, connection.vendor)


def interface(module: ModuleType) -> dict[str, inspect.Signature]:
    """The functions callers dispatch to in a backend module (its `__all__`, else its own public functions)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, value in vars(module).items()
                 if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")]
    return {name: inspect.signature(getattr(module, name)) for name in names}


def backend_packages() -> list[str]:
    """Every `<app>.sql` package of the installed project apps."""
    from importlib.util import find_spec
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings

    root = Path(settings.BASE_DIR)
    return [f"{config.name}.sql" for config in apps.get_app_configs()
            if Path(config.path).is_relative_to(root) and find_spec(f"{config.name}.sql") is not None]
