"""Strict parsers for model replies: the expert's confidence and letter, a generated question, the patient's facts
and the judge's verdict. Each returns None (or an empty selection) when the reply says nothing it can trust."""

import json
import re
from dataclasses import dataclass

# The MediQ 5-point scale (method.md §5.4), most confident first.
SCALE = {
    5: "Very Confident",
    4: "Somewhat Confident",
    3: "Neither Confident or Unconfident",
    2: "Somewhat Unconfident",
    1: "Very Unconfident",
}
_LABEL_PATTERNS = [
    (3, r"neither\s+confident\s+(?:or|nor)\s+unconfident"),
    (5, r"very\s+confident"),
    (4, r"somewhat\s+confident"),
    (2, r"somewhat\s+unconfident"),
    (1, r"very\s+unconfident"),
]
LABEL = re.compile("|".join(f"(?P<l{score}>\\b{pattern}\\b)" for score, pattern in _LABEL_PATTERNS), re.IGNORECASE)
# A negation shortly before a label, in the same clause, turns it into something else ("not very confident" is no
# rating at all); the authors' parser read it as 5 (method.md §7.2 item 40).
NEGATION = re.compile(r"\b(?:not|never|no|hardly|barely|isn't|aren't|wasn't|am\s+not|cannot|can't|don't|doesn't|"
                      r"without)\b[^.,;:\n]{0,20}$", re.IGNORECASE)
DECISION = re.compile(r"\bdecision\s*[:\-]\s*(.*)", re.IGNORECASE | re.DOTALL)
DIGIT_RATING = re.compile(r"^\W*([1-5])(?:\s*/\s*5)?\b")


def parse_confidence(reply: str) -> int | None:
    """Return the 1-5 rating a reply gives, deciding on its DECISION section when it has one; None when it names none.

    A label preceded by a negation in its clause does not count. Two different ratings that both count make the
    reply ambiguous (None).
    """
    text = reply or ""
    found = DECISION.search(text)
    if found:
        if digit := DIGIT_RATING.match(found.group(1)):
            return int(digit.group(1))
        if LABEL.search(found.group(1)):
            return rating_in(found.group(1))
    return rating_in(text)


def rating_in(section: str) -> int | None:
    scores = set()
    for match in LABEL.finditer(section):
        if NEGATION.search(section[max(0, match.start() - 40):match.start()]):
            continue
        scores.add(next(int(name[1:]) for name, value in match.groupdict().items() if value))
    return scores.pop() if len(scores) == 1 else None


MARKED_LETTER = re.compile(r"\b(?:letter\s+choice|answer|choice|option)\s*(?:is|would\s+be)?\s*[:\-]?\s*"
                           r"[\"'(\[*]*([A-Z])\b[\"')\]*]*", re.IGNORECASE)
LEADING_LETTER = re.compile(r"^[\s\"'*(\[]*([A-Z])(?:[\"'*)\].:,]|\s*$)")  # "B", "B.", "(B)"; not "A patient"
FORMATTED_LETTER = re.compile(r"(?:\(([A-Z])\)|\b([A-Z])[).:])")


def parse_letter(reply: str, options: dict[str, str]) -> str | None:
    """Return the option letter a reply chooses: an explicit "answer: X", a reply that starts with a letter, the one
    option whose text it quotes, or the one formatted letter "(X)", "X)", "X." it names; else None."""
    text = (reply or "").strip()
    letters = set(options)
    marked = [m.group(1).upper() for m in MARKED_LETTER.finditer(text) if m.group(1).upper() in letters]
    if marked:
        return marked[-1]
    if (leading := LEADING_LETTER.match(text)) and leading.group(1) in letters:
        return leading.group(1)
    lowered = " ".join(text.lower().split())
    quoted = {letter for letter, option in options.items()
              if option.strip() and " ".join(option.lower().split()).rstrip(".") in lowered}
    if len(quoted) == 1:
        return quoted.pop()
    formatted = {a or b for a, b in FORMATTED_LETTER.findall(text)} & letters
    if len(formatted) == 1:
        return formatted.pop()
    return None


QUOTES = "\"'`* \u201c\u201d\u2018\u2019"  # straight and curly quotes, markdown emphasis


