"""Template filter that shows server paths relative to the var directory (see alfa_platform.paths)."""

from typing import Any

from django import template

from alfa_platform.paths import redact_paths

register = template.Library()


@register.filter
def relative_paths(value: Any) -> Any:
    """Return the value with absolute server paths in its text shown relative to the var directory."""
    return redact_paths(value)
