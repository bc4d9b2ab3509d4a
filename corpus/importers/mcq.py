"""Multiple-choice cases: MediQ-AskDocs (linked to its thread by id) and MedQA in the MediQ interactive format."""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..models import MultipleChoiceCase, RecordChange, Thread
from .base import Field, RecordError, compile_fields, content_hash
from .units import Key, Record, Row, fingerprint_of
from .writer import ChunkResult, write_in_transactions

if TYPE_CHECKING:
    from .pipeline import ImportContext

BATCH = 500
MCQ_FIELDS = (
    "stem", "options", "answer_idx", "context", "atomic_facts", "initial_info", "initial_info_is_published",
    "original_post", "derived",
)

CHECK_ASKDOCS = compile_fields([
    Field("id", max_length=64),
    Field("question"),
    Field("options", "dict"),
    Field("answer", required=False, nullable=True),
    Field("answer_idx", max_length=1),
    Field("atomic_facts", "str_list"),
    Field("context", "id", required=False, nullable=True),  # a string in MediQ-AskDocs (checked below)
    Field("original_post", required=False, nullable=True),
    Field("initial_info", required=False, nullable=True),
    Field("usage", "dict", required=False, nullable=True),
])
CHECK_MEDQA = compile_fields([
    Field("id", "id", max_length=64),
    Field("question"),
    Field("context", "str_list"),
    Field("context_len", "int", required=False, nullable=True),
    Field("options", "dict"),
    Field("answer", required=False, nullable=True),
    Field("answer_idx", max_length=1),
    Field("explanation", required=False, nullable=True),
    Field("atomic_facts", "str_list"),
    Field("patient", "dict", required=False, nullable=True),
    Field("facts_old", "str_list", required=False, nullable=True),
])


def check_options(record: Record) -> list[RecordError]:
    """Return problems with options/answer: letters to non-empty text, answer_idx among them, answer its text."""
    options = record["options"]
    problems: list[RecordError] = []
    for letter, text in options.items():
        if len(letter) != 1 or type(text) is not str:
            problems.append(RecordError(f"options.{letter}", "expected a one-letter key with a string option"))
    if not options:
        problems.append(RecordError("options", "no options"))
    if record["answer_idx"] not in options:
        problems.append(RecordError("answer_idx", f"{record['answer_idx']!r} is not one of the options"))
    elif record.get("answer") is not None and record["answer"] != options[record["answer_idx"]]:
        problems.append(RecordError("answer", f"does not match options[{record['answer_idx']!r}]"))
    return problems


class McqParser:
    """Check MCQ records, then write a chunk: create new cases, update changed ones, record every change."""

    decoder = None  # no typed decoder: every record is parsed by orjson and checked in Python

    @staticmethod
    def is_fresh(payload: list[tuple[int, Row]]) -> bool:
        """MCQ chunks are always written by the general path."""
        return False

    source: MultipleChoiceCase.Source  # set by each subclass
    check: Callable[[Record], list[RecordError]]  # likewise: the record's field checks
    has_posts = False

    def __init__(self, context: "ImportContext") -> None:
        self.ctx = context
        self.report = context.report
        self.state = context.state

    @staticmethod
    def group_key(record: Record) -> None:
        return None

    def accept(self, line: int, record: Record) -> Record | None:
        problems = self.check(record) or check_options(record) or self.extra_checks(record)
        if problems:
            self.report.reject(line, problems)
            return None
        case_id = str(record["id"])
        fingerprint = fingerprint_of(record)
        seen = self.state.keys.get(case_id)
        if seen is not None:
            if seen[1] == fingerprint:
                self.report.skip_duplicate(line, "id", case_id, seen[0])
            else:
                reason = f"duplicate id {case_id!r} with different content; line {seen[0]} has this id"
                self.report.reject(line, [RecordError("id", reason)])
            return None
        self.state.keys[case_id] = (line, fingerprint)
        return record

    def extra_checks(self, record: Record) -> list[RecordError]:
        return []

    def build(self, record: Record) -> Row:
        """Return the case's row (column values by field name) from its record."""
        raise NotImplementedError

    def prepare(self, accepted: list[tuple[int, Record]]) -> list[tuple[int, Row]]:
        """Return the chunk's rows: [(line, row)] with their content hashes."""
        rows = []
        for line, record in accepted:
            row = self.build(record)
            row["content_hash"] = content_hash([row[name] for name in MCQ_FIELDS])
            rows.append((line, row))
        return rows

    def write(self, rows: list[tuple[int, Row]]) -> list[ChunkResult]:
        return write_in_transactions(rows, self.write_rows, lambda item: item[0], self.state.written)

    def thread_pks(self, case_ids: list[Key]) -> dict[Key, int]:
        return {}

    def write_rows(self, items: Sequence[tuple[int, Row]]) -> ChunkResult:
        """Write one chunk's cases; return a ChunkResult for the caller to merge once the transaction commits."""
        rows = {row["case_id"]: (line, row) for line, row in items}
        report = ChunkResult()
        existing = {
            case_id: (pk, h, thread_pk)
            for case_id, pk, h, thread_pk in MultipleChoiceCase.objects.filter(
                source=self.source, case_id__in=list(rows)
            ).values_list("case_id", "id", "content_hash", "thread_id")
        }
        threads = self.thread_pks(list(rows))
        created: list[MultipleChoiceCase] = []
        changed: dict[int, tuple[Key, Row]] = {}
        linked: list[MultipleChoiceCase] = []
        for case_id, (_, row) in rows.items():
            found = existing.get(case_id)
            if found is None:
                created.append(MultipleChoiceCase(
                    source=self.source, case_id=case_id, thread_id=threads.get(case_id),
                    content_hash=row["content_hash"], **{name: row[name] for name in MCQ_FIELDS},
                ))
                continue
            if found[1] != row["content_hash"]:
                changed[found[0]] = (case_id, row)
            elif found[2] is None and threads.get(case_id):
                linked.append(MultipleChoiceCase(pk=found[0], thread_id=threads[case_id]))
            else:
                report.unchanged += 1
        if created:
            MultipleChoiceCase.objects.bulk_create(created, batch_size=BATCH)
            report.created["mcq"] += len(created)
        self.update(changed, threads, report)
        if linked:
            MultipleChoiceCase.objects.bulk_update(linked, ["thread"], batch_size=BATCH)
            report.unchanged += len(linked)
            report.stats["mcqs linked to their thread on re-import"] += len(linked)
        if self.source == MultipleChoiceCase.Source.ASKDOCS:
            new_links = sum(1 for case_id in rows if threads.get(case_id))
            report.stats["mcqs linked to their thread"] += new_links
            report.stats["mcqs stored unlinked (thread not imported yet)"] += len(rows) - new_links
        return report

    def update(self, changed: dict[int, tuple[Key, Row]], threads: dict[Key, int], report: ChunkResult) -> None:
        if not changed:
            return
        objects: list[MultipleChoiceCase] = []
        changes: list[RecordChange] = []
        for old in MultipleChoiceCase.objects.filter(pk__in=list(changed)).values("pk", "thread_id", *MCQ_FIELDS):
            case_id, row = changed[old["pk"]]
            diff = {name: [old[name], row[name]] for name in MCQ_FIELDS if old[name] != row[name]}
            objects.append(MultipleChoiceCase(
                pk=old["pk"], thread_id=threads.get(case_id, old["thread_id"]), content_hash=row["content_hash"],
                **{name: row[name] for name in MCQ_FIELDS},
            ))
            if diff:
                changes.append(RecordChange(
                    import_run=self.ctx.run, model="mcq", key=f"{self.source}:{case_id}"[:96], changes=diff
                ))
        MultipleChoiceCase.objects.bulk_update(objects, ["thread", "content_hash", *MCQ_FIELDS], batch_size=BATCH)
        RecordChange.objects.bulk_create(changes, batch_size=BATCH)
        if changes:
            report.updated["mcq"] += len(changes)
        report.unchanged += len(objects) - len(changes)

    def finish(self) -> None:
        pass


