"""The form, the API serializer and `manage.py evaluate` expose exactly each config's fields, with its defaults."""

import argparse
from dataclasses import MISSING, fields

import pytest

from evaluation.configs import CONFIGS
from evaluation.fields import add_config_arguments, config_form, config_serializer, default_of


@pytest.mark.parametrize("task", sorted(CONFIGS))
def test_the_form_has_every_field_with_its_default(task):
    cls = CONFIGS[task]
    form = config_form(cls)()
    assert list(form.fields) == [f.name for f in fields(cls)]
    for field in fields(cls):
        default = default_of(field)
        assert form.fields[field.name].required == (default is MISSING), field.name
        if default is not MISSING:
            assert form.fields[field.name].initial == default, field.name


@pytest.mark.parametrize("task", sorted(CONFIGS))
def test_the_serializer_has_every_field_with_its_default(task):
    cls = CONFIGS[task]
    serializer_fields = config_serializer(cls)().fields
    assert list(serializer_fields) == [f.name for f in fields(cls)]
    for field in fields(cls):
        default = default_of(field)
        if default is MISSING:
            assert serializer_fields[field.name].required, field.name
        else:
            assert serializer_fields[field.name].default == default, field.name


def test_the_command_has_an_option_per_field_of_every_config():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, *CONFIGS.values())
    options = {action.dest for action in parser._actions} - {"help"}
    assert options == {f.name for cls in CONFIGS.values() for f in fields(cls)}
    parsed = vars(parser.parse_args(["--model", "m", "--qids", "a, b", "--expert-sampling", '{"max_tokens": 4}']))
    assert parsed["qids"] == ["a", "b"] and parsed["expert_sampling"] == {"max_tokens": 4}
    assert parsed["repeats"] is None  # not given: the dataclass default applies


def test_a_form_left_at_its_defaults_builds_the_default_config():
    cls = CONFIGS["interactive"]
    form = config_form(cls)({"model": "m", "cases": "", "repeats": ""})
    assert form.is_valid(), form.errors
    assert form.config() == cls(model="m")


def test_an_option_shared_by_several_tasks_has_one_type():
    types = {}
    for cls in CONFIGS.values():
        for field in fields(cls):
            assert types.setdefault(field.name, field.type) == field.type, field.name
