"""Fixtures for the annotation tests: campaigns with imported items, and JSONL rows."""

import json

import pytest

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.models import CampaignStatus, JudgmentMode
from tests.annotation.factories import create_case


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Persona users are created often here; the default hasher costs a third of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clear_cache():
    """Cached dashboards and the attribute catalogue must not leak between tests (primary keys repeat)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def comparison_row(index, attribute="clarity", **extra):
    """Return one JSONL row of the import format."""
    return {
        "id": f"pair-{index}",
        "context": {
            "title": f"Rash on my arm ({index})",
            "post": "It itches and has been there for a week.",
            "turns": [{"question": "Is it raised?", "patient_answer": "Yes, a little."}],
        },
        "question_a": f"Did the rash appear after a new soap or detergent? ({index})",
        "question_b": f"Anything else? ({index})",
        "attribute": attribute,
        "source_a": "enhanced",
        "source_b": "corrupted",
        **extra,
    }


def jsonl(rows):
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture
def make_campaign(lead):
    """Return a function creating an active campaign with `n` imported items (and optional gold items)."""

    def make(n=5, annotators=(), gold=0, name="Clarity study", **settings):
        settings.setdefault("judgment_mode", JudgmentMode.PER_ATTRIBUTE)
        settings.setdefault("overlap", 2)
        settings.setdefault("gold_rate", 0.0)
        campaign = do_create_campaign(name=name, created_by=lead, annotators=annotators, **settings)
        rows = [comparison_row(i) for i in range(n)]
        rows += [comparison_row(1000 + i, gold="a") for i in range(gold)]
        do_import_items(campaign, jsonl(rows))
        do_set_campaign_status(campaign, CampaignStatus.ACTIVE)
        campaign.refresh_from_db()
        return campaign

    return make


@pytest.fixture
def make_case(db):
    """Return a function creating a MediQ-AskDocs case (and its thread) through the ORM."""
    return create_case
