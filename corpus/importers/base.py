"""Shared pieces of the importers: limits, the report, field checks, content hashes and pseudonyms."""

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

import msgspec
import orjson
from django.conf import settings

# Limits. A Reddit post is at most 40,000 characters and a comment 10,000: anything far beyond is not a forum record.
MAX_TEXT_CHARS = 100_000
MAX_LINE_BYTES = 8 * 1024 * 1024
CHUNK_RECORDS = 2_000  # records per transaction; a chunk also ends only between posts (see reader.chunked)
ERRORS_KEPT = 100_000  # per file; beyond this only the count grows (a file of a million bad lines stays readable)

TOMBSTONE_AUTHORS = frozenset({"[deleted]", "[removed]"})
PSEUDONYM_PATTERN = re.compile(r"^u_[0-9a-f]{12}$")


class FileRejected(Exception):
    """The whole file cannot be read as records of its format (empty, wrong format, not JSON Lines)."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.line, self.field, self.reason = line, field, reason


@dataclass
class RecordError:
    """One problem with one record: `line` is 1-based, `field` a (dotted) field name or "-" for the whole line."""

    field: str
    reason: str


@dataclass
class Report:
    """What one file's import did; saved onto its ImportRun."""

    file: str
    records_read: int = 0
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    error_count: int = 0
    warnings: list = field(default_factory=list)
    normalizations: Counter = field(default_factory=Counter)
    stats: Counter = field(default_factory=Counter)
    notes: list = field(default_factory=list)

    def error(self, line: int, field_name: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"file": self.file, "line": line, "field": field_name, "reason": reason})

    def reject(self, line: int, errors: Iterable[RecordError]) -> None:
        """Count one rejected record and report each of its problems."""
        self.rejected += 1
        for problem in errors:
            self.error(line, problem.field, problem.reason)

    def warn(self, line: int, field_name: str, reason: str) -> None:
        if len(self.warnings) < ERRORS_KEPT:
            self.warnings.append({"file": self.file, "line": line, "field": field_name, "reason": reason})

    def skip_duplicate(self, line: int, key_field: str, key: object, first_line: int) -> None:
        self.skipped += 1
        self.warn(line, key_field, f"skipped: identical duplicate of line {first_line} ({key_field} {key!r})")


# --- field checks ---------------------------------------------------------------------------------------------------

MISSING = object()


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_str(value: object) -> bool:
    return type(value) is str


def _is_int(value: object) -> bool:
    return type(value) is int or (type(value) is float and value.is_integer())


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def _is_flag(value: object) -> bool:
    return type(value) is bool or (type(value) in (int, float) and value in (0, 1))


def _is_str_list(value: object) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _is_list(value: object) -> bool:
    return type(value) is list


def _is_dict(value: object) -> bool:
    return type(value) is dict


def _is_id(value: object) -> bool:
    return type(value) is str or type(value) is int


KINDS = {
    "str": (_is_str, "a string"),
    "int": (_is_int, "an integer"),
    "number": (_is_number, "a number"),
    "flag": (_is_flag, "a boolean (true/false or 0/1)"),
    "str_list": (_is_str_list, "an array of strings"),
    "list": (_is_list, "an array"),
    "dict": (_is_dict, "an object"),
    "id": (_is_id, "a string or an integer"),
}


@dataclass(frozen=True)
class Field:
    """What a record field must be: its kind, whether it must be present, may be null, and its length limit."""

    name: str
    kind: str = "str"
    required: bool = True
    nullable: bool = False
    max_length: int = MAX_TEXT_CHARS
    bounds: tuple | None = None  # (min, max) for integers, from the column they land in


SMALL_POSITIVE = (0, 32_767)
INTEGER = (-(2**31), 2**31 - 1)
BIG_INTEGER = (-(2**63), 2**63 - 1)


FAST_TESTS = {
    "str": "type(v) is not str or len(v) > {max_length}",
    "int": "(type(v) is not int and not (type(v) is float and v.is_integer()))",
    "number": "(type(v) is not int and type(v) is not float)",
    "flag": "(v is not True and v is not False and not (type(v) in NUMBERS and v in (0, 1)))",
    "str_list": "type(v) is not list or not all(type(i) is str and len(i) <= {max_length} for i in v)",
    "list": "type(v) is not list",
    "dict": "type(v) is not dict",
    "id": "(type(v) is not str and type(v) is not int)",
}


