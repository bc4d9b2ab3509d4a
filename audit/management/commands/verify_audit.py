"""manage.py verify_audit: check the audit trail's hash chain; exit non-zero naming the first broken record."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verification import ChainBreak, find_first_break


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; exits 1 at the first gap or edited record, naming it."

    def handle(self, *args: Any, **options: Any) -> None:
        result = find_first_break()
        if isinstance(result, ChainBreak):
            raise CommandError(str(result))
        self.stdout.write(f"audit chain intact: {result.length} records in {result.chains} chain(s)")
        for chain, (length, last_hash) in sorted(result.heads.items()):
            self.stdout.write(f"  chain {chain}: {length} records, last hash {last_hash}")
