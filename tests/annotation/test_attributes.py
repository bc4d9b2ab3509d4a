"""Annotators judge the attributes of synthesis's catalogue (one list), in its order."""

import pytest
from django.core.cache import cache

from annotation.attributes import OVERALL, attribute_keys, attribute_names
from synthesis.models import Attribute, PromptTemplate
from synthesis.prompts import catalogue_v1

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_attributes_are_the_synthesis_catalogue_in_its_order():
    assert attribute_keys() == [a["key"] for a in sorted(catalogue_v1.ATTRIBUTES, key=lambda a: a["order"])]
    assert attribute_keys() == list(Attribute.objects.filter(is_active=True).values_list("key", flat=True))


def test_an_edit_to_the_catalogue_is_what_annotators_see():
    Attribute.objects.filter(key="clarity").update(name="Plain wording")
    Attribute.objects.filter(key__in=["focus", OVERALL]).update(is_active=False)
    names = attribute_names()
    assert names["clarity"] == "Plain wording" and "focus" not in names
    assert names[OVERALL] == "Overall usefulness", "campaigns judge overall even when synthesis retires it"


def test_an_emptied_catalogue_table_falls_back_to_the_rows_its_migration_loads():
    PromptTemplate.objects.all().delete()
    Attribute.objects.all().delete()  # as a flush between transactional tests leaves it
    assert attribute_keys() == [a["key"] for a in sorted(catalogue_v1.ATTRIBUTES, key=lambda a: a["order"])]
