"""Job options declared once, as dataclasses; forms, serializers, command lines and README tables derive from them.

A job kind's options are one dataclass that inherits `JobConfig`. Each field gives its default (none for what the user
must name, such as a model or a dataset) and, in `metadata`, its help text and bounds, as TRL's config classes do:

    from dataclasses import dataclass, field

    from jobs.configs import (ConfigError, JobConfig, add_config_arguments, config_form_class, config_from_options,
                              config_serializer_class, options_table, register_config)

    @register_config("train_dpo", form="training.forms.DpoForm",
                     serializer="training.serializers.DpoRequestSerializer", command="train_dpo")
    @dataclass
    class DpoConfig(JobConfig):
        \"\"\"What a DPO run trains on, and how.\"\"\"

        dataset_version: int = field(metadata={"help": "Pair dataset version to train on."})
        learning_rate: float = field(default=5e-7, metadata={"help": "AdamW learning rate.", "min": 0,
                                                             "min_exclusive": True})
        loss_type: str = field(default="sigmoid", metadata={"help": "DPO loss.", "choices": ["sigmoid", "ipo"]})
        target_modules: list[str] = field(default_factory=list, metadata={"help": "LoRA modules (empty: all)."})

        def check(self):  # rules across fields or against the database; runs after the per-field checks
            if ...:
                raise ConfigError("dataset_version 3 holds SFT rows, not pairs.", field="dataset_version")

    class DpoForm(config_form_class(DpoConfig)): ...                     # form.config() -> DpoConfig
    class DpoRequestSerializer(config_serializer_class(DpoConfig)): ...  # validated_data["config"] -> DpoConfig
    add_config_arguments(parser, DpoConfig)                  # in a command's add_arguments: --learning-rate ...
    config = config_from_options(DpoConfig, options)         # in its handle(**options); raises ConfigError
    options_table(DpoConfig)                                 # the README's table (manage.py config_table --write)

Field metadata: `help` (required); `min` and `max` (inclusive; `min_exclusive: True` makes `min` strict); `choices`
(allowed values, of each item for a list: values, (value, label) pairs, or a function returning them, called when
checking, so it may import models). A `dict` field holds partial overrides of another JobConfig: `overrides` (that
class), `options` (which of its fields, default all), `prefix` (of their flat names in forms and commands) and
`fallback` (what applies to a key the dict leaves out, shown as its default).

Types: bool, int, float, str, `T | None`, `list[T]` of int, float or str (comma-separated in forms and on the
command line) and `dict` with `overrides`. An option left empty in a form, or not given in an API body or on the
command line, takes its default; a list or a checkbox means what was written or ticked. Every surface checks a value
with the same `ConfigOption.messages`, so a form, the API and a command refuse it in the same words.

The form and serializer builders live in jobs/configs/forms.py and serializers.py and are imported when first
called: synthesis.configs (SamplingConfig) is imported on GPU benchmark machines that have neither Django nor DRF.
"""

import argparse
import copy
import dataclasses
import json
import math
import types
import typing
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

if TYPE_CHECKING:
    F = TypeVar("F", bound=Callable[..., Any])

    def cache(function: F) -> F:
        """functools.cache, as mypy should see it here: its stub checks each argument against Hashable, which
        mypy wrongly finds a config class (type[JobConfig]) not to be (it reads the instances' __hash__)."""
else:
    from functools import cache

C = TypeVar("C", bound="JobConfig")

MISSING = dataclasses.MISSING
SCALARS = (bool, int, float, str)
METADATA_KEYS = frozenset({"help", "min", "max", "min_exclusive", "choices", "overrides", "options", "prefix",
                           "fallback"})
CONFIG_FILE = "config_file"  # the command-line option that reads options from a JSON file


class _Unset:
    """The default of an override key that its field's default dict leaves out."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class ConfigError(ValueError):
    """Options a job cannot run with; `errors` maps each option's key ("" for the whole config) to its messages."""

    def __init__(self, message: str | Mapping[str, Sequence[str]], field: str = "") -> None:
        if isinstance(message, Mapping):
            self.errors = {key: list(messages) for key, messages in message.items()}
        else:
            self.errors = {field: [message]}
        super().__init__(" ".join(text for messages in self.errors.values() for text in messages))