class AskDocsMcqParser(McqParser):
    """MediQ-AskDocs: `id` is the thread_id; a case whose thread is absent is stored unlinked and linked later."""

    source = MultipleChoiceCase.Source.ASKDOCS
    check = staticmethod(CHECK_ASKDOCS)
    signature = frozenset({"id", "question", "options", "answer_idx", "atomic_facts", "original_post"})

    @staticmethod
    def looks_like(record: Record) -> bool:
        return True

    def extra_checks(self, record: Record) -> list[RecordError]:
        context = record.get("context")
        if context is not None and type(context) is not str and not (
            type(context) is list and all(type(item) is str for item in context)
        ):
            return [RecordError("context", "expected a string or an array of strings")]
        return []

    def thread_pks(self, case_ids: list[Key]) -> dict[Key, int]:
        return dict(Thread.objects.filter(thread_id__in=case_ids).values_list("thread_id", "id"))

    @staticmethod
    def build(record: Record) -> Row:
        context = record.get("context")
        return {
            "case_id": record["id"],
            "stem": record["question"],
            "options": record["options"],
            "answer_idx": record["answer_idx"],
            "context": [context] if isinstance(context, str) else list(context or []),
            "atomic_facts": record["atomic_facts"],
            "initial_info": record.get("initial_info") or "",
            "initial_info_is_published": True,
            "original_post": record.get("original_post") or "",
            "derived": {"usage": record.get("usage")},
        }


class MedQAParser(McqParser):
    """MedQA (USMLE) cases in MediQ's interactive format: context sentences, atomic facts, 4 options."""

    source = MultipleChoiceCase.Source.MEDQA
    check = staticmethod(CHECK_MEDQA)
    signature = frozenset({"id", "question", "options", "answer_idx", "context", "atomic_facts"})

    @staticmethod
    def looks_like(record: Record) -> bool:
        return isinstance(record.get("context"), list)

    def build(self, record: Record) -> Row:
        context = record["context"]
        if record.get("context_len") is not None and record["context_len"] != len(context):
            self.report.normalizations["context_len: disagrees with context (ignored)"] += 1
        return {
            "case_id": str(record["id"]),
            "stem": record["question"],
            "options": record["options"],
            "answer_idx": record["answer_idx"],
            "context": context,
            "atomic_facts": record["atomic_facts"],
            # MedQA has no initial_info: the patient opens with the first context sentence (method.md §2.8).
            "initial_info": context[0] if context else "",
            "initial_info_is_published": False,
            "original_post": "",
            "derived": {
                "explanation": record.get("explanation"),
                "patient": record.get("patient"),
                "facts_old": record.get("facts_old"),
            },
        }
