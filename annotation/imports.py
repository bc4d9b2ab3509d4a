"""Parse comparison-item JSONL (context, question A, question B, attribute) with line-numbered errors.

Policy: a file with any invalid row is rejected whole and every invalid row is reported, so a campaign never
holds half a file. Rows whose id is already in the campaign with the same content are counted as unchanged.
"""

import io
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alfa_platform.jsonbody import DEPTH_MESSAGE, NUL_MESSAGE, holds_nul, nesting_exceeds
from alfa_platform.uploads import GZIP_ERRORS, GZIP_MAGIC, BoundedGzipReader, GzipLimitExceeded

from .attributes import attribute_keys
from .models import Choice

MAX_QUESTION_CHARS = 5_000
MAX_CONTEXT_CHARS = 200_000
MAX_REPORTED_ERRORS = 200
MAX_LINE_BYTES = 8 * 1024 * 1024  # far above MAX_CONTEXT_CHARS; a longer line is an error, and never held whole
CHOICE_ALIASES = {"a": Choice.A, "b": Choice.B, "tie": Choice.TIE}


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field!r}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class ParsedItems:
    items: list = field(default_factory=list)  # dicts of ComparisonItem fields
    errors: list = field(default_factory=list)
    error_count: int = 0

    def add_error(self, line: int, field_name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(line, field_name, message))


class RowInvalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class UnreadableData(Exception):
    """The file cannot be read past `line`: corrupt or truncated gzip, or a gzip bomb."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def read_lines(data: bytes) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes or None for an over-long line) from bytes, inflating gzip as it goes (within the
    caps of alfa_platform.uploads); a stream that cannot be read on raises UnreadableData at its line."""
    compressed = data[:2] == GZIP_MAGIC
    stream = BoundedGzipReader(io.BytesIO(data)) if compressed else io.BytesIO(data)
    number = 0
    try:
        while True:
            raw: bytes | None = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # drain the rest of the line without keeping it
                    raw = stream.readline(MAX_LINE_BYTES)
                raw = None
            yield number, raw
    except GZIP_ERRORS as exc:
        raise UnreadableData(number + 1, f"corrupt or truncated gzip data: {exc}") from exc
    except GzipLimitExceeded as exc:
        raise UnreadableData(number + 1, str(exc)) from exc


