"""The demo project: its own corpus in the real record format, one user per role, idempotent loading."""

import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from alfa_platform.roles import Role, has_role
from annotation import demo
from annotation.models import Campaign, CampaignStatus
from corpus.models import MultipleChoiceCase, Question, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_DIR", tmp_path / "demo")
    monkeypatch.setattr(demo, "CREDENTIALS_FILE", tmp_path / "credentials.json")
    return tmp_path


def test_demo_records_use_every_field_of_the_real_question_format(demo_paths, shared_data):
    real_fields = set(json.loads((shared_data / "askdocs" / "test_q.jsonl").open().readline()))
    questions, _ = demo.write_demo_files()
    records = [json.loads(line) for line in questions.open()]
    assert all(set(record) == real_fields for record in records)


def test_load_demo_imports_10_to_20_threads_and_users_per_role_idempotently(demo_paths, capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    threads, questions = Thread.objects.count(), Question.objects.count()
    assert 10 <= threads <= 20 and questions > threads
    assert MultipleChoiceCase.objects.filter(thread__isnull=False).count() == threads

    call_command("load_demo")
    second = capsys.readouterr().out
    assert (Thread.objects.count(), Question.objects.count()) == (threads, questions)
    assert "unchanged 35" in second

    credentials = json.loads((demo_paths / "credentials.json").read_text())
    for username, info in credentials.items():
        assert info["password"] in first and info["password"] in second
        # django-axes checks lockouts per request: authenticate() needs one, as the login page passes it
        user = authenticate(RequestFactory().post("/login/"), username=username, password=info["password"])
        assert user is not None and has_role(user, Role(info["role"]))
    assert {info["role"] for info in credentials.values()} == set(Role.values)

    campaign = Campaign.objects.get(name=demo.DEMO_CAMPAIGN)
    assert campaign.status == CampaignStatus.ACTIVE and campaign.items.count() == len(demo.DEMO_DEGRADED)
    members = set(campaign.members.values_list("user__username", flat=True))
    assert members == {name for name, info in credentials.items() if info["role"] == "annotator"}
    assert campaign.items.filter(question__isnull=False).count() == campaign.items.count()
