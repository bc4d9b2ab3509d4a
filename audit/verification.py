"""Check the audit chain: every record in sequence, each naming its predecessor's hash, each hash matching."""

from dataclasses import dataclass

from .models import GENESIS_HASH, HEAD_ID, AuditChainHead, AuditRecord, chain_hash


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: the record there (None past the last one) and why."""

    record: AuditRecord | None
    reason: str

    def __str__(self):
        where = f"record id {self.record.pk} (sequence {self.record.sequence})" if self.record else "the chain's end"
        return f"audit chain broken at {where}: {self.reason}"


@dataclass(frozen=True)
class ChainSummary:
    length: int
    last_hash: str


def check_record(record: AuditRecord, expected_sequence: int, expected_previous: str) -> str | None:
    """Return why this record breaks the chain, or None."""
    if record.sequence != expected_sequence:
        return f"sequence {expected_sequence} is missing: a record was deleted"
    if record.previous_hash != expected_previous:
        return "it does not carry the hash of the record before it: that one was edited or replaced"
    if chain_hash(record.previous_hash, record.sequence, record.canonical_content()) != record.record_hash:
        return "its content no longer matches its hash: it was edited"
    return None


def find_first_break() -> ChainBreak | ChainSummary:
    """Walk the chain in order; return the first break, or the chain's length and last hash when it holds."""
    expected_sequence, expected_previous = 1, GENESIS_HASH
    records = AuditRecord.objects.select_related("content_type").order_by("sequence")
    for record in records.iterator(chunk_size=2000):
        reason = check_record(record, expected_sequence, expected_previous)
        if reason:
            return ChainBreak(record, reason)
        expected_sequence, expected_previous = expected_sequence + 1, record.record_hash
    length = expected_sequence - 1
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None and (head.length, head.last_hash) != (length, expected_previous):
        return ChainBreak(None, f"the chain's head counts {head.length} records, the table holds {length} in "
                                "sequence: records at the end were deleted, or the head was edited")
    return ChainSummary(length, expected_previous)
