"""Fixtures for the audit trail tests: an active campaign with an invited annotator, and trail helpers."""

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import JudgmentMode
from audit.models import AuditRecord
from tests.annotation.conftest import comparison_row, jsonl
from tests.dataversions.conftest import pair_corpus  # noqa: F401 (a fixture, for dataset versions)
from tests.synthesis.conftest import catalogue  # noqa: F401 (the fixture pair_corpus needs)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def campaign(lead, annotator):
    campaign = do_create_campaign(name="Audited study", created_by=lead, annotators=[annotator],
                                  judgment_mode=JudgmentMode.PER_ATTRIBUTE, overlap=2, gold_rate=0.0)
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(3)]))
    return do_set_campaign_status(campaign, "active")


def records(event=None, **filters):
    """The trail's records, oldest first (optionally one event's)."""
    found = AuditRecord.objects.filter(**filters).order_by("id")
    return list(found.filter(event=event) if event is not None else found)


def submit_body(item, pick="left"):
    return {"judgments": [{"attribute": j["attribute"], "pick": pick, "time_ms": 900} for j in item["judgments"]],
            "duration_ms": 1200}