class JobConfig:
    """Base of a job's options dataclass: every construction checks each field, then `check()`."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # each subclass is a dataclass

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = defaultdict(list)
        for option in config_options(type(self)):
            for key, message in option.problems(getattr(self, option.name)):
                errors[key].append(message)
        if errors:
            raise ConfigError(errors)
        self.check()

    def check(self) -> None:
        """Refuse what no single field's bounds catch, with ConfigError(message, field=name)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Return the config a plain dict (an API body, a job's params) describes, or raise ConfigError."""
        return validate_config(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ConfigOption:
    """One option as the surfaces see it: a field of a config, or one key of a field of overrides (`children`)."""

    name: str  # flat name: the form field, the command line's --name (with dashes); the field's name at top level
    path: tuple[str, ...]  # where the value sits in the config's dict: ("limit",) or ("sampling", "max_tokens")
    kind: type  # bool, int, float or str (of each item, for a list), or dict for a field of overrides
    help: str
    stored_default: Any = MISSING  # read `default`, a copy
    is_list: bool = False
    is_optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    children: tuple["ConfigOption", ...] = ()
    fallback: str = ""

    @property
    def default(self) -> Any:
        return copy.deepcopy(self.stored_default)

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def required(self) -> bool:
        return self.stored_default is MISSING

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.path[-1].replace("_", " ").capitalize()

    @property
    def required_message(self) -> str:
        return f"{self.key} is required."

    @property
    def type_message(self) -> str:
        return f"{self.key} must be {self.describe_type(article=True)}."

    def choice_pairs(self) -> list[tuple[Any, str]]:
        """Return the allowed values with their labels ([] when any value of the type will do)."""
        choices = self.choices() if callable(self.choices) else (self.choices or [])
        return [tuple(choice) if isinstance(choice, (list, tuple)) else (choice, str(choice)) for choice in choices]

    def problems(self, value: Any) -> list[tuple[str, str]]:
        """Return (key, message) for everything wrong with `value`; [] when it is fine."""
        if value is None:
            return [] if self.is_optional else [(self.key, self.type_message)]
        if self.kind is dict:
            return self._dict_problems(value)
        items = value if self.is_list else [value]
        if (self.is_list and not isinstance(value, (list, tuple))) or not all(is_kind(v, self.kind) for v in items):
            return [(self.key, self.type_message)]
        if self.required and self.kind is str and not self.is_list and not value.strip():
            return [(self.key, self.required_message)]
        messages = dict.fromkeys(message for item in items for message in self._bound_messages(item))
        allowed = [choice for choice, _ in self.choice_pairs()]
        if unknown := [item for item in items if allowed and item not in allowed]:
            messages[f"Unknown {self.key}: {_join(unknown)} (choose from {_join(allowed)})."] = None
        return [(self.key, message) for message in messages]

    def messages(self, value: Any) -> list[str]:
        """Return the messages that refuse `value`: the same text in a form, the API and on the command line."""
        return [message for _, message in self.problems(value)]

    def coerce(self, value: Any) -> Any:
        """Return a checked value in its declared type (an int given for a float becomes a float), copied."""
        if value is None:
            return None
        if self.kind is dict:
            children = {child.path[-1]: child for child in self.children}
            return {key: children[key].coerce(item) for key, item in value.items()}
        if self.is_list:
            return [float(item) if self.kind is float else item for item in value]
        return float(value) if self.kind is float else value

    def parse_text(self, text: str) -> Any:
        """Return the value a form's text box or a command-line word spells, or raise ValueError."""
        text = text.strip()
        if self.is_optional and text.lower() in {"none", "null"}:
            return None
        if self.is_list:
            return [self._parse_item(part.strip()) for part in text.replace("\n", ",").split(",") if part.strip()]
        return self._parse_item(text)

    def describe_type(self, article: bool = False) -> str:
        names = {bool: ("true or false", "booleans"), int: ("a whole number", "whole numbers"),
                 float: ("a number", "numbers"), str: ("text", "texts"),
                 dict: (f"a mapping of {', '.join(child.path[-1] for child in self.children)}", "mappings")}
        single, plural = names[self.kind]
        text = f"a list of {plural}" if self.is_list else single
        text = text if article else text.removeprefix("a ")
        return f"{text} or none" if self.is_optional else text

    def describe_default(self) -> str:
        if self.required:
            return "required"
        if self.stored_default is UNSET:
            return self.fallback or "unset"
        if self.stored_default == "" and (label := dict(self.choice_pairs()).get("")):
            return label
        return _show(self.stored_default)

    def describe_allowed(self) -> str:
        """Return the bounds or choices in words ("" when any value of the type will do)."""
        if pairs := self.choice_pairs():
            return "one of " + _join(value for value, _ in pairs)
        if self.minimum is not None and self.maximum is not None and not self.min_exclusive:
            return f"{_show(self.minimum)} to {_show(self.maximum)}"
        parts = []
        if self.minimum is not None:
            parts.append(f"{'above' if self.min_exclusive else 'at least'} {_show(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"at most {_show(self.maximum)}")
        return " and ".join(parts)

    def full_help(self, with_choices: bool = False) -> str:
        """Return the help text with the bounds (and the choices, where asked) and the default."""
        parts = [self.help]
        if (allowed := self.describe_allowed()) and (with_choices or not self.choices):
            parts.append(f"Allowed: {allowed}.")
        if not self.required:
            parts.append(f"Default: {self.describe_default()}.")
        return " ".join(parts)

    def _bound_messages(self, item: Any) -> list[str]:
        if self.kind not in (int, float):
            return []
        if self.kind is float and not math.isfinite(item):
            return [self.type_message]
        messages = []
        if self.minimum is not None and self.min_exclusive and not item > self.minimum:
            messages.append(f"{self.key} must be greater than {_show(self.minimum)}.")
        elif self.minimum is not None and not item >= self.minimum:
            messages.append(f"{self.key} must be at least {_show(self.minimum)}.")
        if self.maximum is not None and not item <= self.maximum:
            messages.append(f"{self.key} must be at most {_show(self.maximum)}.")
        return messages

    def _dict_problems(self, value: Any) -> list[tuple[str, str]]:
        if not isinstance(value, Mapping):
            return [(self.key, self.type_message)]
        children = {child.path[-1]: child for child in self.children}
        found = []
        if unknown := set(value) - set(children):
            found.append((self.key, unknown_message(self.key, unknown)))
        for key, item in value.items():
            if key in children:
                found += children[key].problems(item)
        return found

    def _parse_item(self, text: str) -> Any:
        if self.kind is bool:
            if text.lower() not in {"true", "false", "yes", "no", "1", "0", "on", "off"}:
                raise ValueError(text)
            return text.lower() in {"true", "yes", "1", "on"}
        return self.kind(text)


def is_kind(value: Any, kind: type) -> bool:
    if kind in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if kind is float else kind)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return _join(value) if value else "empty"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_show(item)}" for key, item in value.items()) if value else "empty"
    return "empty" if value == "" else str(value)


