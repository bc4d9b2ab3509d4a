"""The attributes annotators judge: synthesis's catalogue (the one list, synthesis.Attribute)."""

from dataclasses import dataclass
from typing import cast

from django.core.cache import cache
from django.db.models import Q

from synthesis.models import Attribute
from synthesis.prompts import catalogue_v1

OVERALL = "overall"


@dataclass(frozen=True)
class AttributeInfo:
    key: str
    name: str
    group: str
    definition: str


CACHE_KEY = "annotation:attributes"
CACHE_SECONDS = 60  # the catalogue changes rarely; the annotation page asks for it on every item


def list_attributes() -> list[AttributeInfo]:
    """Return the catalogue's active attributes and overall, in its order (cached for a minute)."""
    attributes = cache.get(CACHE_KEY)
    if attributes is None:
        attributes = load_attributes()
        cache.set(CACHE_KEY, attributes, CACHE_SECONDS)
    return attributes


def load_attributes() -> list[AttributeInfo]:
    # Overall (the coarse judgment) stays judgeable when a lead retires it from synthesis: campaigns hold it.
    rows = Attribute.objects.filter(Q(is_active=True) | Q(key=OVERALL)).order_by("order", "key")
    found = [AttributeInfo(*row) for row in rows.values_list("key", "name", "group", "definition")]
    # An emptied table (a test database flushed between tests) falls back to the rows its migration loads.
    # the catalogue's rows are dicts of mixed values (str and int, lists for the scale)
    return found or [AttributeInfo(cast(str, row["key"]), cast(str, row["name"]), cast(str, row["group"]),
                                   cast(str, row["definition"]))
                     for row in sorted(catalogue_v1.ATTRIBUTES, key=lambda row: cast(int, row["order"]))]


def attribute_keys() -> list[str]:
    return [attribute.key for attribute in list_attributes()]


def attribute_names() -> dict[str, str]:
    """Return {key: display name}."""
    return {attribute.key: attribute.name for attribute in list_attributes()}
