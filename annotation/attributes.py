"""The attributes annotators judge: the synthesis catalogue when it exists, else the paper's six plus overall."""

from dataclasses import dataclass

from django.apps import apps
from django.core.cache import cache
from django.db.utils import DatabaseError

OVERALL = "overall"


@dataclass(frozen=True)
class AttributeInfo:
    key: str
    name: str
    group: str
    definition: str


# The paper's taxonomy (method.md §1.1); used until synthesis.Attribute exists, and as a fallback when it is empty.
DEFAULT_ATTRIBUTES = (
    AttributeInfo("clarity", "Clarity", "general",
                  "How easily a reader understands what the question asks: no vagueness, enough detail, no jargon."),
    AttributeInfo("focus", "Focus", "general",
                  "Scoped to one specific symptom, situation or concern: neither too broad nor too narrow."),
    AttributeInfo("answerability", "Answerability", "general",
                  "A lay patient could answer it from their own knowledge and the context."),
    AttributeInfo("accuracy", "Medical accuracy", "clinical",
                  "The question, and any hypothesis built into it, reflects correct medical knowledge."),
    AttributeInfo("relevance", "Diagnostic relevance", "clinical",
                  "It gathers information that helps confirm or rule out specific diagnoses."),
    AttributeInfo("avoidbias", "Avoiding diagnostic bias", "clinical",
                  "It keeps several diagnoses open instead of leading the patient toward one."),
    AttributeInfo(OVERALL, "Overall", "",
                  "Which question is more useful for this patient's case, all things considered."),
)


def _catalogue_model():
    try:
        return apps.get_model("synthesis", "Attribute")
    except LookupError:
        return None


CACHE_KEY = "annotation:attributes"
CACHE_SECONDS = 60  # the catalogue changes rarely; the annotation page asks for it on every item


def list_attributes():
    """Return the attribute catalogue (cached for a minute)."""
    attributes = cache.get(CACHE_KEY)
    if attributes is None:
        attributes = load_attributes()
        cache.set(CACHE_KEY, attributes, CACHE_SECONDS)
    return attributes


def load_attributes():
    """Return the attribute catalogue, from synthesis.Attribute when that table exists and has rows."""
    model = _catalogue_model()
    if model is not None:
        field_names = {f.name for f in model._meta.get_fields()}
        catalogue = model.objects.order_by(*[name for name in ("order", "pk") if name in field_names or name == "pk"])
        if "is_active" in field_names:
            catalogue = catalogue.filter(is_active=True)
        try:
            rows = [
                AttributeInfo(row.key, row.name, getattr(row, "group", "") or "", getattr(row, "definition", "") or "")
                for row in catalogue
            ]
        except DatabaseError:  # the synthesis migration has not run on this database yet
            rows = []
        if rows:
            if OVERALL not in {row.key for row in rows}:
                rows.append(DEFAULT_ATTRIBUTES[-1])
            return rows
    return list(DEFAULT_ATTRIBUTES)


def attribute_keys():
    return [attribute.key for attribute in list_attributes()]


def attribute_names():
    """Return {key: display name}."""
    return {attribute.key: attribute.name for attribute in list_attributes()}
