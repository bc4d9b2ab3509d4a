"""The judge step: candidate order, the ranking request, strict parsing of its JSON reply, directed-pair verdicts."""

import json
import random
import re
from collections.abc import Mapping, Sequence

from .models import PairType, Verdict

ROLES = ("enhanced", "original", "corrupted")
LETTERS = ("A", "B", "C")
PAIR_ROLES: dict[str, tuple[str, str]] = {
    PairType.ENHANCED_CORRUPTED: ("enhanced", "corrupted"),
    PairType.ENHANCED_ORIGINAL: ("enhanced", "original"),
    PairType.ORIGINAL_CORRUPTED: ("original", "corrupted"),
}
FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)


class RankingParseError(ValueError):
    """A judge reply that is not a valid ranking; it is recorded as such, never guessed."""


def candidate_order(seed: int, key: object) -> list[str]:
    """Return the roles in the order the judge sees them (as A, B, C): a shuffle seeded by job seed and item."""
    order = list(ROLES)
    random.Random(f"{seed}:{key}").shuffle(order)
    return order


def parse_ranking(text: str) -> dict[str, int]:
    """Return {letter: rank} from a reply holding {"ranks": {"A": 1, "B": 2, "C": 3}}; ties share a rank."""
    text = FENCE.sub("", text or "")
    start = text.find("{")
    if start < 0:
        raise RankingParseError("No JSON object in the reply.")
    try:
        data, _end = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise RankingParseError(f"Invalid JSON: {exc.msg}.") from exc
    ranks = data.get("ranks", data) if isinstance(data, dict) else None
    if not isinstance(ranks, dict) or set(ranks) != set(LETTERS):
        raise RankingParseError('Expected {"ranks": {"A": r, "B": r, "C": r}}.')
    for letter, rank in ranks.items():
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= len(LETTERS):
            raise RankingParseError(f"Rank of {letter} must be an integer from 1 to 3, got {rank!r}.")
    if min(ranks.values()) != 1:
        raise RankingParseError("The best candidate must have rank 1.")
    return {letter: ranks[letter] for letter in LETTERS}


def ranks_by_role(letter_ranks: Mapping[str, int], order: Sequence[str]) -> dict[str, int]:
    """Map the judge's letter ranks back to roles (enhanced, original, corrupted)."""
    return {role: letter_ranks[letter] for letter, role in zip(LETTERS, order, strict=True)}


def pair_verdict(ranks: Mapping[str, int] | None, pair_type: str) -> Verdict:
    """Accept a directed pair when the intended winner ranks strictly above the loser; a tie rejects."""
    if not ranks:
        return Verdict.UNVERIFIED
    winner, loser = PAIR_ROLES[pair_type]
    return Verdict.ACCEPTED if ranks[winner] < ranks[loser] else Verdict.REJECTED
