"""Template filters for the annotation pages: estimates with intervals, shares and lookups."""

from collections.abc import Mapping
from typing import Any

from django import template

from corpus.rendering import conversation_messages

register = template.Library()


@register.simple_tag
def conversation(title: str | None, body: str | None, turns: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Return the conversation as chat messages, from the one rendering every prompt and page uses."""
    return conversation_messages(title or "", body or "", turns)


@register.filter
def estimate(value: Mapping[str, Any] | None) -> str:
    """Format an Estimate dict as '0.74 [0.40, 0.97]' ('—' when undefined)."""
    if not value or value.get("value") is None:
        return "—"
    text = f"{value['value']:.3f}"
    if value.get("low") is not None:
        text += f" [{value['low']:.3f}, {value['high']:.3f}]"
    return text


@register.filter
def share(value: float | None, digits: int = 1) -> str:
    """Format a 0..1 share as a percentage ('—' when None)."""
    if value is None:
        return "—"
    return f"{100 * value:.{int(digits)}f}%"


@register.filter
def lookup(mapping: Mapping[Any, Any] | None, key: Any) -> Any:
    return (mapping or {}).get(key, key)


@register.filter
def get_item(mapping: Mapping[Any, Any] | None, key: Any) -> Any:
    return (mapping or {}).get(key)
