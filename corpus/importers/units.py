"""The shape every AskDocs importer produces: one Unit per source record, written completely or not at all."""

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from ..models import QuestionType, Split
from .base import content_hash

# The stored source fields of each model, in hash order. A row's content_hash is the digest of these values (plus
# its parent's natural key), so an unchanged record is recognised without reading the row back.
POST_FIELDS = ("title", "body", "author_pseudonym", "created_utc", "year")
THREAD_FIELDS = (
    "post_key", "turn_count", "total_score", "unique_author_counts", "verified_author_flairs", "final_diagnosis",
    "conclusion", "has_final_diagnosis", "has_conclusion", "post_author_feedback", "derived",
)
COMMENT_FIELDS = (
    "parent_id", "author_pseudonym", "is_post_author", "body", "turn_level", "flair_text", "is_credentialed", "score",
    "created_utc", "derived",
)
QUESTION_FIELDS = (
    "comment_key", "turn_index", "question_index", "text", "patient_answer", "has_patient_answer", "question_type",
    "previous_turns", "derived",
)

QUESTION_TYPES = {value.lower(): value for value in QuestionType.values}
QUESTION_TYPE_ALIASES = {
    "hypothesis testing": QuestionType.HYPOTHESES_TESTING,
    "follow-up": QuestionType.FOLLOWUP,
    "follow up": QuestionType.FOLLOWUP,
    "check list": QuestionType.CHECKLIST,
}
SPLITS = {value for value in Split.values}

Record = dict[str, Any]  # one source record, parsed JSON
Row = dict[str, Any]  # one row's column values by field name (or attname)
Key = Any  # a row's natural key: its id, or (thread key, comment id) for a comment


class Unit:
    """One record's rows: a post, a thread, its comments and questions (dicts keyed by the model's fields)."""

    __slots__ = ("comments", "line", "post", "questions", "thread")

    def __init__(self, line: int, post: Row, thread: Row, comments: list[Row], questions: list[Row]) -> None:
        self.line, self.post, self.thread, self.comments, self.questions = line, post, thread, comments, questions

    @property
    def thread_id(self) -> Key:
        return self.thread["thread_id"]


def seal(row: Row, fields: Sequence[str]) -> Row:
    """Set row["content_hash"] from its stored fields and return the row."""
    row["content_hash"] = content_hash([row[name] for name in fields])
    return row


def normalize_question_type(raw: str, normalizations: Counter[str]) -> tuple[str, str | None]:
    """Return (QuestionType value, raw value to keep in derived or None); count what was normalized."""
    key = raw.strip().lower()
    value = QUESTION_TYPES.get(key)
    if value is not None:
        if value != raw:
            normalizations["question_type: case or spacing fixed"] += 1
        return value, None
    value = QUESTION_TYPE_ALIASES.get(key)
    if value is not None:
        normalizations["question_type: alias mapped"] += 1
        return value, raw
    normalizations["question_type: unknown value -> Other"] += 1
    return QuestionType.OTHER, raw


Sighting = tuple[int, int, tuple[int, ...]]  # a shared row's first line, fingerprint and per-field fingerprints


class FileState:
    """What an import has seen so far in one file: record ids and the shared rows' fingerprints, with lines.

    A record id seen twice is a duplicate (identical: skipped and reported; different: rejected, naming both lines);
    a post, thread or comment that several records share must agree in every record, field by field.
    """

    def __init__(self) -> None:
        self.keys: dict[Key, tuple[int, int]] = {}  # record id -> (line, fingerprint)
        self.shared: dict[tuple[str, Key], Sighting] = {}
        # Question records: first sightings of shared rows by key, (line, fingerprint, per-field fingerprints).
        self.shared_posts: dict[Key, Sighting] = {}
        self.shared_threads: dict[Key, Sighting] = {}
        self.shared_comments: dict[Key, Sighting] = {}
        # post_id -> forum usernames seen in its records (for scrubbing mentions); never stored
        self.names: dict[Key, set[str]] = {}
        # (model, key) of rows this import already wrote: later chunks never rewrite them
        self.written: set[tuple[str, Key]] = set()
        # post keys of every chunk handed to the writer so far (see ChunkWriter.plan_fresh)
        self.planned_posts: set[Key] = set()

    def check_shared(
        self, kind: str, key: Key, field_names: Sequence[str], values: tuple[Any, ...]
    ) -> tuple[int, tuple[str, int] | None]:
        """Return (fingerprint, conflict): conflict is (field, first line) where this record disagrees with an
        earlier record on a row they share, else None."""
        fingerprint = hash(values)
        seen = self.shared.get((kind, key))
        if seen is None or seen[1] == fingerprint:
            return fingerprint, None
        for name, old, value in zip(field_names, seen[2], values, strict=True):
            if old != hash(value):
                return fingerprint, (name, seen[0])
        return fingerprint, ("-", seen[0])

    def remember_shared(self, kind: str, key: Key, line: int, values: tuple[Any, ...], fingerprint: int) -> None:
        """Keep the first sighting of a shared row: its line, fingerprint and per-field fingerprints."""
        if (kind, key) not in self.shared:
            self.shared[(kind, key)] = (line, fingerprint, tuple(map(hash, values)))


def hashable(value: Any) -> Any:
    """Return a hashable stand-in for a JSON value (lists and objects become tuples)."""
    if type(value) is list:
        if all(type(item) is str for item in value):
            return tuple(value)
        return tuple(map(hashable, value))
    if type(value) is dict:
        return tuple(sorted((key, hashable(item)) for key, item in value.items()))
    return value


def shared_values(record: Record, names: Sequence[str], nested: Collection[str] = ()) -> tuple[Any, ...]:
    """Return the record's values of `names` as a hashable tuple (`nested` names may hold lists or objects)."""
    get = record.get
    if not nested:
        return tuple([get(name) for name in names])
    return tuple([hashable(get(name)) if name in nested else get(name) for name in names])


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def fingerprint_of(record: Record) -> int:
    """Return an in-process fingerprint of a JSON record, independent of key order (compared within one import)."""
    return hash(dumps(record))