def parse_question(reply: str) -> str | None:
    """Return the question a reply asks: the last line with a '?', from after its last label colon to its last '?'.

    Returns None when no line asks anything (the authors passed None on to the patient; here the caller retries).
    """
    lines = [line.strip() for line in (reply or "").splitlines() if "?" in line]
    if not lines:
        return None
    line = lines[-1]
    line = line[: line.rindex("?") + 1]
    _head, colon, tail = line.rpartition(":")
    if colon and "?" in tail and len(tail.strip()) > 3:
        line = tail
    question = line.strip().strip(QUOTES).strip()
    question = re.sub(r"^(?:\d+[.)]|[-•])\s*", "", question)
    return question if len(question) > 1 else None


# The published facts keep "- " bullets (AskDocs) or "1. " numbers (MedQA); the patient prompt numbers facts itself.
FACT_PREFIX = re.compile(r"^\s*(?:[-\u2022*]|\d+[.)])\s+")


def clean_fact(fact: str) -> str:
    """Return a fact without its leading bullet or number."""
    return FACT_PREFIX.sub("", fact).strip()


CANNOT_ANSWER = "The patient cannot answer this question, please do not ask this question again."
CANNOT = re.compile(r"cannot\s+answer|can't\s+answer|no\s+statement|none\s+of\s+the\s+statements", re.IGNORECASE)
FACT_NUMBER = re.compile(r"^\s*[-*•]?\s*(?:\[|\()?(?:statement\s*)?(\d{1,3})(?:\]|\))?[.):\]]?(?:\s|$)",
                         re.IGNORECASE)


def normalize_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@dataclass(frozen=True)
class FactSelection:
    facts: tuple[int, ...]  # indices into the case's facts
    cannot_answer: bool
    parsed: bool  # False: the reply neither selected a fact nor said it cannot answer


def parse_fact_selection(reply: str, facts: list[str]) -> FactSelection:
    """Return the facts a patient reply selects, by their number ("3. ...") or verbatim text, in the facts' order."""
    chosen = set()
    normalized = [normalize_text(fact) for fact in facts]
    for line in (reply or "").splitlines():
        if not line.strip():
            continue
        if (number := FACT_NUMBER.match(line)) and 1 <= int(number.group(1)) <= len(facts):
            chosen.add(int(number.group(1)) - 1)
            continue
        text = normalize_text(line)
        chosen.update(i for i, fact in enumerate(normalized) if fact and len(fact) > 8 and fact in text)
    if chosen:
        return FactSelection(tuple(sorted(chosen)), False, True)
    if CANNOT.search(reply or ""):
        return FactSelection((), True, True)
    return FactSelection((), True, False)


JUDGE_LABELS = ("1", "2")  # digits: no two labels differ only in case (method.md §7.2 item 34)
TIE = "tie"
JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class JudgeReplyError(ValueError):
    """A judge reply that is not the structured verdict the prompt asks for."""


@dataclass(frozen=True)
class JudgeVerdict:
    winner: str  # "1", "2" or "tie"
    explanation: str


def parse_judge_reply(reply: str) -> JudgeVerdict:
    """Return the verdict of a judge reply: a JSON object {"explanation": str, "winner": "1" | "2" | "tie"}.

    Raise JudgeReplyError for anything else (no object, bad JSON, a missing or unknown winner); the caller retries
    and finally records the reply as unparseable, never as a loss.
    """
    match = JSON_OBJECT.search(reply or "")
    if not match:
        raise JudgeReplyError("no JSON object in the reply")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise JudgeReplyError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise JudgeReplyError("the reply's JSON is not an object")
    winner = data.get("winner")
    winner = str(winner).strip().lower() if isinstance(winner, str | int) and not isinstance(winner, bool) else None
    winner = {"question 1": "1", "question 2": "2"}.get(winner or "", winner)
    if winner not in (*JUDGE_LABELS, TIE):
        raise JudgeReplyError(f"winner must be one of 1, 2 or tie, not {data.get('winner')!r}")
    explanation = data.get("explanation", "")
    if not isinstance(explanation, str):
        raise JudgeReplyError("explanation must be a string")
    return JudgeVerdict(winner, explanation.strip())
