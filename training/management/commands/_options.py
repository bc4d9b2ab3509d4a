"""Command-line options generated from the training config dataclasses (one --option per field, TRL's names)."""

import argparse
import json
from dataclasses import MISSING, fields
from typing import get_type_hints

from django.core.management.base import CommandError

from training.configs import CONFIGS, plain_type

# Short spellings the issue names; each is the same option as its long form.
ALIASES = {"use_peft": "--lora"}


def config_fields() -> dict:
    """Return {name: (type, help)} over every method's options (a method refuses the options it lacks)."""
    found = {}
    for config_class in CONFIGS.values():
        hints = get_type_hints(config_class)
        for f in fields(config_class):
            defaults = found.setdefault(f.name, (plain_type(hints[f.name]), f.metadata.get("help", ""), {}))[2]
            defaults[config_class.METHOD] = f.default if f.default is not MISSING else None
    return found


def add_config_arguments(parser) -> None:
    group = parser.add_argument_group("training options (default: the method's preset, shown per method)")
    group.add_argument("--config-file", type=argparse.FileType("r"),
                       help="A JSON object of options (e.g. another run's config); the flags below override it.")
    for name, (kind, help_text, defaults) in config_fields().items():
        flags = [f"--{name.replace('_', '-')}", *([ALIASES[name]] if name in ALIASES else [])]
        preset = ", ".join(f"{method} {value}" for method, value in defaults.items())
        options = {"dest": name, "default": None, "help": f"{help_text} [{preset}]".replace("%", "%%")}
        if kind is bool:
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **options)
        else:
            group.add_argument(*flags, type=kind, **options)


def given_config(options: dict) -> dict:
    """Return the options of --config-file and the flags given (the rest come from the method's preset)."""
    try:
        from_file = json.load(options["config_file"]) if options.get("config_file") else {}
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config-file is not JSON: {exc}.") from exc
    if not isinstance(from_file, dict):
        raise CommandError("--config-file must hold a JSON object of option names and values.")
    return {**from_file, **{name: options[name] for name in config_fields() if options.get(name) is not None}}
