"""The annotation management commands."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotation.actions import do_create_campaign
from annotation.assignment import do_assign_next_item
from annotation.models import Assignment, AssignmentStatus
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db


def test_it_imports_a_file_from_the_command_line(lead, tmp_path):
    campaign = do_create_campaign(name="CLI", created_by=lead)
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_bytes(jsonl([comparison_row(i) for i in range(3)]))
    bad.write_bytes(jsonl([comparison_row(9)]) + b"{broken\n")
    out = StringIO()
    call_command("import_comparisons", "CLI", str(good), stdout=out)
    assert "3 created" in out.getvalue()
    err = StringIO()
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command("import_comparisons", str(campaign.pk), str(bad), stderr=err)
    assert "line 2" in err.getvalue()
    assert campaign.items.count() == 3


def test_it_expires_stale_assignments_from_the_command_line(make_campaign, annotator):
    campaign = make_campaign(n=2, annotators=[annotator])
    assignment = do_assign_next_item(campaign, annotator)
    Assignment.objects.filter(pk=assignment.pk).update(served_at=timezone.now() - timedelta(hours=30))
    out = StringIO()
    call_command("expire_assignments", "--hours", "24", stdout=out)
    assert "Expired 1" in out.getvalue()
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.EXPIRED
