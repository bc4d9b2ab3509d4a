"""Word-level differences between an original question and a rewrite, as segments a template escapes."""

import difflib
import re

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """Return [(op, text)] with op in equal/delete/insert, so `before` and `after` can be shown side by side."""
    old, new = TOKEN.findall(before or ""), TOKEN.findall(after or "")
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("equal", "".join(old[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(("delete", "".join(old[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(("insert", "".join(new[j1:j2])))
    return segments


def change_ratio(before: str | None, after: str | None) -> float:
    """Return the share of words changed, 0 (same) to 1 (all different)."""
    return round(1 - difflib.SequenceMatcher(a=(before or "").split(), b=(after or "").split()).ratio(), 2)
