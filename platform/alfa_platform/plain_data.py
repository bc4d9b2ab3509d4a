"""A DRF serializer's validation for input it keeps unchanged, compiled from the serializer's own fields.

A DRF serializer builds its fields anew for every instance (a deep copy of the declared fields, nested serializers
included) and runs each value through the field's whole validation: about half a millisecond for the annotation
page's submit body, which is sent once per judgment. Most bodies are "plain": every value already has the type
and form the field would return, so validation changes nothing. `plain_validator(SerializerClass)` reads the
declared fields once (their kinds, bounds, choices, defaults) and returns a function that, for plain input,
returns exactly the serializer's `validated_data`, and None for anything else (a value DRF would coerce, trim or
refuse), which the caller then gives to the serializer itself. No bound is restated here: each is read from the
field. A field kind or option it does not know makes `plain_validator` refuse the serializer when it is built
(UnsupportedSerializer), not guess. tests/test_plain_data.py compares it with the serializer on many bodies.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from django.core import validators as django_validators
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

Check = Callable[[Any], tuple[bool, Any]]  # a value -> (plain, the validated value)
NOT_PLAIN: tuple[bool, Any] = (False, None)
# The validators DRF adds for the options each check reads (lengths, bounds, NUL and surrogate characters).
BOUND_VALIDATORS = (django_validators.MaxLengthValidator, django_validators.MinLengthValidator,
                    django_validators.MaxValueValidator, django_validators.MinValueValidator,
                    django_validators.ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)


class UnsupportedSerializer(TypeError):
    """The serializer has a field or a hook this compiler does not reproduce."""


def _plain_text(field: serializers.CharField) -> Check:
    def check(value: Any) -> tuple[bool, Any]:
        if type(value) is not str:
            return (value is None and field.allow_null, None)
        if (field.trim_whitespace and value != value.strip()) or "\x00" in value:
            return NOT_PLAIN
        if not value.isascii():
            try:
                value.encode("utf-8")  # lone surrogates, which DRF refuses
            except UnicodeEncodeError:
                return NOT_PLAIN
        if value == "":
            return (field.allow_blank, value)
        too_long = field.max_length is not None and len(value) > field.max_length
        too_short = field.min_length is not None and len(value) < field.min_length
        return (not too_long and not too_short, value)

    return check


def _plain_choice(field: serializers.ChoiceField) -> Check:
    allowed = {text for text, value in field.choice_strings_to_values.items() if str(value) == text}

    def check(value: Any) -> tuple[bool, Any]:
        if type(value) is not str:
            return (value is None and field.allow_null, None)
        if value == "":
            return (field.allow_blank, value)
        return (value in allowed, value)

    return check


def _plain_scalar(field: serializers.IntegerField | serializers.BooleanField, kind: type) -> Check:
    """An int (not a bool) within the field's bounds, or a bool: values of exactly the type the field returns."""
    low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)

    def check(value: Any) -> tuple[bool, Any]:
        if type(value) is not kind:
            return (value is None and field.allow_null, None)
        return ((low is None or value >= low) and (high is None or value <= high), value)

    return check


def _plain_list(field: serializers.ListField | serializers.ListSerializer, child: Check) -> Check:
    def check(value: Any) -> tuple[bool, Any]:
        if type(value) is not list:
            return NOT_PLAIN
        if not value and not field.allow_empty:
            return NOT_PLAIN
        longest, shortest = getattr(field, "max_length", None), getattr(field, "min_length", None)
        if (longest is not None and len(value) > longest) or (shortest is not None and len(value) < shortest):
            return NOT_PLAIN
        checked = [child(item) for item in value]
        return (all(plain for plain, _ in checked), [item for _, item in checked])

    return check


def _plain_object(serializer: serializers.Serializer) -> Check:
    if type(serializer).validate is not serializers.Serializer.validate or serializer.validators:
        raise UnsupportedSerializer(f"{type(serializer).__name__} validates the whole object")
    fields = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if (field.source != name or getattr(serializer, f"validate_{name}", None) is not None
                or not all(isinstance(validator, BOUND_VALIDATORS) for validator in field.validators)):
            raise UnsupportedSerializer(f"{type(serializer).__name__}.{name}: a source or a validator of its own")
        fields.append((name, field.required, field.default, _compile(field)))

    def check(value: Any) -> tuple[bool, Any]:
        if type(value) is not dict:
            return NOT_PLAIN
        validated = {}
        for name, required, default, field_check in fields:
            if name not in value:
                if required:
                    return NOT_PLAIN
                if default is not empty:
                    validated[name] = default() if callable(default) else default
                continue
            plain, validated[name] = field_check(value[name])
            if not plain:
                return NOT_PLAIN
        return (True, validated)

    return check


def _compile(field: serializers.Field) -> Check:
    # Exact classes: a subclass may validate differently (EmailField is a CharField, MultipleChoiceField a choice).
    kind = type(field)
    if kind is serializers.CharField:
        return _plain_text(field)  # type: ignore[arg-type]  # the exact class, checked above
    if kind is serializers.ChoiceField:
        return _plain_choice(field)  # type: ignore[arg-type]
    if kind is serializers.IntegerField:
        return _plain_scalar(field, int)  # type: ignore[arg-type]
    if kind is serializers.BooleanField:
        return _plain_scalar(field, bool)  # type: ignore[arg-type]
    if kind is serializers.ListField:
        return _plain_list(field, _compile(field.child))  # type: ignore[arg-type,attr-defined]
    if kind is serializers.ListSerializer:
        return _plain_list(field, _plain_object(field.child))  # type: ignore[arg-type,attr-defined]
    if isinstance(field, serializers.Serializer):
        return _plain_object(field)
    raise UnsupportedSerializer(f"{kind.__name__} is not compiled")


@cache
def plain_validator(serializer_class: type[serializers.Serializer]) -> Callable[[Any], dict[str, Any] | None]:
    """A function returning the serializer's validated_data for plain input, else None (see the module docstring)."""
    check = _plain_object(serializer_class())

    def validated(data: Any) -> dict[str, Any] | None:
        plain, value = check(data)
        return value if plain else None

    return validated


def validated_data(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The serializer's validated_data for `data`: plain input through plain_validator, the rest through the
    serializer itself, which raises its ValidationError as `is_valid(raise_exception=True)` does."""
    fast = plain_validator(serializer_class)(data)
    if fast is not None:
        return fast
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
