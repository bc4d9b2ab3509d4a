"""Options of the evaluation configs, derived once from their dataclass fields: the Django form, the DRF
serializer and the `manage.py evaluate` arguments (as HfArgumentParser derives argparse options)."""

import json
import typing
from dataclasses import MISSING, Field, fields

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from synthesis.configs import ConfigError


def default_of(field: Field):
    """Return the field's default value, or MISSING for a required field."""
    if field.default is not MISSING:
        return field.default
    if field.default_factory is not MISSING:
        return field.default_factory()
    return MISSING


def kind_of(field: Field) -> str:
    if typing.get_origin(field.type) is list:
        return "list"
    return {str: "str", int: "int", float: "float", dict: "dict"}[field.type]


def choice_pairs(field: Field) -> list[tuple[str, str]]:
    """Return the field's choices as (value, label) pairs; metadata may give bare values or pairs."""
    return [tuple(c) if isinstance(c, tuple | list) else (c, c) for c in field.metadata.get("choices", ())]


def split_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return [part.strip() for part in (value or "").replace("\n", ",").split(",") if part.strip()]


# Forms ----------------------------------------------------------------------------------------------------------

class ListField(forms.CharField):
    """Comma- or line-separated values."""

    def to_python(self, value):
        return split_list(super().to_python(value))

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value


FORM_FIELDS = {"str": forms.CharField, "int": forms.IntegerField, "float": forms.FloatField, "dict": forms.JSONField,
               "list": ListField}


def form_field(field: Field) -> forms.Field:
    default = default_of(field)
    options = {"required": default is MISSING, "help_text": field.metadata.get("help", ""),
               "initial": None if default is MISSING else default}
    if choices := choice_pairs(field):
        return forms.ChoiceField(choices=choices, **options)
    kind = kind_of(field)
    if kind == "dict":
        options["widget"] = forms.Textarea(attrs={"rows": 1})
    return FORM_FIELDS[kind](**options)


def config_form(cls) -> type[forms.Form]:
    """Return a Form class with one field per dataclass field; `form.config()` returns the dataclass."""

    def clean(self):
        data = super(forms.Form, self).clean()
        if not self.errors:
            # An empty box means the default, as an option left out of the command line does.
            values = {f.name: data[f.name] for f in fields(cls) if data.get(f.name) not in (None, "")}
            try:
                self.config_value = cls.from_dict(values)
            except ConfigError as exc:
                raise ValidationError(str(exc)) from exc
        return data

    attrs = {f.name: form_field(f) for f in fields(cls)}
    attrs.update({"clean": clean, "config": lambda self: self.config_value})
    return type(f"{cls.__name__}Form", (forms.Form,), attrs)


# Serializers ----------------------------------------------------------------------------------------------------

SERIALIZER_FIELDS = {"str": serializers.CharField, "int": serializers.IntegerField,
                     "float": serializers.FloatField, "dict": serializers.DictField}


def serializer_field(field: Field) -> serializers.Field:
    default = default_of(field)
    options = {"help_text": field.metadata.get("help", "")}
    if default is MISSING:
        options["required"] = True
    else:
        options["default"] = default
    if choices := choice_pairs(field):
        return serializers.ChoiceField(choices=choices, **options)
    kind = kind_of(field)
    if kind == "list":
        return serializers.ListField(child=serializers.CharField(), **options)
    if kind == "str":
        options["allow_blank"] = True
    return SERIALIZER_FIELDS[kind](**options)


def config_serializer(cls) -> type[serializers.Serializer]:
    """Return a Serializer class with one field per dataclass field; validated_data["config"] is the dataclass."""

    def validate(self, data):
        try:
            return {"config": cls.from_dict(dict(data))}
        except ConfigError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from exc

    attrs = {f.name: serializer_field(f) for f in fields(cls)}
    attrs["validate"] = validate
    return type(f"{cls.__name__}Serializer", (serializers.Serializer,), attrs)


# Command-line arguments -----------------------------------------------------------------------------------------

ARGUMENT_TYPES = {"str": str, "int": int, "float": float, "dict": json.loads, "list": split_list}


def option_name(field: Field) -> str:
    return "--" + field.name.replace("_", "-")


def add_config_arguments(parser, *classes) -> None:
    """Add one option per field of the configs (a name shared by several configs is added once); every default
    is None, so that only the options given reach the config and the dataclass supplies the rest."""
    seen = set()
    for cls in classes:
        for field in fields(cls):
            if field.name in seen:
                continue
            seen.add(field.name)
            default = default_of(field)
            shown = "required" if default is MISSING else f"default: {json.dumps(default)}"
            help_text = f"{field.metadata.get('help', '')} ({shown})".replace("%", "%%")
            parser.add_argument(option_name(field), type=ARGUMENT_TYPES[kind_of(field)], default=None,
                                help=help_text, choices=[value for value, _label in choice_pairs(field)] or None)


def options_for(cls, arguments: dict) -> dict:
    """Return the given command-line values that belong to `cls`."""
    return {f.name: arguments[f.name] for f in fields(cls) if arguments.get(f.name) is not None}