class Checker(Protocol):
    """check(record, prefix="") -> list of RecordError, as compile_fields returns it."""

    def __call__(self, record: dict[str, Any], prefix: str = "") -> list[RecordError]: ...


def compile_fast_check(fields: Iterable[Field]) -> Callable[[dict[str, Any]], bool]:
    """Return valid(record) -> bool: the same rules as the full checker as straight-line code, for the common case."""
    lines = ["def valid(record):", "    get = record.get"]
    for f in fields:
        test = FAST_TESTS[f.kind].format(max_length=f.max_length)
        if f.bounds and f.kind in ("int", "number"):
            test = f"{test} or not ({f.bounds[0]} <= v <= {f.bounds[1]})"
        lines.append(f"    v = get({f.name!r})")
        if f.required and not f.nullable:
            lines.append(f"    if v is None or {test}: return False")
            continue
        if f.required:
            lines.append(f"    if {f.name!r} not in record: return False")
        elif not f.nullable:
            lines.append(f"    if v is None and {f.name!r} in record: return False")
        lines.append(f"    if v is not None and ({test}): return False")
    lines.append("    return True")
    namespace: dict[str, Any] = {"NUMBERS": (int, float)}
    exec("\n".join(lines), namespace)  # noqa: S102 - code built from this module's own Field specs
    return namespace["valid"]


def compile_fields(fields: Collection[Field]) -> Checker:
    """Return a checker: check(record, prefix="") -> list of RecordError (empty when the record is valid).

    Valid records (nearly all) pass one fast test; only a failing record is checked field by field for its errors.
    """
    valid = compile_fast_check(fields)
    plan = [
        (f.name, KINDS[f.kind][0], KINDS[f.kind][1], f.required, f.nullable, f.max_length, f.kind, f.bounds)
        for f in fields
    ]

    def check(record: dict[str, Any], prefix: str = "") -> list[RecordError]:
        if valid(record):
            return []
        problems: list[RecordError] = []
        for name, test, label, required, nullable, max_length, kind, bounds in plan:
            value = record.get(name, MISSING)
            if value is MISSING:
                if required:
                    problems.append(RecordError(prefix + name, "missing required field"))
                continue
            if value is None:
                if not nullable:
                    problems.append(RecordError(prefix + name, "must not be null"))
                continue
            if not test(value):
                problems.append(RecordError(prefix + name, f"expected {label}, got {json_type(value)}"))
                continue
            if kind == "str" and len(value) > max_length:
                problems.append(RecordError(prefix + name, too_long(value, max_length)))
            elif bounds and not bounds[0] <= value <= bounds[1]:
                problems.append(RecordError(prefix + name, f"{value} is outside {bounds[0]:,}..{bounds[1]:,}"))
            elif kind == "str_list":
                for item in value:
                    if len(item) > max_length:
                        problems.append(RecordError(prefix + name, too_long(item, max_length)))
                        break
        return problems

    return check


def field_type(f: Field) -> Any:
    """Return the msgspec type that accepts the values the Field's fast check accepts, or fewer (integral floats
    such as 1.0 for an integer, 0.0/1.0 for a flag): those records are then checked in Python."""
    bounded = msgspec.Meta(ge=f.bounds[0], le=f.bounds[1]) if f.bounds else None
    text = Annotated[str, msgspec.Meta(max_length=f.max_length)]
    types = {
        "str": text,
        "int": Annotated[int, bounded] if bounded else int,
        "number": (Annotated[int, bounded] | Annotated[float, bounded]) if bounded else int | float,
        "flag": bool | Literal[0, 1],
        "str_list": list[text],
        "list": list,
        "dict": dict,
        "id": str | int,
    }
    return types[f.kind]


