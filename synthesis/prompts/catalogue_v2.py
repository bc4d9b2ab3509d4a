"""Version 2 of the rewrite prompts: the same words as v1, reordered so one question's prompts share more text.

Everything that does not depend on the attribute comes first (context, rules, the hindsight outcome), and the
attribute and direction come last: a question's twelve rewrite prompts then share all but ~190 tokens, so a
batch computes the shared part once (see synthesis/backends/transformers_backend.py). Frozen: add a v3 to change.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from .catalogue_v1 import (
    ATTRIBUTE_BLOCK,
    CLOSING,
    CONTEXT_BLOCK,
    HINDSIGHT_BLOCK,
    REWRITE_PLACEHOLDERS,
    REWRITE_SYSTEM,
)

RULES_BLOCK = (
    "\n***RULES FOR THE REWRITE***\nYou will rewrite the clinician question to change the one quality named at "
    "the end, while keeping everything else constant. " + CLOSING + "\n"
)

QUALITY_BLOCK = "\n***QUALITY TO CHANGE***\n" + ATTRIBUTE_BLOCK

ENHANCE_INSTRUCTION = (
    "\n***INSTRUCTION***\nRewrite the clinician question so that it rates higher on {attribute_name}, ideally at "
    "level 5.\n\n***REWRITTEN QUESTION***\n"
)
CORRUPT_INSTRUCTION = (
    "\n***INSTRUCTION***\nRewrite the clinician question so that it rates lower on {attribute_name}, at level 1 "
    "or 2.\n\n***REWRITTEN QUESTION***\n"
)

ENHANCE_USER = CONTEXT_BLOCK + RULES_BLOCK + QUALITY_BLOCK + ENHANCE_INSTRUCTION
ENHANCE_HINDSIGHT_USER = CONTEXT_BLOCK + RULES_BLOCK + HINDSIGHT_BLOCK + QUALITY_BLOCK + ENHANCE_INSTRUCTION
CORRUPT_USER = CONTEXT_BLOCK + RULES_BLOCK + QUALITY_BLOCK + CORRUPT_INSTRUCTION

NOTES = "Catalogue v2: v1's words with the attribute last, so a question's prompts share a long prefix."


def templates(attribute_keys: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Yield the v2 rewrite templates as dicts, per attribute: enhance, enhance_hindsight, corrupt."""
    for key in attribute_keys:
        for kind, user_text, extra in (
            ("enhance", ENHANCE_USER, []),
            ("enhance_hindsight", ENHANCE_HINDSIGHT_USER, ["final_diagnosis", "conclusion"]),
            ("corrupt", CORRUPT_USER, []),
        ):
            yield {"kind": kind, "attribute": key, "system_text": REWRITE_SYSTEM, "user_text": user_text,
                   "placeholders": REWRITE_PLACEHOLDERS + extra}
