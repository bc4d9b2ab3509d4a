"""Command-line options generated from the training config dataclasses (one --option per field, TRL's names)."""

import argparse
from dataclasses import MISSING, fields
from typing import get_type_hints

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
    for name, (kind, help_text, defaults) in config_fields().items():
        flags = [f"--{name.replace('_', '-')}", *([ALIASES[name]] if name in ALIASES else [])]
        preset = ", ".join(f"{method} {value}" for method, value in defaults.items())
        options = {"dest": name, "default": None, "help": f"{help_text} [{preset}]".replace("%", "%%")}
        if kind is bool:
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **options)
        else:
            group.add_argument(*flags, type=kind, **options)


def given_config(options: dict) -> dict:
    """Return the config options given on the command line (the rest come from the method's preset)."""
    return {name: options[name] for name in config_fields() if options.get(name) is not None}