def compile_decoder(name: str, fields: Iterable[Field]) -> Callable[[bytes], dict[str, Any]]:
    """Return decode(line bytes) -> dict: JSON parsing and the fields' rules in one pass, in C (msgspec).

    The dict has every field, absent optional ones as None. It raises msgspec.MsgspecError for anything the rules
    do not accept as is (a wrong type, a long text, an unknown key, even an integral float such as 1.0 that the
    Python rules take): the caller then parses and checks the line the slow way, which names the problems.
    """
    spec: list[tuple[str, Any] | tuple[str, Any, None]] = []
    for f in fields:
        kind = field_type(f)
        kind = kind | None if f.nullable else kind
        spec.append((f.name, kind) if f.required else (f.name, kind, None))
    struct = msgspec.defstruct(name, spec, kw_only=True, forbid_unknown_fields=True)
    decode, asdict = msgspec.json.Decoder(struct).decode, msgspec.structs.asdict

    def decoder(data: bytes) -> dict[str, Any]:
        return asdict(decode(data))

    return decoder


DECODE_ERRORS = (msgspec.MsgspecError, ValueError)  # ValueError: bytes that are not UTF-8


def too_long(value: str, max_length: int) -> str:
    return f"{len(value):,} characters, over the {max_length:,}-character limit for this field"


# --- normalizers ----------------------------------------------------------------------------------------------------


def present(text: str | None) -> bool:
    """Return whether an optional text field carries content (null and blank count as absent)."""
    return bool(text and text.strip())


# --- hashes and pseudonyms ------------------------------------------------------------------------------------------


def content_hash(values: list[Any]) -> str:
    """Return a 32-hex-digit digest of a list of JSON-able values (the stored fields of one row, in order)."""
    return hashlib.blake2b(orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


class Pseudonymizer:
    """Keyed hash of forum usernames: HMAC-SHA256 with settings.PSEUDONYM_KEY, "u_" + 12 hex digits."""

    def __init__(self, key: str | None = None) -> None:
        self.key = (key or settings.PSEUDONYM_KEY).encode()
        self.cache: dict[str, str] = {}

    def __call__(self, name: str | None) -> str:
        if not name:
            return ""
        if name in TOMBSTONE_AUTHORS:
            return name
        pseudonym = self.cache.get(name)
        if pseudonym is None:
            digest = hmac.new(self.key, name.encode(), hashlib.sha256).hexdigest()
            pseudonym = self.cache[name] = "u_" + digest[:12]
        return pseudonym


class NameScrubber:
    """Replace mentions of known forum usernames in text ("Hi alice," -> "Hi u_3fa9..,") with their pseudonyms."""

    # A mention is a name not touching a word character or a hyphen (the characters usernames are made of). The
    # pattern starts with the names themselves, so re scans for their first characters instead of testing a
    # lookbehind at every position (10 µs instead of 46 µs for an average 1.4 KB post); the character before is
    # checked on each match.
    # Skipping a match that follows such a character loses nothing: every position inside it follows one too.
    NAME_CHARACTER = re.compile(r"[\w-]")

    def __init__(self, pseudonymize: Callable[[str], str]) -> None:
        self.pseudonymize = pseudonymize
        self.patterns: dict[frozenset[str], re.Pattern[str]] = {}

    def pattern(self, names: Iterable[str]) -> re.Pattern[str]:
        key = frozenset(names)
        compiled = self.patterns.get(key)
        if compiled is None:
            alternatives = "|".join(re.escape(name) for name in sorted(key, key=len, reverse=True))
            compiled = self.patterns[key] = re.compile(rf"(?:{alternatives})(?![\w-])")
            if len(self.patterns) > 10_000:
                self.patterns.clear()
        return compiled

    def __call__(self, text: str, names: Collection[str]) -> tuple[str, int]:
        """Return (text with every whole-word mention of `names` pseudonymized, number of mentions replaced)."""
        if not text or not names:
            return text, 0
        names = [name for name in names if name in text]
        if not names:
            return text, 0
        count = 0
        inside_word = self.NAME_CHARACTER.match

        def replace(match: re.Match[str]) -> str:
            nonlocal count
            start = match.start()
            if start and inside_word(text, start - 1):
                return match.group(0)
            count += 1
            return self.pseudonymize(match.group(0))

        return self.pattern(names).sub(replace, text), count


def real_names(*names: str | None) -> set[str]:
    """Return the usernames worth scrubbing from text: not empty, not a tombstone, at least 3 characters."""
    return {name for name in names if name and len(name) >= 3 and name not in TOMBSTONE_AUTHORS}


def is_credentialed(flair: str) -> bool:
    """Return whether a flair marks a credentialed commenter: present and without "not" (method.md §2.1)."""
    return bool(flair) and "not" not in flair
