"""Django forms built from a job's config: one field per option, its default as the initial value, help with it."""

from collections.abc import Callable
from typing import Any, ClassVar, cast

from django import forms

from . import (
    MISSING,
    UNSET,
    ConfigError,
    ConfigOption,
    JobConfig,
    config_options,
    flat_options,
    put_option,
    validate_config,
)


class ConfigForm(forms.Form):
    """A config's options: defaults as initial values, help that states the default, checkboxes by their labels."""

    config_class: ClassVar[type[JobConfig]]
    template_name = "jobs/config_form.html"

    def offer_choices(self, name: str, choices: Any, initial: Any = MISSING) -> None:
        """Show option `name` as a select (a list as checkboxes) of `choices`, such as the active endpoints."""
        option = next(option for option in flat_options(self.config_class) if option.name == name)
        self.fields[name] = form_field(option, choices=choices)
        if initial is not MISSING:
            self.fields[name].initial = initial

    def options(self) -> dict[str, Any]:
        """Return the config dict the cleaned fields spell; an empty box leaves its option at the default."""
        data: dict[str, Any] = {}
        for option in flat_options(self.config_class):
            if option.name in self.cleaned_data and not is_blank(option, self.cleaned_data[option.name]):
                put_option(data, self.config_class, option, self.cleaned_data[option.name])
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # BaseForm.clean returns cleaned_data
        for option in flat_options(self.config_class):
            if option.name in cleaned and not is_blank(option, cleaned[option.name]):
                for message in option.messages(cleaned[option.name]):
                    self.add_error(option.name, message)
        if not self.errors:  # a field that did not parse would come back as a missing option
            try:
                self.cleaned_config = validate_config(self.config_class, self.options())
            except ConfigError as exc:
                names = {option.key: option.name for option in flat_options(self.config_class)}
                for key, messages in exc.errors.items():
                    for message in messages:
                        self.add_error(names.get(key), message)
        return cleaned

    def config(self) -> JobConfig:
        """Return the checked config (after is_valid())."""
        return self.cleaned_config

    def get_context(self) -> dict[str, Any]:
        return {**super().get_context(), "groups": self.field_groups()}

    def field_groups(self) -> list[dict[str, Any]]:
        """Return the bound fields in runs: plain options, a fieldset per field of overrides, then the form's own."""
        groups: list[dict[str, Any]] = []
        shown = set()
        for option in config_options(self.config_class):
            names = [child.name for child in option.children] if option.children else [option.name]
            shown.update(names)
            if option.children:
                groups.append({"legend": option.label, "help": option.help, "fields": [self[n] for n in names]})
            elif groups and not groups[-1]["legend"]:
                groups[-1]["fields"].append(self[option.name])
            else:
                groups.append({"legend": "", "help": "", "fields": [self[option.name]]})
        rest = [self[name] for name in self.fields if name not in shown]
        return groups + ([{"legend": "", "help": "", "fields": rest}] if rest else [])


class ConfigChoiceField(forms.TypedChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True  # the option's own check refuses a value, in the words the API and the commands use


class ConfigMultipleChoiceField(forms.TypedMultipleChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True  # as above


class CommaSeparatedField(forms.CharField):
    """A list option, written as comma-separated values."""

    def __init__(self, option: ConfigOption, **kwargs: Any) -> None:
        self.option = option
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value

    def to_python(self, value: Any) -> Any:
        try:
            return self.option.parse_text(cast(str, super().to_python(value)))  # empty_value is ""
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


def build_form_class(cls: type[JobConfig]) -> type[ConfigForm]:
    fields = {option.name: form_field(option) for option in flat_options(cls)}
    metaclass: Callable[..., type[ConfigForm]] = type(ConfigForm)
    return metaclass(f"{cls.__name__}Form", (ConfigForm,),
                     {"config_class": cls, "__module__": cls.__module__, **fields})


def is_blank(option: ConfigOption, value: Any) -> bool:
    return not option.is_list and option.kind is not bool and value in (None, "")


def form_field(option: ConfigOption, choices: Any = None) -> forms.Field:
    """Return the form field of one flat option, by type; `choices` makes it a select or checkboxes."""
    if choices is None and option.choices:
        choices = option.choice_pairs  # a callable: Django asks it again at each render
    attrs: dict[str, Any] = (
        {"placeholder": option.fallback} if option.stored_default is UNSET and option.fallback else {}
    )
    kwargs: dict[str, Any] = {
        "label": option.label, "help_text": option.full_help(), "required": option.required,
        "error_messages": {"required": option.required_message, "invalid": option.type_message,
                           "invalid_choice": option.type_message, "invalid_list": option.type_message},
    }
    if not option.required and option.stored_default is not UNSET:
        kwargs["initial"] = option.default
    coerce = cast(Callable[[Any], Any], option.kind)  # a scalar type, called on each submitted value
    if option.is_list and choices is not None:
        return ConfigMultipleChoiceField(choices=choices, coerce=coerce, widget=forms.CheckboxSelectMultiple,
                                         **kwargs)
    if option.is_list:
        return CommaSeparatedField(option, widget=forms.TextInput(attrs=attrs), **kwargs)
    if choices is not None:
        return ConfigChoiceField(choices=choices, coerce=coerce, empty_value="" if option.kind is str else None,
                                 **kwargs)
    if option.kind is bool:
        return forms.BooleanField(**{**kwargs, "required": False})
    if option.kind is str:
        return forms.CharField(widget=forms.TextInput(attrs=attrs), **kwargs)
    attrs["step"] = "1" if option.kind is int else "any"
    if option.minimum is not None and not option.min_exclusive:
        attrs["min"] = option.minimum
    if option.maximum is not None:
        attrs["max"] = option.maximum
    field_class = forms.IntegerField if option.kind is int else forms.FloatField
    return field_class(widget=forms.NumberInput(attrs=attrs), **kwargs)
