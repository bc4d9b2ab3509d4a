"""Check the audit chains: each record in sequence, naming its predecessor's hash, its own hash matching."""

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from .models import GENESIS_HASH, AuditChainHead, AuditRecord, chain_hash


@dataclass(frozen=True)
class ChainBreak:
    """The first place a chain does not hold: the record there (None past a chain's last one) and why."""

    chain: int
    record: AuditRecord | None
    reason: str

    def __str__(self) -> str:
        where = (f"record id {self.record.pk} (chain {self.chain}, sequence {self.record.sequence})" if self.record
                 else f"the end of chain {self.chain}")
        return f"audit chain broken at {where}: {self.reason}"


@dataclass(frozen=True)
class ChainSummary:
    length: int
    chains: int
    # {chain: (records, last hash)}: noted down elsewhere, they also expose a chain rewritten whole later
    heads: dict[int, tuple[int, str]]


def check_record(record: AuditRecord, expected_sequence: int, expected_previous: str) -> str | None:
    """Return why this record breaks its chain, or None."""
    if record.sequence != expected_sequence:
        return f"sequence {expected_sequence} is missing: a record was deleted"
    if record.previous_hash != expected_previous:
        return "it does not carry the hash of the record before it: that one was edited or replaced"
    expected_hash = chain_hash(record.previous_hash, record.sequence, record.canonical_content())
    if expected_hash != record.record_hash:
        return "its content no longer matches its hash: it was edited"
    return None


def check_chain(chain: int, records: Iterable[AuditRecord],
                head: AuditChainHead | None) -> ChainBreak | tuple[int, str]:
    """Walk one chain's records in order; return its first break, or its length and last hash."""
    expected_sequence, expected_previous = 1, GENESIS_HASH
    for record in records:
        reason = check_record(record, expected_sequence, expected_previous)
        if reason:
            return ChainBreak(chain, record, reason)
        expected_sequence, expected_previous = expected_sequence + 1, record.record_hash
    length = expected_sequence - 1
    if head is not None and (head.length, head.last_hash) != (length, expected_previous):
        return ChainBreak(chain, None, f"its head counts {head.length} records, the table holds {length} in "
                                       "sequence: records at the end were deleted, or the head was edited")
    return length, expected_previous


def find_first_break() -> ChainBreak | ChainSummary:
    """Check every chain; return the first break, or the number of records and chains when all hold."""
    heads = {head.pk: head for head in AuditChainHead.objects.all()}
    records = AuditRecord.objects.select_related("content_type").order_by("chain", "sequence")
    summary: dict[int, tuple[int, str]] = {}
    for chain, chain_records in groupby(records.iterator(chunk_size=2000), key=lambda record: record.chain):
        result = check_chain(chain, chain_records, heads.get(chain))
        if isinstance(result, ChainBreak):
            return result
        summary[chain] = result
    for chain, head in sorted(heads.items()):
        if chain not in summary and head.length:  # every record of a chain deleted
            broken = check_chain(chain, [], head)
            assert isinstance(broken, ChainBreak)  # a head counting records over none in the table never holds
            return broken
    return ChainSummary(sum(length for length, _hash in summary.values()), len(summary), summary)
