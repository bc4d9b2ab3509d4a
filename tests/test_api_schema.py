"""The OpenAPI schema is valid and the interactive docs are served with local assets only."""

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/jobs/" in out.read_text()


def test_schema_and_docs_are_served_to_signed_in_users(client_for, annotator):
    client = client_for(annotator)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    external = [src for src in re.findall(r'(?:src|href)="([^"]+)"', docs) if src.startswith(("http:", "https:", "//"))]
    assert external == []


def test_schema_is_closed_to_anonymous_users(client):
    assert client.get("/api/schema/").status_code in (401, 403)
