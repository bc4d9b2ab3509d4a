"""Prompt templates: declared placeholders, validation, the lint and rendering into chat messages."""

import re
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

CONTEXT = {"title", "post", "previous_turns"}
ATTRIBUTE = {"attribute_name", "definition", "scale", "guidance"}
HINDSIGHT = {"final_diagnosis", "conclusion"}
CANDIDATES = {"candidate_a", "candidate_b", "candidate_c"}

# kind -> (allowed placeholders, required placeholders)
PLACEHOLDER_RULES = {
    "normalize": (CONTEXT | {"comment", "question"}, {"question"}),
    "enhance": (CONTEXT | ATTRIBUTE | {"question"}, {"question"}),
    "enhance_hindsight": (CONTEXT | ATTRIBUTE | HINDSIGHT | {"question"}, {"question"} | HINDSIGHT),
    "corrupt": (CONTEXT | ATTRIBUTE | {"question"}, {"question"}),
    "judge": (CONTEXT | ATTRIBUTE | CANDIDATES, CANDIDATES | {"definition"}),
}
ATTRIBUTE_KINDS = {"enhance", "enhance_hindsight", "corrupt"}
# A template or an attribute below is a synthesis.models PromptTemplate or Attribute, typed Any: the models module
# imports this one (PromptTemplate.clean), so naming them here, even for the type checker, would close a cycle.


def used_placeholders(text: str) -> set[str]:
    """Return the placeholder names a text uses; raise ValidationError on malformed or non-plain fields."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(f"Malformed braces: {exc}. Write a literal brace as {{{{ or }}}}.") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValidationError(f"Placeholder {{{name}}} must be a plain {{name}}, without format or index.")
        names.add(name)
    return names


def check_template(template: Any) -> None:
    """Raise ValidationError unless the template's placeholders are declared, allowed and complete."""
    kind = template.kind
    allowed, required = PLACEHOLDER_RULES[kind]
    if (kind in ATTRIBUTE_KINDS) != bool(template.attribute_id):
        raise ValidationError("Enhance and corrupt templates belong to one attribute; the others to none.")
    declared = set(template.placeholders or [])
    used = used_placeholders(template.system_text) | used_placeholders(template.user_text)
    errors: list[str] = []
    if unknown := declared - allowed:
        errors.append(f"Unknown placeholder(s) for a {kind} template: {_names(unknown)}.")
    if undeclared := used - declared:
        errors.append(f"Placeholder(s) used but not declared: {_names(undeclared)}.")
    if unused := declared - used:
        errors.append(f"Placeholder(s) declared but missing from the text: {_names(unused)}.")
    if missing := required - declared:
        errors.append(f"Missing required placeholder(s) for a {kind} template: {_names(missing)}.")
    if errors:
        raise ValidationError(errors)


def _names(names: Collection[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(names))


def render_messages(template: Any, values: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the chat messages of a template filled with `values` (only declared names are read)."""
    declared = set(template.placeholders or [])
    missing = declared - set(values)
    if missing:
        raise ValidationError(f"No value for {_names(missing)}.")
    fill = {name: str(values[name]) for name in declared}
    messages = []
    if template.system_text.strip():
        messages.append({"role": "system", "content": template.system_text.format_map(fill)})
    messages.append({"role": "user", "content": template.user_text.format_map(fill)})
    return messages


@dataclass(frozen=True)
class LintIssue:
    code: str
    message: str


INCREASE = r"(?:more|increase|increasing|add|adding|greater|higher|stronger|maximi[sz]e)"
DECREASE = r"(?:less|fewer|decrease|decreasing|reduce|reducing|remove|removing|lower|weaker|minimi[sz]e|avoid)"


def _term_pattern(term: str) -> str:
    # Prefix match on the last word, so "bias" also catches "biases" and "answerable" "answerability".
    return r"\b" + r"\s+".join(re.escape(word) for word in term.lower().split()) + r"\w*"


def _mentions(text: str, terms: Iterable[str]) -> list[str]:
    return sorted({term for term in terms if term and re.search(_term_pattern(term), text)})


def _pushes(text: str, verb: str, terms: Iterable[str]) -> list[str]:
    """Return the terms that the text asks to push in the verb's direction (verb within three words before)."""
    return sorted({
        term for term in terms
        if term and re.search(rf"\b{verb}\b(?:\s+\w+){{0,3}}?\s+{_term_pattern(term)}", text)
    })


def attribute_terms(attribute: Any) -> set[str]:
    """Return the words naming an attribute: its key, its name and its pole terms."""
    return {attribute.key.lower(), attribute.name.lower(), *(t.lower() for t in attribute.positive_terms),
            *(t.lower() for t in attribute.negative_terms)}


def lint_template(template: Any, attributes: Iterable[Any]) -> list[LintIssue]:
    """Return lint issues: another attribute named, or wording that contradicts the template's direction."""
    if template.kind not in ATTRIBUTE_KINDS or not template.attribute_id:
        return []
    own = template.attribute
    text = f"{template.system_text}\n{template.user_text}".lower().replace("{attribute_name}", own.name.lower())
    own_terms = attribute_terms(own)
    issues: list[LintIssue] = []
    for other in attributes:
        if other.pk == own.pk or other.is_coarse:
            continue
        found = _mentions(text, attribute_terms(other) - own_terms)
        if found:
            issues.append(LintIssue("other-attribute", f"Mentions {other.name} ({', '.join(found)})."))
    positive = {own.name.lower(), *(t.lower() for t in own.positive_terms)}
    negative = {t.lower() for t in own.negative_terms}
    if template.kind == "corrupt":
        wrong = _pushes(text, INCREASE, positive) + _pushes(text, DECREASE, negative)
    else:
        wrong = _pushes(text, INCREASE, negative) + _pushes(text, DECREASE, positive)
    if wrong:
        issues.append(LintIssue(
            "contradicts-direction",
            f"A {template.get_kind_display().lower()} template asks to move the wrong way on: {', '.join(wrong)}.",
        ))
    return issues
