"""DRF serializers built from a job's config: one field per option, unknown keys refused, the config checked."""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.settings import api_settings

from . import UNSET, ConfigError, ConfigOption, JobConfig, config_options, is_kind, unknown_message, validate_config


class StrictSerializer(serializers.Serializer):
    """Refuses keys it has no field for, where DRF would drop them."""

    owner = ""  # whom the unknown keys are unknown to, in the message

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        if isinstance(data, Mapping) and (unknown := set(data) - set(self.fields)):
            errors[api_settings.NON_FIELD_ERRORS_KEY] = [unknown_message(self.owner, unknown)]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = {**exc.detail, **errors}
        if errors:
            raise serializers.ValidationError(errors)
        return value


class ConfigSerializer(StrictSerializer):
    """A job request: the config's options, checked by the config, and the request's own fields."""

    config_class: ClassVar[type[JobConfig]]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        names = {option.name for option in config_options(self.config_class)}
        try:
            config = validate_config(self.config_class, {k: v for k, v in attrs.items() if k in names})
        except ConfigError as exc:
            raise serializers.ValidationError(nested_errors(exc.errors)) from exc
        return {**attrs, "config": config}


class ConfigChoiceField(serializers.ChoiceField):
    """A ChoiceField for the schema's enum; the option's own check refuses a value, in the shared words."""

    def __init__(self, kind: type, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        if not is_kind(data, self.kind):
            self.fail("invalid_choice", input=data)
        return data


def build_serializer_class(cls: type[JobConfig]) -> type[ConfigSerializer]:
    fields = {option.name: serializer_field(cls, option) for option in config_options(cls)}
    metaclass: Callable[..., type[ConfigSerializer]] = type(ConfigSerializer)
    return metaclass(f"{cls.__name__}Serializer", (ConfigSerializer,),
                     {"config_class": cls, "owner": cls.__name__, "__module__": cls.__module__, **fields})


def nested_errors(errors: Mapping[str, list[str]]) -> dict[str, Any]:
    """Return ConfigError.errors as DRF nests them: {"sampling": {"max_tokens": [...]}}, "" as non-field errors."""
    nesting = {key.partition(".")[0] for key in errors if "." in key}
    nested: dict[str, Any] = {}
    for key, messages in errors.items():
        head, _, tail = key.partition(".")
        if head in nesting:
            nested.setdefault(head, {}).setdefault(tail or api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)
        else:
            nested.setdefault(head or api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)
    return nested


def serializer_field(cls: type[JobConfig], option: ConfigOption, nested: bool = False) -> serializers.Field:
    """Return the serializer field of one option, by type; a key of overrides (`nested`) is never required."""
    kwargs: dict[str, Any] = {"help_text": option.full_help()}
    if option.is_optional:
        kwargs["allow_null"] = True
    if nested or option.stored_default is UNSET:
        kwargs["required"] = False
    elif option.required:
        kwargs["required"] = True
    else:
        kwargs["default"] = option.default
    if option.kind is dict:
        return overrides_serializer_class(cls, option)(**kwargs)
    # DRF fills its messages in with str.format; ours have no fields to fill.
    type_message = option.type_message.replace("{", "{{").replace("}", "}}")
    kwargs["error_messages"] = {key: type_message for key in ("invalid", "not_a_list", "null", "invalid_choice")}
    kwargs["error_messages"] |= {"required": option.required_message, "blank": option.required_message}
    kwargs["validators"] = [check_with(option)]
    if option.is_list:
        return serializers.ListField(child=scalar_field(option, {}), **kwargs)
    return scalar_field(option, kwargs)


def scalar_field(option: ConfigOption, kwargs: dict[str, Any]) -> serializers.Field:
    if option.choices:
        pairs = option.choice_pairs()
        # An empty choice ("any split") is allow_blank to DRF, so the schema's enum matches other fields' enums.
        return ConfigChoiceField(option.kind, choices=[pair for pair in pairs if pair[0] != ""],
                                 allow_blank=any(value == "" for value, _ in pairs), **kwargs)
    if option.kind is bool:
        return serializers.BooleanField(**kwargs)
    if option.kind is int:
        return serializers.IntegerField(**kwargs)
    if option.kind is float:
        return serializers.FloatField(**kwargs)
    return serializers.CharField(allow_blank=not option.required, **kwargs)


def check_with(option: ConfigOption) -> Callable[[Any], None]:
    """Return a DRF validator that refuses a value in the option's own words."""

    def check(value: Any) -> None:
        if messages := option.messages(value):
            raise serializers.ValidationError(messages)

    return check


def overrides_serializer_class(cls: type[JobConfig], option: ConfigOption) -> type[StrictSerializer]:
    """Return the nested serializer of a field of overrides, named after the config and the field for the schema."""
    fields = {child.path[-1]: serializer_field(cls, child, nested=True) for child in option.children}
    name = cls.__name__ + "".join(part.capitalize() for part in option.name.split("_")) + "Serializer"
    metaclass: Callable[..., type[StrictSerializer]] = type(StrictSerializer)
    return metaclass(name, (StrictSerializer,), {"owner": option.key, "__module__": cls.__module__, **fields})