def _join(values: Any) -> str:
    return ", ".join('""' if value == "" else _show(value) for value in values)


def unknown_message(owner: str, names: Any) -> str:
    return f"Unknown {owner} option(s): {', '.join(sorted(map(str, names)))}."


# Declaration ----------------------------------------------------------------------------------------------------

@cache
def config_options(cls: type[JobConfig]) -> tuple[ConfigOption, ...]:
    """Return the options of a config class, one per field, in declaration order; refuse a bad declaration."""
    if not (dataclasses.is_dataclass(cls) and issubclass(cls, JobConfig)):
        raise TypeError(f"{cls!r} is not a JobConfig dataclass.")
    hints = typing.get_type_hints(cls)
    options = tuple(_declare(cls, f, hints[f.name]) for f in dataclasses.fields(cls))
    names = [leaf.name for option in options for leaf in (option.children or (option,))]
    if clashes := sorted({name for name in names if names.count(name) > 1} | ({CONFIG_FILE} & set(names))):
        raise TypeError(f"{cls.__name__}: flat option name(s) {', '.join(clashes)} clash; give a prefix.")
    return options


def flat_options(cls: type[JobConfig]) -> tuple[ConfigOption, ...]:
    """Return the options a form or a command line shows: a field of overrides gives way to its keys."""
    return tuple(leaf for option in config_options(cls) for leaf in (option.children or (option,)))


