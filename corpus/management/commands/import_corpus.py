"""manage.py import_corpus: import corpus files in-process with the same code as the upload page and API."""

import sys
from argparse import ArgumentParser
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from corpus.importers import FORMATS, import_path
from corpus.models import ImportRun, Split


class Command(BaseCommand):
    help = (
        "Import AskDocs/MediQ JSONL files (plain or gzip): question records, MediQ-AskDocs MCQs, MedQA cases or "
        "thread records. Prints each file's report and every error as file:line: field: reason; exits 1 when "
        "any record was rejected."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--format", default="auto", choices=[value for value, _ in FORMATS],
                            help="the files' format (default: detect it from the first record)")
        parser.add_argument("--split", choices=Split.values, default=None,
                            help="the posts' split (default: from the file name, e.g. test_q -> test)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    def handle(self, *args: Any, paths: list[str], split: str | None, no_progress: bool, **options: Any) -> None:
        file_format = options["format"]
        problems = False
        for path in paths:
            try:
                run = self.import_one(path, file_format, split, show_progress=not no_progress and sys.stderr.isatty())
            except (OSError, ValueError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
            self.print_report(run)
            problems |= run.has_problems
        if problems:
            raise SystemExit(1)

    def import_one(self, path: str, file_format: str, split: str | None, show_progress: bool) -> ImportRun:
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm comes with transformers; without it, no bar
            show_progress = False
        if not show_progress:
            return import_path(path, format=file_format, split=split)

        with tqdm(desc=str(path), unit="B", unit_scale=True, leave=False, file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            return import_path(path, format=file_format, split=split, on_progress=progress)

    def print_report(self, run: ImportRun) -> None:
        write = self.stdout.write
        where = f"format {run.format or '?'}, split {run.split or '-'}"
        write(f"{run.file_name}: {where}; {run.records_read:,} records read")
        write(f"  created     {counts(run.created)}")
        write(f"  updated     {counts(run.updated)}")
        write(f"  unchanged   {run.unchanged:,}")
        write(f"  rejected    {run.rejected:,}")
        if run.skipped:
            write(f"  skipped     {run.skipped:,} identical duplicate(s)")
        for name, count in sorted(run.normalizations.items()):
            write(f"  normalized  {name}: {count:,}")
        for name, count in sorted(run.stats.items()):
            if name != "bytes" and count:
                write(f"  note        {name}: {count:,}")
        for note in run.notes:
            write(f"  note        {note}")
        for warning in run.warnings:
            write(f"{warning['file']}:{warning['line']}: {warning['field']}: {warning['reason']}")
        for error in run.errors:
            self.stderr.write(f"{error['file']}:{error['line']}: {error['field']}: {error['reason']}")
        if run.error_count > len(run.errors):
            self.stderr.write(f"... and {run.error_count - len(run.errors):,} more error(s)")
        if run.error:
            self.stderr.write(f"{run.file_name}: stopped: {run.error}")


def counts(mapping: Mapping[str, int]) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in mapping.items()) or "nothing"
