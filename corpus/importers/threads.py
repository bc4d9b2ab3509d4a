"""Thread records: one whole thread per line (post, turns, their questions), and the exporter that writes them."""

import re
from collections.abc import Collection
from typing import IO, TYPE_CHECKING

import orjson
from django.db.models import QuerySet

from ..models import Question, Split, Thread
from .base import (
    BIG_INTEGER,
    INTEGER,
    PSEUDONYM_PATTERN,
    SMALL_POSITIVE,
    TOMBSTONE_AUTHORS,
    Field,
    RecordError,
    compile_fields,
    is_credentialed,
    present,
    real_names,
)
from .questions import unescape
from .units import (
    COMMENT_FIELDS,
    POST_FIELDS,
    QUESTION_FIELDS,
    THREAD_FIELDS,
    Key,
    Record,
    Row,
    Unit,
    fingerprint_of,
    normalize_question_type,
    seal,
    shared_values,
)
from .writer import UnitParser

if TYPE_CHECKING:
    from .pipeline import ImportContext

ROLES = ("doctor", "patient")
THREAD_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")

CHECK_THREAD = compile_fields([
    Field("thread_id", max_length=64),
    Field("id_post", max_length=32),
    Field("title", max_length=2_000),
    Field("post"),
    Field("author", required=False, nullable=True, max_length=100),
    Field("author_pseudonym", required=False, nullable=True, max_length=32),
    Field("split", required=False, nullable=True, max_length=16),
    Field("created_utc", "int", required=False, nullable=True, bounds=BIG_INTEGER),
    Field("year", "int", required=False, nullable=True, bounds=(0, 9_999)),
    Field("final_diagnosis", required=False, nullable=True, max_length=10_000),
    Field("conclusion", required=False, nullable=True),
    Field("convo", "list"),
    # optional thread metadata (computed from the turns when absent)
    Field("turn_count", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("total_score", "int", required=False, nullable=True, bounds=INTEGER),
    Field("unique_author_counts", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("verified_author_flairs", "str_list", required=False, nullable=True, max_length=1_000),
    Field("post_author_feedback", "flag", required=False, nullable=True),
    Field("derived", "dict", required=False, nullable=True),
])
CHECK_TURN = compile_fields([
    Field("comment_id", max_length=32),
    Field("turn", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("role", max_length=16),
    Field("author", required=False, nullable=True, max_length=100),
    Field("author_pseudonym", required=False, nullable=True, max_length=32),
    Field("body"),
    Field("flair", required=False, nullable=True, max_length=1_000),
    Field("parent_id", required=False, nullable=True, max_length=40),
    Field("score", "int", required=False, nullable=True, bounds=INTEGER),
    Field("created_utc", "int", required=False, nullable=True, bounds=BIG_INTEGER),
    Field("questions", "list", required=False, nullable=True),
    Field("derived", "dict", required=False, nullable=True),
])
CHECK_QUESTION = compile_fields([
    Field("question"),
    Field("patient_answer", required=False, nullable=True),
    Field("question_type", max_length=100),
    Field("hypotheses", "str_list", required=False, nullable=True, max_length=1_000),
    Field("previous_turns", "list", required=False, nullable=True),
    Field("derived", "dict", required=False, nullable=True),
])
CHECK_PREVIOUS = compile_fields([Field("question"), Field("patient_answer", required=False, nullable=True)])
SHARED_POST = ("title", "post", "author", "author_pseudonym", "created_utc", "year", "split")


class ThreadRecordParser(UnitParser):
    """Check thread records and build each into a Unit with all of its turns and questions."""

    decoder = None  # no typed decoder: every record is parsed by orjson and checked in Python

    format = "threads"
    key_field = "thread_id"
    has_posts = True
    signature = frozenset({"thread_id", "id_post", "title", "post", "convo"})

    def __init__(self, context: "ImportContext") -> None:
        self.ctx = context
        self.report = context.report
        self.state = context.state

    @staticmethod
    def looks_like(record: Record) -> bool:
        return True

    @staticmethod
    def group_key(record: Record) -> Key:
        return record.get("id_post")

    def accept(self, line: int, record: Record) -> Record | None:
        problems = CHECK_THREAD(record) or self.check_record(record)
        if problems:
            self.report.reject(line, problems)
            return None
        thread_id = record["thread_id"]
        fingerprint = fingerprint_of(record)
        seen = self.state.keys.get(thread_id)
        if seen is not None:
            if seen[1] == fingerprint:
                self.report.skip_duplicate(line, "thread_id", thread_id, seen[0])
            else:
                reason = f"duplicate thread_id {thread_id!r} with different content; line {seen[0]} has this thread"
                self.report.reject(line, [RecordError("thread_id", reason)])
            return None
        values = shared_values(record, SHARED_POST)
        shared, conflict = self.state.check_shared("post", record["id_post"], SHARED_POST, values)
        if conflict:
            name, first = conflict
            reason = f"differs from line {first}, which has the same post {record['id_post']!r}"
            self.report.reject(line, [RecordError(name, reason)])
            return None
        self.state.keys[thread_id] = (line, fingerprint)
        self.state.remember_shared("post", record["id_post"], line, values, shared)
        names = self.state.names.setdefault(record["id_post"], set())
        names.update(real_names(record.get("author"), *(turn.get("author") for turn in record["convo"])))
        return record

    def check_record(self, record: Record) -> list[RecordError]:
        """Check what field types alone cannot: ids, the split, roles, turn order and each question."""
        if not THREAD_ID.match(record["thread_id"]):
            return [RecordError("thread_id", "use letters, digits and _ . : - only")]
        problems = self.check_author(record, "")
        split = record.get("split")
        if split is not None and split not in Split.values:
            problems.append(RecordError("split", f"{split!r} is not one of {', '.join(Split.values)}"))
        elif split is not None and self.ctx.split_explicit and split != self.ctx.split:
            problems.append(RecordError("split", f"{split!r} disagrees with the import's split {self.ctx.split!r}"))
        last_turn, comment_ids = -1, set()
        for i, turn in enumerate(record["convo"]):
            where = f"convo[{i}]."
            if type(turn) is not dict:
                problems.append(RecordError(f"convo[{i}]", "expected an object"))
                continue
            found = CHECK_TURN(turn, where) or self.check_author(turn, where)
            if found:
                problems.extend(found)
                continue
            number = i if turn.get("turn") is None else int(turn["turn"])
            if number <= last_turn:
                problems.append(RecordError(where + "turn", f"turn {number} does not follow turn {last_turn}"))
            last_turn = number
            if turn["comment_id"] in comment_ids:
                problems.append(RecordError(where + "comment_id", f"{turn['comment_id']!r} appears twice in convo"))
            comment_ids.add(turn["comment_id"])
            if turn["role"] not in ROLES:
                problems.append(RecordError(where + "role", f"{turn['role']!r} is not doctor or patient"))
            questions = turn.get("questions") or []
            if questions and turn["role"] != "doctor":
                problems.append(RecordError(where + "questions", "only doctor turns hold questions"))
            for j, question in enumerate(questions):
                problems.extend(self.check_question(question, f"{where}questions[{j}]"))
        return problems

    @staticmethod
    def check_author(row: Record, where: str) -> list[RecordError]:
        pseudonym = row.get("author_pseudonym")
        if pseudonym and not (PSEUDONYM_PATTERN.match(pseudonym) or pseudonym in TOMBSTONE_AUTHORS):
            return [RecordError(where + "author_pseudonym", "expected u_ and 12 hex digits (or [deleted])")]
        if pseudonym and row.get("author"):
            return [RecordError(where + "author", "give author or author_pseudonym, not both")]
        return []

    @staticmethod
    def check_question(question: object, where: str) -> list[RecordError]:
        if type(question) is not dict:
            return [RecordError(where, "expected an object")]
        problems = CHECK_QUESTION(question, where + ".")
        for k, previous in enumerate(question.get("previous_turns") or ()):
            if type(previous) is not dict:
                problems.append(RecordError(f"{where}.previous_turns[{k}]", "expected an object"))
            else:
                problems.extend(CHECK_PREVIOUS(previous, f"{where}.previous_turns[{k}]."))
        return problems

    def build_units(self, accepted: list[tuple[int, Record]]) -> list[Unit]:
        return [self.build(line, record) for line, record in accepted]

    def finish(self) -> None:
        pass

    # --- building rows ----------------------------------------------------------------------------------------------

    def author_of(self, row: Record) -> tuple[str, str | None]:
        """Return (pseudonym, raw name or None): a raw name is hashed here and never kept."""
        if row.get("author_pseudonym"):
            return row["author_pseudonym"], None
        return self.ctx.pseudonymize(row.get("author")), row.get("author")

    def build(self, line: int, record: Record) -> Unit:
        names: Collection[str] = self.state.names.get(record["id_post"], ())
        scrub, normalizations = self.ctx.scrub, self.report.normalizations
        thread_id = record["thread_id"]
        post_pseudonym, _ = self.author_of(record)
        created, year = record.get("created_utc"), record.get("year")
        post = seal({
            "post_id": record["id_post"],
            "title": scrub(record["title"], names),
            "body": scrub(record["post"], names),
            "author_pseudonym": post_pseudonym,
            "created_utc": None if created is None else int(created),
            "year": int(year) if year is not None else None,
            "split": record.get("split") or self.ctx.split,
        }, POST_FIELDS)
        comments: list[Row] = []
        questions: list[Row] = []
        earlier: list[Row] = []
        flairs: list[str] = []
        authors, total_score = {post_pseudonym}, 0
        previous_comment = None
        for i, turn in enumerate(record["convo"]):
            number = i if turn.get("turn") is None else int(turn["turn"])
            pseudonym, _ = self.author_of(turn)
            authors.add(pseudonym)
            flair = unescape(turn.get("flair") or "", normalizations)
            if is_credentialed(flair) and flair not in flairs:
                flairs.append(flair)
            total_score += int(turn.get("score") or 0)
            parent = turn.get("parent_id") or (
                f"t1_{previous_comment}" if previous_comment else f"t3_{record['id_post']}"
            )
            previous_comment = turn["comment_id"]
            comments.append(seal({
                "comment_id": turn["comment_id"],
                "parent_id": parent,
                "author_pseudonym": pseudonym,
                "is_post_author": turn["role"] == "patient" or (
                    pseudonym == post_pseudonym and pseudonym not in TOMBSTONE_AUTHORS and bool(pseudonym)
                ),
                "body": scrub(turn["body"], names),
                "turn_level": number,
                "flair_text": flair,
                "is_credentialed": is_credentialed(flair),
                "score": int(turn.get("score") or 0),
                "created_utc": None if turn.get("created_utc") is None else int(turn["created_utc"]),
                "derived": turn.get("derived") or {},
            }, COMMENT_FIELDS))
            this_turn: list[Row] = []
            for j, item in enumerate(turn.get("questions") or ()):
                question = self.build_question(thread_id, turn["comment_id"], number, j, item, earlier, names)
                questions.append(question)
                this_turn.append({"question": question["text"], "patient_answer": item.get("patient_answer")})
            earlier.extend(this_turn)
        final_diagnosis = scrub(record.get("final_diagnosis") or "", names)
        conclusion = scrub(record.get("conclusion") or "", names)
        feedback = record.get("post_author_feedback")
        given_flairs = record.get("verified_author_flairs")
        thread = seal({
            "thread_id": thread_id,
            "post_key": record["id_post"],
            "turn_count": record["turn_count"] if record.get("turn_count") is not None else len(record["convo"]),
            "total_score": record["total_score"] if record.get("total_score") is not None else total_score,
            "unique_author_counts": (
                record["unique_author_counts"] if record.get("unique_author_counts") is not None else len(authors)
            ),
            "verified_author_flairs": (
                flairs if given_flairs is None else [unescape(flair, normalizations) for flair in given_flairs]
            ),
            "final_diagnosis": final_diagnosis,
            "conclusion": conclusion,
            "has_final_diagnosis": present(final_diagnosis),
            "has_conclusion": present(conclusion),
            "post_author_feedback": None if feedback is None else bool(feedback),
            "derived": record.get("derived") or {},
        }, THREAD_FIELDS)
        return Unit(line, post, thread, comments, questions)

    def build_question(
        self, thread_id: str, comment_id: str, turn: int, index: int, item: Record, earlier: list[Row],
        names: Collection[str],
    ) -> Row:
        scrub = self.ctx.scrub
        question_type, raw_type = normalize_question_type(item["question_type"], self.report.normalizations)
        derived = dict(item.get("derived") or {})
        if "hypotheses" in item:
            derived["hypotheses"] = item["hypotheses"]
        if raw_type is not None:
            derived["question_type_raw"] = raw_type
        answer = item.get("patient_answer")
        previous = item.get("previous_turns")
        if previous is None:  # default: every question of the earlier turns, with its answer
            previous = [entry for entry in earlier]
        return seal({
            "qid": f"{thread_id}-c{turn}-q{index}",
            "comment_key": comment_id,
            "turn_index": turn,
            "question_index": index,
            "text": scrub(item["question"], names),
            "patient_answer": scrub(answer or "", names),
            "has_patient_answer": present(answer),
            "question_type": question_type,
            "previous_turns": [
                {"question": scrub(p["question"], names), "patient_answer": scrub(p.get("patient_answer"), names)}
                for p in previous
            ],
            "derived": derived,
        }, QUESTION_FIELDS)


def thread_record(thread: Thread) -> Record:
    """Return one thread (with post, comments and questions prefetched) as a thread-format record."""
    post = thread.post
    questions_by_comment: dict[int | None, list[Question]] = {}
    for question in thread.questions.all():
        questions_by_comment.setdefault(question.comment_id, []).append(question)
    convo: list[Record] = []
    for comment in thread.comments.all():
        items: list[Record] = []
        for question in sorted(questions_by_comment.get(comment.pk, []), key=lambda q: q.question_index):
            derived = dict(question.derived)
            item = {
                "question": question.text,
                "patient_answer": question.patient_answer or None,
                "question_type": question.question_type,
            }
            if "hypotheses" in derived:
                item["hypotheses"] = derived.pop("hypotheses")
            items.append({**item, "previous_turns": question.previous_turns, "derived": derived})
        convo.append({
            "comment_id": comment.comment_id,
            "turn": comment.turn_level,
            "role": "patient" if comment.is_post_author and not items else "doctor",
            "author_pseudonym": comment.author_pseudonym,
            "body": comment.body,
            "flair": comment.flair_text or None,
            "parent_id": comment.parent_id,
            "score": comment.score,
            "created_utc": comment.created_utc,
            "derived": comment.derived,
            "questions": items,
        })
    return {
        "thread_id": thread.thread_id,
        "id_post": post.post_id,
        "title": post.title,
        "post": post.body,
        "author_pseudonym": post.author_pseudonym,
        "split": post.split,
        "created_utc": post.created_utc,
        "year": post.year,
        "final_diagnosis": thread.final_diagnosis or None,
        "conclusion": thread.conclusion or None,
        "turn_count": thread.turn_count,
        "total_score": thread.total_score,
        "unique_author_counts": thread.unique_author_counts,
        "verified_author_flairs": thread.verified_author_flairs,
        "post_author_feedback": thread.post_author_feedback,
        "derived": thread.derived,
        "convo": convo,
    }


def export_threads(out: IO[bytes], threads: QuerySet[Thread] | None = None) -> int:
    """Write threads (default: all) to a binary file object as thread-format JSONL; return how many were written."""
    threads = (threads if threads is not None else Thread.objects.all()).order_by("thread_id")
    written = 0
    for thread in threads.select_related("post").prefetch_related("comments", "questions").iterator(chunk_size=500):
        out.write(orjson.dumps(thread_record(thread)) + b"\n")
        written += 1
    return written