def _text(row: Mapping[str, Any], name: str, limit: int, required: bool = True) -> str:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowInvalid(name, "is required")
        return ""
    if not isinstance(value, str):
        raise RowInvalid(name, f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise RowInvalid(name, f"is {len(value):,} characters; the limit is {limit:,}")
    return value.strip()


def _turns(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(isinstance(turn, dict) for turn in value):
        raise RowInvalid("context.turns", "must be a list of {question, patient_answer} objects")
    return [
        {"question": str(turn.get("question") or ""), "patient_answer": str(turn.get("patient_answer") or "")}
        for turn in value
    ]


def _messages_context(messages: list[Any]) -> tuple[str, str, list[dict[str, str]]]:
    # TRL conversational context: the first user message is the post, later assistant/user pairs are turns.
    texts = [(m.get("role"), str(m.get("content") or "")) for m in messages if isinstance(m, dict)]
    users = [text for role, text in texts if role == "user"]
    if not users:
        raise RowInvalid("context", "a message list needs at least one user message")
    doctors = [text for role, text in texts if role == "assistant"]
    turns = [{"question": q, "patient_answer": a} for q, a in zip(doctors, users[1:], strict=False)]
    return "", users[0], turns


def parse_context(value: object) -> tuple[str, str, list[dict[str, str]]]:
    """Return (title, body, turns) from a string, an object {title, post, turns}, or a TRL message list."""
    turns: list[dict[str, str]]
    if isinstance(value, str):
        title, body, turns = "", value, []
    elif isinstance(value, list):
        title, body, turns = _messages_context(value)
    elif isinstance(value, dict):
        title = str(value.get("title") or "")
        body = str(value.get("post") or value.get("body") or "")
        turns = _turns(value.get("turns") or [])
    else:
        raise RowInvalid("context", "must be a string, an object {title, post, turns} or a message list")
    if not (title or body).strip():
        raise RowInvalid("context", "is empty")
    if len(title) + len(body) + sum(len(t["question"]) + len(t["patient_answer"]) for t in turns) > MAX_CONTEXT_CHARS:
        raise RowInvalid("context", f"is longer than {MAX_CONTEXT_CHARS:,} characters")
    return title.strip(), body.strip(), turns


def _choice(row: Mapping[str, Any], name: str, allowed: Collection[str]) -> str:
    value = row.get(name)
    if value in (None, ""):
        return ""
    choice = CHOICE_ALIASES.get(str(value).strip().lower())
    if choice is None or choice not in allowed:
        raise RowInvalid(name, f"must be one of {', '.join(sorted(allowed))}")
    return choice


def parse_row(row: object, line: int, known_attributes: Sequence[str]) -> dict[str, Any]:
    """Return the ComparisonItem fields of one JSON object, or raise RowInvalid."""
    if not isinstance(row, dict):
        raise RowInvalid("", "each line must be a JSON object")
    title, body, turns = parse_context(row.get("context"))
    attribute = _text(row, "attribute", 32)
    if attribute not in known_attributes:
        raise RowInvalid("attribute", f"unknown attribute {attribute!r}; expected one of {', '.join(known_attributes)}")
    question_a, question_b = _text(row, "question_a", MAX_QUESTION_CHARS), _text(row, "question_b", MAX_QUESTION_CHARS)
    gold = _choice(row, "gold", {Choice.A, Choice.B, Choice.TIE})
    qualification = row.get("qualification", False)
    if not isinstance(qualification, bool):
        raise RowInvalid("qualification", "must be true or false")
    if qualification and not gold:
        raise RowInvalid("gold", "a qualification item needs its known answer")
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise RowInvalid("meta", "must be an object")
    return {
        "external_id": _text(row, "id", 200, required=False), "position": line,
        "post_title": title, "post_body": body, "turns": turns, "question_a": question_a, "question_b": question_b,
        "attribute": attribute, "source_a": _text(row, "source_a", 200, required=False),
        "source_b": _text(row, "source_b", 200, required=False), "split": _text(row, "split", 16, required=False),
        "is_gold": bool(gold), "gold_choice": gold, "is_qualification": qualification,
        "explanation": _text(row, "explanation", MAX_QUESTION_CHARS, required=False),
        "expected_choice": _choice(row, "expected", {Choice.A, Choice.B}),
        "judge_choice": _choice(row, "judge", {Choice.A, Choice.B, Choice.TIE}),
        "meta": {**meta, **({"qid": row["qid"]} if isinstance(row.get("qid"), str) else {})},
    }


def expand_outputs(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Expand a multi-system row {id, context, outputs: {name: text}, reference} into reference-vs-system rows.

    This is the authors' expert-study file (method.md §5.3), generalised: every system is compared with the
    reference (the real doctor's question by default), and the system names are kept as hidden sources.
    """
    outputs, reference = row.get("outputs"), row.get("reference") or "human_output"
    if not isinstance(outputs, dict) or reference not in outputs:
        raise RowInvalid("outputs", f"must be an object holding the reference output {reference!r}")
    base = {k: v for k, v in row.items() if k not in ("outputs", "reference")}
    base.setdefault("attribute", "overall")
    rows = []
    for name, text in outputs.items():
        if name == reference:
            continue
        rows.append({
            **base, "id": f"{row.get('id', '')}:{reference}-vs-{name}", "question_a": outputs[reference],
            "question_b": text, "source_a": reference, "source_b": name,
        })
    return rows


def parse_items(data: bytes) -> ParsedItems:
    """Parse a whole JSONL file (bytes); return ParsedItems with items and line-numbered errors."""
    seen: dict[str, int] = {}
    parsed, known = ParsedItems(), attribute_keys()
    try:
        for line, raw in read_lines(data):
            if raw is None:
                parsed.add_error(line, "", f"line longer than the {MAX_LINE_BYTES // 2**20} MB limit")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                parsed.add_error(line, "", f"not UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not text.strip():
                continue
            _parse_line(parsed, line, text, known, seen)
    except UnreadableData as exc:
        parsed.add_error(exc.line, "", str(exc))
    if not parsed.items and not parsed.error_count:
        parsed.add_error(0, "", "the file holds no rows")
    return parsed


def _parse_line(parsed: ParsedItems, line: int, text: str, known: Sequence[str], seen: dict[str, int]) -> None:
    try:
        if nesting_exceeds(text.encode("utf-8", "surrogatepass")):  # json.loads would recurse into a 500
            raise RowInvalid("", DEPTH_MESSAGE)
        row = json.loads(text)
        if "\\u0000" in text and holds_nul(row):  # PostgreSQL's text columns refuse NUL
            raise RowInvalid("", NUL_MESSAGE)
        rows = expand_outputs(row) if isinstance(row, dict) and "outputs" in row else [row]
        for one in rows:
            item = parse_row(one, line, known)
            _check_duplicate(item, line, seen)
            parsed.items.append(item)
    except json.JSONDecodeError as exc:
        parsed.add_error(line, "", f"invalid JSON ({exc.msg} at column {exc.colno})")
    except RowInvalid as exc:
        parsed.add_error(line, exc.field, str(exc))


def _check_duplicate(item: Mapping[str, Any], line: int, seen: dict[str, int]) -> None:
    key = item["external_id"]
    if not key:
        return
    if key in seen:
        raise RowInvalid("id", f"duplicate id {key!r} (first on line {seen[key]})")
    seen[key] = line