def _declare(cls: type, f: dataclasses.Field, hint: Any) -> ConfigOption:
    where = f"{cls.__name__}.{f.name}"
    meta = dict(f.metadata)
    if unknown := set(meta) - METADATA_KEYS:
        raise TypeError(f"{where}: unknown metadata {', '.join(sorted(unknown))}.")
    if not meta.get("help"):
        raise TypeError(f"{where}: say what it does in metadata['help'].")
    kind, is_list, is_optional = _parse_hint(where, hint)
    default = f.default
    if f.default_factory is not MISSING:
        default = f.default_factory()
    if kind is bool and default is MISSING:
        raise TypeError(f"{where}: a bool option needs a default.")
    if ("min" in meta or "max" in meta) and kind not in (int, float):
        raise TypeError(f"{where}: min and max bound numbers only.")
    if "choices" in meta and kind in (bool, dict):
        raise TypeError(f"{where}: choices need an int, float or str option.")
    option = ConfigOption(name=f.name, path=(f.name,), kind=kind, help=meta["help"], stored_default=default,
                          is_list=is_list, is_optional=is_optional, minimum=meta.get("min"), maximum=meta.get("max"),
                          min_exclusive=bool(meta.get("min_exclusive")), choices=meta.get("choices"))
    if kind is dict:
        return _declare_overrides(where, option, meta)
    if {"overrides", "options", "prefix", "fallback"} & set(meta):
        raise TypeError(f"{where}: overrides, options, prefix and fallback belong to a dict field.")
    return option


def _parse_hint(where: str, hint: Any) -> tuple[type, bool, bool]:
    is_optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if len(args) != 2 or type(None) not in args:
            raise TypeError(f"{where}: only `T | None` unions are supported.")
        hint, is_optional = next(arg for arg in args if arg is not type(None)), True
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        if item not in (int, float, str):
            raise TypeError(f"{where}: lists hold int, float or str.")
        return item, True, is_optional
    if hint is dict or typing.get_origin(hint) is dict:
        return dict, False, is_optional
    if hint in SCALARS:
        return hint, False, is_optional
    raise TypeError(f"{where}: unsupported type {hint!r}.")


def _declare_overrides(where: str, option: ConfigOption, meta: dict[str, Any]) -> ConfigOption:
    target = meta.get("overrides")
    if target is None:
        raise TypeError(f"{where}: a dict field names the config it overrides in metadata['overrides'].")
    available = {sub.name: sub for sub in config_options(target) if sub.kind is not dict}
    names = list(meta.get("options", available))
    if unknown := set(names) - set(available):
        raise TypeError(f"{where}: {target.__name__} has no option(s) {', '.join(sorted(unknown))}.")
    default = option.stored_default if isinstance(option.stored_default, dict) else {}
    children = tuple(
        dataclasses.replace(available[name], name=meta.get("prefix", "") + name, path=(option.name, name),
                            stored_default=default.get(name, UNSET), fallback=meta.get("fallback", ""))
        for name in names)
    return dataclasses.replace(option, children=children, fallback=meta.get("fallback", ""))


# Validation -----------------------------------------------------------------------------------------------------

def validate_config(cls: type[C], data: Mapping[str, Any]) -> C:
    """Return `cls` built from `data`, or raise ConfigError naming every unknown key and every missing or bad value."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{cls.__name__} options must be a mapping of option names to values.")
    options = config_options(cls)
    errors: dict[str, list[str]] = defaultdict(list)
    if unknown := set(data) - {option.name for option in options}:
        errors[""].append(unknown_message(cls.__name__, unknown))
    values = {}
    for option in options:
        if option.name not in data:
            if option.required:
                errors[option.key].append(option.required_message)
            continue
        problems = option.problems(data[option.name])
        for key, message in problems:
            errors[key].append(message)
        if not problems:
            values[option.name] = option.coerce(data[option.name])
    if errors:
        raise ConfigError(errors)
    return cls(**values)


def put_option(data: dict[str, Any], cls: type[JobConfig], option: ConfigOption, value: Any) -> None:
    """Set a flat option's value in a config dict; a key of overrides joins the other keys of its field's default."""
    if len(option.path) == 1:
        data[option.name] = value
        return
    parent = option.path[0]
    if parent not in data:
        data[parent] = next(o.default for o in config_options(cls) if o.name == parent)
    if isinstance(data[parent], dict):  # otherwise validation names the bad value
        data[parent][option.path[1]] = value


# Registry -------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConfigRegistration:
    """A job kind's config, and the dotted paths of the form and serializer and the command built from it."""

    kind: str
    config: type[JobConfig]
    form: str
    serializer: str
    command: str  # the command and any fixed words that pick this config: "train --method dpo"
    job_kind: str  # the jobs.runner kind that runs it; one job kind may take several configs (one per method)


_REGISTRY: dict[str, ConfigRegistration] = {}


