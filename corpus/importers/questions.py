"""Question records (one doctor question per line, 43 fields, like askdocs/test_q.jsonl) -> posts, threads, ..."""

import html
import re
from collections import Counter
from collections.abc import Collection
from operator import itemgetter
from typing import TYPE_CHECKING

from .base import (
    BIG_INTEGER,
    INTEGER,
    SMALL_POSITIVE,
    TOMBSTONE_AUTHORS,
    Field,
    RecordError,
    compile_decoder,
    compile_fields,
    is_credentialed,
    present,
    real_names,
)
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
)
from .writer import UnitParser

if TYPE_CHECKING:
    from .pipeline import ImportContext

QID = re.compile(r"^(?P<thread>.+)-c(?P<turn>\d{1,4})-q(?P<index>\d{1,4})$")

RECORD_FIELDS = [
    # observed: the post
    Field("thread_id", max_length=64),
    Field("id_post", max_length=32),
    Field("title", max_length=2_000),
    Field("post"),
    Field("author_post", nullable=True, max_length=100),
    Field("created_utc", "int", required=False, nullable=True, bounds=BIG_INTEGER),
    Field("year", "int", required=False, nullable=True, bounds=(0, 9_999)),
    # observed: the thread
    Field("post_author_feedback", "flag", required=False, nullable=True),
    Field("turn_count", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("total_score", "int", required=False, nullable=True, bounds=INTEGER),
    Field("verified_author_flairs", "str_list", required=False, nullable=True, max_length=1_000),
    Field("unique_author_counts", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("has_conclusion", "flag", required=False, nullable=True),
    Field("has_final_diagnosis", "flag", required=False, nullable=True),
    Field("prev_additional_contexts", "list", required=False, nullable=True),
    # observed: the doctor's comment
    Field("comment_id", max_length=32),
    Field("comment_author", nullable=True, max_length=100),
    Field("comment_body"),
    Field("comment_parent_id", required=False, nullable=True, max_length=40),
    Field("comment_score", "int", required=False, nullable=True, bounds=INTEGER),
    Field("comment_turn_level", "int", required=False, nullable=True, bounds=SMALL_POSITIVE),
    Field("comment_author_flair_text", required=False, nullable=True, max_length=1_000),
    Field("comment_created_utc", "int", required=False, nullable=True, bounds=BIG_INTEGER),
    # observed: the question and its answer
    Field("qid", max_length=96),
    Field("question"),
    Field("patient_answer", required=False, nullable=True),
    # derived by the authors' LLM pipeline
    Field("question_type", max_length=100),
    Field("final_diagnosis", required=False, nullable=True, max_length=10_000),
    Field("conclusion", required=False, nullable=True),
    Field("pos_post_author_feedback", "number", required=False, nullable=True),
    Field("refer_to_hospital", "number", required=False, nullable=True),
    Field("comment_is_question", "flag", required=False, nullable=True),
    Field("comment_is_response", "flag", required=False, nullable=True),
    Field("comment_respond_to", required=False, nullable=True, max_length=100),
    Field("comment_requested_info", required=False, nullable=True),
    Field("comment_question_type", required=False, nullable=True, max_length=1_000),
    Field("comment_is_personal_experience", "flag", required=False, nullable=True),
    Field("comment_is_medical_knowledge", "flag", required=False, nullable=True),
    Field("comment_is_answered", "flag", required=False, nullable=True),
    Field("comment_is_relevant", "flag", required=False, nullable=True),
    Field("binary_question", "flag", required=False, nullable=True),
    Field("hypotheses", "str_list", required=False, nullable=True, max_length=1_000),
    Field("additional_context", required=False, nullable=True),
]
CHECK_RECORD = compile_fields(RECORD_FIELDS)
CHECK_PREVIOUS = compile_fields([
    Field("question"),
    Field("patient_answer", required=False, nullable=True),
    Field("additional_context", required=False, nullable=True),
])
KNOWN_FIELDS = frozenset(
    "thread_id post title author_post id_post post_author_feedback pos_post_author_feedback turn_count total_score "
    "verified_author_flairs unique_author_counts year created_utc has_conclusion refer_to_hospital "
    "prev_additional_contexts comment_id comment_author comment_body comment_is_question comment_is_response "
    "comment_respond_to comment_requested_info comment_question_type comment_is_personal_experience "
    "comment_is_medical_knowledge comment_is_answered comment_is_relevant comment_score comment_parent_id "
    "comment_turn_level comment_author_flair_text comment_created_utc qid question patient_answer question_type "
    "binary_question hypotheses additional_context final_diagnosis conclusion has_final_diagnosis".split()
)
COMMENT_DERIVED = (
    "comment_is_question", "comment_is_response", "comment_respond_to", "comment_requested_info",
    "comment_question_type", "comment_is_personal_experience", "comment_is_medical_knowledge", "comment_is_answered",
    "comment_is_relevant",
)
THREAD_DERIVED = ("pos_post_author_feedback", "refer_to_hospital")
QUESTION_DERIVED = ("binary_question", "hypotheses", "additional_context")

# What records sharing a post, thread or comment must agree on (the raw source fields behind each row).
SHARED_POST = ("title", "post", "author_post", "created_utc", "year")
SHARED_THREAD = (
    "id_post", "post_author_feedback", "turn_count", "total_score", "verified_author_flairs", "unique_author_counts",
    "final_diagnosis", "conclusion", *THREAD_DERIVED,
)
SHARED_COMMENT = (
    "comment_author", "comment_body", "comment_parent_id", "comment_score", "comment_turn_level",
    "comment_author_flair_text", "comment_created_utc", *COMMENT_DERIVED,
)
SIGNATURE = frozenset({"qid", "question", "thread_id", "id_post", "comment_id"})
GET_POST, GET_THREAD, GET_COMMENT = itemgetter(*SHARED_POST), itemgetter(*SHARED_THREAD), itemgetter(*SHARED_COMMENT)
FLAIRS_AT = SHARED_THREAD.index("verified_author_flairs")
# Optional fields absent from a record read as null: accept() fills them in once, so later steps index directly.
ABSENT = dict.fromkeys(KNOWN_FIELDS)


def unescape(text: str, normalizations: Counter[str]) -> str:
    """Return flair text with HTML entities decoded ("A&amp;E" -> "A&E"), counting the fix."""
    if text and "&" in text:
        fixed = html.unescape(text)
        if fixed != text:
            normalizations["flair: HTML entities decoded"] += 1
            return fixed
    return text


class QuestionRecordParser(UnitParser):
    """Check question records one by one, then build a chunk of them into Units."""

    decoder = staticmethod(compile_decoder("QuestionRecord", RECORD_FIELDS))

    format = "questions"
    key_field = "qid"
    signature = SIGNATURE
    has_posts = True

    def __init__(self, context: "ImportContext") -> None:
        self.ctx = context
        self.report = context.report
        self.state = context.state
        self.unknown_fields: set[str] = set()

    @staticmethod
    def looks_like(record: Record) -> bool:
        return True

    @staticmethod
    def group_key(record: Record) -> Key:
        """Return what keeps records together in one chunk: a post's records are written in one transaction."""
        return record.get("id_post")


    def accept(self, line: int, record: Record) -> Record | None:
        """Return the record if it may be imported; otherwise report it (rejected or skipped) and return None.

        The record returned has every known field: absent optional fields read as null (as record.get would).
        """
        problems = CHECK_RECORD(record) or self.check_ids(record)
        if problems:
            self.report.reject(line, problems)
            return None
        if len(record) > len(KNOWN_FIELDS) or not KNOWN_FIELDS.issuperset(record):
            self.unknown_fields.update(set(record) - KNOWN_FIELDS)
        if not KNOWN_FIELDS <= record.keys():
            record = ABSENT | record
        return self.admit(line, record)

    def accept_decoded(self, line: int, record: Record) -> Record | None:
        """accept() for a record from `decoder`, whose fields are checked already: all known, none missing."""
        problems = self.check_ids(record)
        if problems:
            self.report.reject(line, problems)
            return None
        return self.admit(line, record)

    def admit(self, line: int, record: Record) -> Record | None:
        """Return the checked record unless it repeats a qid or disagrees with an earlier record on a shared row."""
        qid = record["qid"]
        fingerprint = fingerprint_of(record)
        seen = self.state.keys.get(qid)
        if seen is not None:
            if seen[1] == fingerprint:
                self.report.skip_duplicate(line, "qid", qid, seen[0])
            else:
                reason = f"duplicate qid {qid!r} with different content; line {seen[0]} has this qid"
                self.report.reject(line, [RecordError("qid", reason)])
            return None
        conflict = self.check_shared(line, record)
        if conflict:
            self.report.reject(line, [conflict])
            return None
        self.state.keys[qid] = (line, fingerprint)
        self.count_normalizations(record)
        return record

    @staticmethod
    def check_ids(record: Record) -> list[RecordError]:
        match = QID.match(record["qid"])
        if match is None:
            return [RecordError("qid", f"{record['qid']!r} is not <thread_id>-c<turn>-q<index>")]
        if match["thread"] != record["thread_id"]:
            return [RecordError("qid", f"{record['qid']!r} does not belong to thread_id {record['thread_id']!r}")]
        for i, previous in enumerate(record.get("prev_additional_contexts") or ()):
            if type(previous) is not dict:
                return [RecordError(f"prev_additional_contexts[{i}]", "expected an object")]
            problems = CHECK_PREVIOUS(previous, f"prev_additional_contexts[{i}].")
            if problems:
                return problems
        return []

    def check_shared(self, line: int, record: Record) -> RecordError | None:
        """Return an error if the record disagrees with an earlier one on its post, thread or comment; else
        remember this record's versions of them (the first sighting of each is the reference).

        One hash per row over its fields (gathered by itemgetter, in C) decides; the per-field hashes, kept only
        for a row's first sighting, name the field that differs.
        """
        state, thread_id = self.state, record["thread_id"]
        post_key, comment_key = record["id_post"], (thread_id, record["comment_id"])
        post_values = GET_POST(record)
        thread_values = GET_THREAD(record)
        flairs = thread_values[FLAIRS_AT]
        if flairs is not None:  # the only shared field that is not a scalar
            thread_values = (*thread_values[:FLAIRS_AT], tuple(flairs), *thread_values[FLAIRS_AT + 1:])
        comment_values = GET_COMMENT(record)
        rows = (
            (state.shared_posts, post_key, post_values, SHARED_POST, "post", post_key),
            (state.shared_threads, thread_id, thread_values, SHARED_THREAD, "thread", thread_id),
            (state.shared_comments, comment_key, comment_values, SHARED_COMMENT, "comment", record["comment_id"]),
        )
        for seen_rows, key, values, field_names, kind, shown in rows:
            seen = seen_rows.get(key)
            if seen is not None and seen[1] != hash(values):
                differing = [
                    n for n, old, value in zip(field_names, seen[2], values, strict=True) if old != hash(value)
                ]
                field_name = differing[0] if differing else "-"
                reason = f"differs from line {seen[0]}, which has the same {kind} {shown!r}"
                return RecordError(field_name, reason)
        for seen_rows, key, values, _, _, _ in rows:
            if key not in seen_rows:
                seen_rows[key] = (line, hash(values), tuple(map(hash, values)))
        names = state.names.get(post_key)
        if names is None:
            names = state.names[post_key] = set()
        names.update(real_names(record["author_post"], record["comment_author"]))
        return None

    def count_normalizations(self, record: Record) -> None:
        normalizations = self.report.normalizations
        flag = record.get("has_final_diagnosis")
        if flag is not None and bool(flag) != present(record.get("final_diagnosis")):
            normalizations["has_final_diagnosis: set from final_diagnosis"] += 1
        flag = record.get("has_conclusion")
        if flag is not None and bool(flag) != present(record.get("conclusion")):
            normalizations["has_conclusion: set from conclusion"] += 1

    # --- building rows ----------------------------------------------------------------------------------------------

    def build_units(self, accepted: list[tuple[int, Record]]) -> list[Unit]:
        """Return one Unit per accepted (line, record); rows shared by several records are built once per chunk."""
        posts: dict[Key, Row] = {}
        threads: dict[Key, Row] = {}
        comments: dict[Key, Row] = {}
        units: list[Unit] = []
        for line, record in accepted:
            names: Collection[str] = self.state.names.get(record["id_post"], ())
            post = posts.get(record["id_post"])
            if post is None:
                post = posts[record["id_post"]] = self.build_post(record, names)
            thread = threads.get(record["thread_id"])
            if thread is None:
                thread = threads[record["thread_id"]] = self.build_thread(record, names)
            comment_key = (record["thread_id"], record["comment_id"])
            comment = comments.get(comment_key)
            if comment is None:
                comment = comments[comment_key] = self.build_comment(record, names)
            units.append(Unit(line, post, thread, [comment], [self.build_question(record, names)]))
        return units

    def build_post(self, record: Record, names: Collection[str]) -> Row:
        scrub = self.ctx.scrub
        year = record.get("year")
        created = record.get("created_utc")
        return seal({
            "post_id": record["id_post"],
            "title": scrub(record["title"], names),
            "body": scrub(record["post"], names),
            "author_pseudonym": self.ctx.pseudonymize(record.get("author_post")),
            "created_utc": None if created is None else int(created),
            "year": None if year is None else int(year),
            "split": self.ctx.split,
        }, POST_FIELDS)

    def build_thread(self, record: Record, names: Collection[str]) -> Row:
        normalizations = self.report.normalizations
        final_diagnosis = self.ctx.scrub(record.get("final_diagnosis") or "", names)
        conclusion = self.ctx.scrub(record.get("conclusion") or "", names)
        feedback = record.get("post_author_feedback")
        return seal({
            "thread_id": record["thread_id"],
            "post_key": record["id_post"],
            "turn_count": int(record.get("turn_count") or 0),
            "total_score": int(record.get("total_score") or 0),
            "unique_author_counts": int(record.get("unique_author_counts") or 0),
            "verified_author_flairs": [
                unescape(flair, normalizations) for flair in record.get("verified_author_flairs") or ()
            ],
            "final_diagnosis": final_diagnosis,
            "conclusion": conclusion,
            "has_final_diagnosis": present(final_diagnosis),
            "has_conclusion": present(conclusion),
            "post_author_feedback": None if feedback is None else bool(feedback),
            "derived": {name: record.get(name) for name in THREAD_DERIVED},
        }, THREAD_FIELDS)

    def build_comment(self, record: Record, names: Collection[str]) -> Row:
        pseudonymize, scrub = self.ctx.pseudonymize, self.ctx.scrub
        author, post_author = record.get("comment_author"), record.get("author_post")
        flair = unescape(record.get("comment_author_flair_text") or "", self.report.normalizations)
        derived = {name: record.get(name) for name in COMMENT_DERIVED}
        if derived["comment_requested_info"]:
            derived["comment_requested_info"] = scrub(derived["comment_requested_info"], names)
        created = record.get("comment_created_utc")
        return seal({
            "comment_id": record["comment_id"],
            "parent_id": record.get("comment_parent_id") or "",
            "author_pseudonym": pseudonymize(author),
            "is_post_author": bool(author) and author == post_author and author not in TOMBSTONE_AUTHORS,
            "body": scrub(record["comment_body"], names),
            "turn_level": int(record.get("comment_turn_level") or 0),
            "flair_text": flair,
            "is_credentialed": is_credentialed(flair),
            "score": int(record.get("comment_score") or 0),
            "created_utc": None if created is None else int(created),
            "derived": derived,
        }, COMMENT_FIELDS)

    def build_question(self, record: Record, names: Collection[str]) -> Row:
        scrub = self.ctx.scrub
        match = QID.match(record["qid"])
        assert match is not None  # accept() checked the qid against QID
        question_type, raw_type = normalize_question_type(record["question_type"], self.report.normalizations)
        answer = record.get("patient_answer")
        previous = record.get("prev_additional_contexts") or []
        derived = {name: record.get(name) for name in QUESTION_DERIVED}
        if derived["additional_context"]:
            derived["additional_context"] = scrub(derived["additional_context"], names)
        derived["prev_additional_contexts"] = [scrub(item.get("additional_context"), names) for item in previous]
        if raw_type is not None:
            derived["question_type_raw"] = raw_type
        return seal({
            "qid": record["qid"],
            "comment_key": record["comment_id"],
            "turn_index": int(match["turn"]),
            "question_index": int(match["index"]),
            "text": scrub(record["question"], names),
            "patient_answer": scrub(answer or "", names),
            "has_patient_answer": present(answer),
            "question_type": question_type,
            "previous_turns": [
                {"question": scrub(item["question"], names), "patient_answer": scrub(item.get("patient_answer"), names)}
                for item in previous
            ],
            "derived": derived,
        }, QUESTION_FIELDS)

    def finish(self) -> None:
        if self.unknown_fields:
            self.report.notes.append(f"fields not imported (unknown to this format): {sorted(self.unknown_fields)}")
