"""Importers for the corpus: one code path (import_path) behind the CLI, the API upload and the upload page.

Formats: question records (askdocs/test_q.jsonl), MediQ-AskDocs MCQs, MedQA interactive cases and thread records
(see docs/corpus-import.md). The format is detected from the first record's keys, or named.
"""

from dataclasses import dataclass
from typing import Any

from .mcq import AskDocsMcqParser, MedQAParser
from .pipeline import import_path, infer_split
from .questions import QuestionRecordParser
from .threads import ThreadRecordParser, export_threads


@dataclass(frozen=True)
class Format:
    value: str
    label: str
    parser: type[Any]  # the format's parser class (QuestionRecordParser, ThreadRecordParser, an McqParser)
    signature: frozenset  # keys every record of the format has; detection picks the first format they match

    def score(self, record: dict[str, Any]) -> float:
        """Return the share of the signature keys the record has (0 when its shape rules this format out)."""
        if not self.parser.looks_like(record):
            return 0.0
        return len(self.signature.intersection(record)) / len(self.signature)


FORMAT_LIST = [
    Format("questions", "AskDocs question records (one doctor question per line)", QuestionRecordParser,
           QuestionRecordParser.signature),
    Format("threads", "AskDocs thread records (one thread with its turns per line)", ThreadRecordParser,
           ThreadRecordParser.signature),
    Format("askdocs_mcq", "MediQ-AskDocs multiple-choice cases", AskDocsMcqParser, AskDocsMcqParser.signature),
    Format("medqa", "MedQA cases in the MediQ interactive format", MedQAParser, MedQAParser.signature),
]
FORMATS_BY_NAME = {fmt.value: fmt for fmt in FORMAT_LIST}
FORMATS = [("auto", "Detect from the first record"), *((fmt.value, fmt.label) for fmt in FORMAT_LIST)]


def detect_format(record: dict[str, Any]) -> str | None:
    """Return the name of the format whose signature keys the record has most of (at least 60%), or None.

    A first record that lacks a field or two is still recognised, and then rejected with its own errors.
    """
    best, best_score = None, 0.6
    for fmt in FORMAT_LIST:
        score = fmt.score(record)
        if score > best_score or (best is None and score == best_score):
            best, best_score = fmt.value, score
    return best


__all__ = ["FORMATS", "FORMATS_BY_NAME", "detect_format", "export_threads", "import_path", "infer_split"]
