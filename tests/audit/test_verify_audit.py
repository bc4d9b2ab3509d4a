"""verify_audit walks the hash chain: an edited, deleted or truncated record breaks it, and is named."""

import io
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection, connections

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role
from audit.models import AuditRecord, chain_for
from audit.recording import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(lead):
    """Four events by a lead: the lead's chain (the lead's creation, by no one, went to chain 1)."""
    for number in range(4):
        record_event(lead, "test.event", before={"n": number}, after={"n": number + 1}, actor=lead)
    return list(AuditRecord.objects.filter(chain=chain_for(lead.pk)).order_by("sequence"))


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=AuditRecord._meta.db_table), params)


def verify():
    call_command("verify_audit", stdout=io.StringIO())


def test_it_passes_intact_chains(chain, capsys):
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert f"audit chain intact: {AuditRecord.objects.count()} records in 2 chain(s)" in out
    assert f"  chain {chain[-1].chain}: 4 records, last hash {chain[-1].record_hash}" in out
    assert [record.sequence for record in chain] == [1, 2, 3, 4]
    assert [record.previous_hash for record in chain[1:]] == [record.record_hash for record in chain[:-1]]


def test_it_puts_each_users_records_on_their_own_chain(chain, lead, annotator):
    """Concurrent annotators append to different chains (no queue between them); verify_audit checks each."""
    record_event(annotator, "test.event", after={"n": 1}, actor=annotator)
    (own,) = AuditRecord.objects.filter(actor=annotator)
    assert own.chain == chain_for(annotator.pk) != chain_for(lead.pk) and own.sequence == 1
    verify()


def test_it_names_a_record_edited_with_a_raw_update(chain):
    target = chain[2]
    raw("UPDATE {table} SET changes = %s WHERE id = %s", ['{"n": [1, 99]}', target.pk])
    with pytest.raises(CommandError, match=rf"record id {target.pk} \(chain {target.chain}, sequence "
                                           rf"{target.sequence}\).*edited"):
        verify()


def test_it_names_a_record_whose_author_was_rewritten(chain):
    target = chain[1]
    raw("UPDATE {table} SET actor_username = %s WHERE id = %s", ["someone_else", target.pk])
    with pytest.raises(CommandError, match=rf"record id {target.pk} "):
        verify()


def test_it_detects_a_rehashed_record_at_the_next_one(chain):
    """Recomputing an edited record's own hash does not help: the next record still carries the old one."""
    target, following = chain[2], chain[3]
    raw("UPDATE {table} SET record_hash = %s WHERE id = %s", ["f" * 64, target.pk])
    with pytest.raises(CommandError, match=rf"record id {target.pk} "):
        verify()
    raw("UPDATE {table} SET previous_hash = %s WHERE id = %s", ["f" * 64, following.pk])
    with pytest.raises(CommandError, match=rf"record id {target.pk} "):
        verify()


def test_it_names_the_record_after_a_deleted_one(chain):
    deleted, following = chain[2], chain[3]
    raw("DELETE FROM {table} WHERE id = %s", [deleted.pk])
    with pytest.raises(CommandError, match=rf"record id {following.pk} .*sequence {deleted.sequence} is missing"):
        verify()


def test_it_detects_a_truncated_tail(chain):
    raw("DELETE FROM {table} WHERE id = %s", [chain[-1].pk])
    with pytest.raises(CommandError, match=rf"end of chain {chain[-1].chain}: its head counts {len(chain)} records"
                                           rf".*holds {len(chain) - 1}"):
        verify()


def test_it_detects_a_chain_deleted_whole(chain):
    raw("DELETE FROM {table} WHERE chain = %s", [chain[0].chain])
    with pytest.raises(CommandError, match=rf"end of chain {chain[0].chain}: its head counts {len(chain)}"):
        verify()


def test_it_refuses_changes_and_deletions_through_the_orm(chain):
    record = chain[0]
    record.object_repr = "forged"
    with pytest.raises(PermissionDenied):
        record.save()
    with pytest.raises(PermissionDenied):
        record.delete()
    with pytest.raises(PermissionDenied):
        AuditRecord.objects.filter(pk=record.pk).update(object_repr="forged")
    with pytest.raises(PermissionDenied):
        AuditRecord.objects.all().delete()
    verify()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_chain_under_concurrent_appends():
    """Appends from several connections at once queue on the head row: no fork, no gap, no duplicate."""
    user = create_user_with_role("conc_lead", Role.LEAD)
    errors = []

    def append(worker):
        try:
            for number in range(10):
                record_event(user, "test.concurrent", after={"worker": worker, "n": number}, actor=user)
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditRecord.objects.filter(event="test.concurrent").count() == 40
    verify()
