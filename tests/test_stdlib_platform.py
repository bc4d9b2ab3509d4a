"""`import platform` stays Python's standard module in every process, although the project has a platform/ folder."""

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STDLIB = sysconfig.get_paths()["stdlib"]

PROBE = (
    "import os, sys; sys.path.insert(0, os.getcwd()); "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'alfa_platform.settings'); "
    "import django; django.setup(); "
    "import platform, alfa_platform; "
    "print(platform.__file__); print(platform.python_version()); print(alfa_platform.__file__)"
)


def run_python(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)


def test_it_keeps_stdlib_platform_where_django_settings_are_loaded():
    platform_file, version, project_file = run_python("-c", PROBE).stdout.split()
    assert platform_file.startswith(STDLIB)
    assert version == ".".join(map(str, sys.version_info[:3]))
    assert project_file.startswith(str(ROOT / "platform" / "alfa_platform"))


def test_it_keeps_stdlib_platform_in_manage_py():
    probe = "import platform; print(platform.__file__, platform.python_version())"
    out = run_python("manage.py", "shell", "-v", "0", "-c", probe)
    assert out.stdout.split()[0].startswith(STDLIB)


def test_it_keeps_stdlib_platform_in_the_celery_app():
    out = run_python("-c", "import alfa_platform.celery as c, platform; print(platform.__file__, c.app.main)")
    platform_file, app_name = out.stdout.split()
    assert platform_file.startswith(STDLIB) and app_name == "alfa_platform"


def test_it_has_no_package_marker_in_the_platform_folder():
    assert not (ROOT / "platform" / "__init__.py").exists()
