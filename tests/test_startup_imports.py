"""Every process starts light: Django setup and the URLconf import no ML library (web, workers, commands)."""

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ["torch", "transformers", "datasets", "trl", "sentence_transformers", "pandas"]
PROBE = f"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_django_setup_and_the_urls_import_no_ml_library():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
