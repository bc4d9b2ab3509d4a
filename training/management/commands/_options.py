"""Command-line options of `train`: one --option per option of any method's config (jobs.configs), TRL's names.

One command trains every method, so it offers the union of their options; the method's config refuses the
options it lacks, in the words the form and the API use.
"""

import argparse
import json

from django.core.management.base import CommandError

from jobs.configs import ConfigOption, flat_options
from training.configs import CONFIGS

# Short spellings the issue names; each is the same option as its long form.
ALIASES = {"use_peft": "--lora"}


def union_options() -> dict[str, tuple[ConfigOption, dict]]:
    """Return {name: (option, {method: default})} over every method's options."""
    found: dict[str, tuple[ConfigOption, dict]] = {}
    for method, config_class in CONFIGS.items():
        for option in flat_options(config_class):
            found.setdefault(option.name, (option, {}))[1][method] = option.describe_default()
    return found


def parser_of(option: ConfigOption):
    def parse(text: str):
        try:
            return option.parse_text(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(option.type_message) from exc

    return parse


def add_config_arguments(parser) -> None:
    group = parser.add_argument_group("training options (default: the method's preset, shown per method)")
    group.add_argument("--config-file", type=argparse.FileType("r"),
                       help="A JSON object of options (e.g. another run's config); the flags below override it.")
    for name, (option, defaults) in union_options().items():
        flags = [option.flag, *([ALIASES[name]] if name in ALIASES else [])]
        allowed = option.describe_allowed()
        presets = ", ".join(f"{method} {value}" for method, value in defaults.items())
        help_text = f"{option.help}{f' Allowed: {allowed}.' if allowed else ''} Preset: {presets}."
        kwargs = {"dest": name, "default": None, "help": help_text.replace("%", "%%")}
        if option.kind is bool:
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            group.add_argument(*flags, type=parser_of(option), **kwargs)


def given_config(options: dict) -> dict:
    """Return the options of --config-file and the flags given (the rest come from the method's preset)."""
    try:
        from_file = json.load(options["config_file"]) if options.get("config_file") else {}
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config-file is not JSON: {exc}.") from exc
    if not isinstance(from_file, dict):
        raise CommandError("--config-file must hold a JSON object of option names and values.")
    return {**from_file, **{name: options[name] for name in union_options() if options.get(name) is not None}}