def register_config(kind: str, *, form: str, serializer: str, command: str,
                    job_kind: str = "") -> Callable[[type[C]], type[C]]:
    """Register a config class as `kind`'s options (README table, drift test); decorate the class.

    `kind` is the job kind unless `job_kind` names it (a training run takes one config per method).
    """

    def register(cls: type[C]) -> type[C]:
        config_options(cls)  # a bad declaration fails at import, not at the first request
        _REGISTRY[kind] = ConfigRegistration(kind, cls, form, serializer, command, job_kind or kind)
        return cls

    return register


def registered_configs() -> dict[str, ConfigRegistration]:
    """Return every registered job kind's config, by kind, importing each installed app's `configs` module first."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("configs")
    return dict(sorted(_REGISTRY.items()))


# Command line ---------------------------------------------------------------------------------------------------

def add_config_arguments(parser: argparse.ArgumentParser, cls: type[JobConfig],
                         aliases: Mapping[str, str] | None = None) -> None:
    """Add one --option per flat option of `cls` (as HfArgumentParser does), and --config-file for a JSON file.

    `aliases` gives an option a second, shorter flag: {"use_peft": "--lora"}.
    """
    doc = (cls.__doc__ or "").strip().splitlines()
    group = parser.add_argument_group(f"{cls.__name__} options", doc[0] if doc else None)
    for option in flat_options(cls):
        help_text = option.full_help(with_choices=True).replace("%", "%%")
        flags = [option.flag, *([aliases[option.name]] if aliases and option.name in aliases else [])]
        # SUPPRESS: an option not given stays out of the namespace, so it cannot hide a --config-file value.
        if option.kind is bool and not option.is_list:
            group.add_argument(*flags, dest=option.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(*flags, dest=option.name, type=_argument_type(option), default=argparse.SUPPRESS,
                               metavar=_metavar(option), help=help_text)
    group.add_argument("--config-file", dest=CONFIG_FILE, type=Path, default=argparse.SUPPRESS, metavar="PATH",
                       help="A JSON object of options as the API takes them (a job's params.config); flags win.")


def config_from_options(cls: type[C], options: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> C:
    """Return `cls` from parsed command-line options (a command's **options), or raise ConfigError.

    Layers, lowest first: `defaults` (such as the default endpoint, from the database), --config-file, the flags.
    """
    data: dict[str, Any] = dict(defaults or {})
    if options.get(CONFIG_FILE):
        data.update(_read_config_file(Path(options[CONFIG_FILE])))
    for option in flat_options(cls):
        if option.name in options:
            put_option(data, cls, option, options[option.name])
    return validate_config(cls, data)


def _argument_type(option: ConfigOption) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return option.parse_text(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(option.type_message) from exc

    return parse


def _metavar(option: ConfigOption) -> str:
    word = {int: "N", float: "X", str: "TEXT"}[option.kind]
    return f"{word},{word}" if option.is_list else word


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--config-file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"--config-file {path}: expected a JSON object of options.")
    return data


# README ---------------------------------------------------------------------------------------------------------

def options_table(cls: type[JobConfig]) -> str:
    """Return the markdown table of a config's options: API key, command-line flag, type, default, bounds, help."""
    rows = ["| option | command line | type | default | allowed | meaning |", "| --- | --- | --- | --- | --- | --- |"]
    for option in flat_options(cls):
        flag = f"`{option.flag}`"
        if option.kind is bool and not option.is_list:
            flag += f", `--no-{option.flag[2:]}`"
        default = option.describe_default()
        if option.stored_default in ("", [], {}):
            default = "empty" if default == "empty" else f"empty ({default})"
        elif not (option.required or option.stored_default is UNSET):
            default = f"`{default}`"
        cells = [f"`{option.key}`", flag, option.describe_type(), default, option.describe_allowed(), option.help]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


# Forms and API --------------------------------------------------------------------------------------------------

def config_form_class(cls: type[JobConfig]) -> type:
    """Return a django Form class with one field per flat option of `cls`; subclass it to add other fields.

    After `is_valid()`, `config()` returns the checked config. `offer_choices(name, choices, initial)` turns an
    option into a select (a list into checkboxes) for values only the database knows, such as endpoints.
    """
    from .forms import build_form_class

    return build_form_class(cls)


def config_serializer_class(cls: type[JobConfig]) -> type:
    """Return a DRF Serializer class with one field per field of `cls` (a field of overrides nests its keys).

    It refuses unknown keys, and its `validated_data["config"]` is the checked config; subclass it to add fields
    that are the request's rather than the job's (a queue).
    """
    from .serializers import build_serializer_class

    return build_serializer_class(cls)
