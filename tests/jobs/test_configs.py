"""Job options declared once: validation, the derived form, serializer, command line and README, and their drift."""

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.utils.module_loading import import_string

from jobs.configs import (
    UNSET,
    ConfigError,
    JobConfig,
    add_config_arguments,
    config_form_class,
    config_from_options,
    config_options,
    config_serializer_class,
    flat_options,
    options_table,
    registered_configs,
    validate_config,
)
from jobs.management.commands.config_table import render_readme
from jobs.models import Job
from jobs.runner import JOB_KINDS

# Fields of a job request that are not options of the job: its queue; the dataset a new dataset version joins.
REQUEST_FIELDS = {"queue", "name", "description"}
COMMAND_FIELDS = {"config_file"}


@dataclass
class StepConfig(JobConfig):
    """How one optimisation step runs."""

    warmup_steps: int = field(default=0, metadata={"help": "Linear warm-up steps.", "min": 0})
    clip: float | None = field(default=None, metadata={"help": "Gradient norm clip (none: no clipping).", "min": 0})


@dataclass
class ExampleConfig(JobConfig):
    """A training-like job, for these tests only."""

    source_job: int = field(metadata={"help": "A finished pair-building job (no default)."})
    learning_rate: float = field(default=5e-7, metadata={"help": "AdamW learning rate.", "min": 0,
                                                         "min_exclusive": True})
    loss_type: str = field(default="sigmoid", metadata={"help": "DPO loss.",
                                                        "choices": [("sigmoid", "Sigmoid (DPO)"), ("ipo", "IPO")]})
    tags: list[str] = field(default_factory=list, metadata={"help": "Free labels."})
    layers: list[int] = field(default_factory=lambda: [0, 1], metadata={"help": "Layers to tune.", "min": 0})
    use_peft: bool = field(default=True, metadata={"help": "Train LoRA adapters."})
    step: dict = field(default_factory=lambda: {"warmup_steps": 10}, metadata={
        "help": "Step overrides.", "overrides": StepConfig, "prefix": "step_", "fallback": "the trainer's"})

    def check(self):
        kind = Job.objects.filter(pk=self.source_job).values_list("kind", flat=True).first()
        if kind != "build_pairs":
            raise ConfigError(f"source_job {self.source_job} is a {kind or 'missing'} job, not build_pairs.",
                              field="source_job")


ExampleForm = config_form_class(ExampleConfig)
ExampleSerializer = config_serializer_class(ExampleConfig)


@pytest.fixture
def pairs_job(db):
    return Job.objects.create(kind="build_pairs")


def cli(*args):
    """Parse a command line as a management command built on add_config_arguments would, then build the config."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_config_arguments(parser, ExampleConfig)
    return config_from_options(ExampleConfig, vars(parser.parse_args(list(args))))


def form_errors(data):
    form = ExampleForm(data)
    assert not form.is_valid()
    return form.errors


def serializer_errors(data):
    serializer = ExampleSerializer(data=data)
    assert not serializer.is_valid()
    return serializer.errors


def cli_error(*args):
    with pytest.raises(ConfigError) as info:
        cli(*args)
    return str(info.value)


# The dataclass ---------------------------------------------------------------------------------------------------

def test_it_builds_a_config_with_defaults_and_declared_types(pairs_job):
    config = validate_config(ExampleConfig, {"source_job": pairs_job.pk, "learning_rate": 1, "step": {"clip": 2}})
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert (config.loss_type, config.tags, config.layers, config.use_peft) == ("sigmoid", [], [0, 1], True)
    assert config.step == {"clip": 2.0}  # a given mapping replaces the default one, as in the API
    assert ExampleConfig.from_dict(config.to_dict()) == config


def test_it_names_every_unknown_key_missing_and_bad_value_at_once(db):
    with pytest.raises(ConfigError) as info:
        validate_config(ExampleConfig, {"lr": 1, "learning_rate": -1, "loss_type": "hinge", "layers": [1, "2"],
                                        "step": {"warmup": 1, "clip": -1}})
    assert info.value.errors == {
        "": ["Unknown ExampleConfig option(s): lr."],
        "source_job": ["source_job is required."],
        "learning_rate": ["learning_rate must be greater than 0."],
        "loss_type": ["Unknown loss_type: hinge (choose from sigmoid, ipo)."],
        "layers": ["layers must be a list of whole numbers."],
        "step": ["Unknown step option(s): warmup."],
        "step.clip": ["step.clip must be at least 0."],
    }


def test_it_checks_every_field_when_built_directly(pairs_job):
    with pytest.raises(ConfigError, match="use_peft must be true or false"):
        ExampleConfig(source_job=pairs_job.pk, use_peft="yes")
    with pytest.raises(ConfigError, match=r"learning_rate must be a number\."):
        ExampleConfig(source_job=pairs_job.pk, learning_rate=float("nan"))
    with pytest.raises(ConfigError, match="source_job 999 is a missing job"):
        ExampleConfig(source_job=999)


def test_it_refuses_a_declaration_it_cannot_derive_surfaces_from():
    @dataclass
    class NoHelp(JobConfig):
        limit: int = 0

    @dataclass
    class Typo(JobConfig):
        limit: int = field(default=0, metadata={"help": "x", "mni": 0})

    @dataclass
    class Nested(JobConfig):
        rows: list[list[int]] = field(default_factory=list, metadata={"help": "x"})

    @dataclass
    class Clash(JobConfig):
        warmup_steps: int = field(default=0, metadata={"help": "x"})
        step: dict = field(default_factory=dict, metadata={"help": "x", "overrides": StepConfig})

    for cls, message in [(NoHelp, "metadata\\['help'\\]"), (Typo, "unknown metadata mni"),
                         (Nested, "lists hold"), (Clash, "warmup_steps clash")]:
        with pytest.raises(TypeError, match=message):
            config_options(cls)


# The same message from every surface -----------------------------------------------------------------------------

def test_it_refuses_a_negative_learning_rate_with_the_same_message_everywhere(pairs_job):
    message = "learning_rate must be greater than 0."
    assert form_errors({"source_job": pairs_job.pk, "learning_rate": "-0.1"})["learning_rate"] == [message]
    assert serializer_errors({"source_job": pairs_job.pk, "learning_rate": -0.1})["learning_rate"] == [message]
    assert cli_error("--source-job", str(pairs_job.pk), "--learning-rate", "-0.1") == message


def test_it_refuses_a_source_of_the_wrong_kind_with_the_same_message_everywhere(db):
    other = Job.objects.create(kind="synthesize")
    message = f"source_job {other.pk} is a synthesize job, not build_pairs."
    assert form_errors({"source_job": other.pk})["source_job"] == [message]
    assert serializer_errors({"source_job": other.pk})["source_job"] == [message]
    assert cli_error("--source-job", str(other.pk)) == message


def test_it_refuses_unknown_keys_with_the_same_message_from_the_api_and_a_config_file(pairs_job, tmp_path):
    message = "Unknown ExampleConfig option(s): lr."
    assert serializer_errors({"source_job": pairs_job.pk, "lr": 1})["non_field_errors"] == [message]
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"source_job": pairs_job.pk, "lr": 1}))
    assert cli_error("--config-file", str(path)) == message
    # A form reads only the fields it declares: a stray POST key never reaches the config.
    assert ExampleForm({"source_job": pairs_job.pk, "lr": 1}).is_valid()


def test_it_refuses_a_missing_and_a_malformed_value_with_the_same_message_everywhere(db):
    assert form_errors({})["source_job"] == ["source_job is required."]
    assert serializer_errors({})["source_job"] == ["source_job is required."]
    assert cli_error() == "source_job is required."
    assert form_errors({"source_job": "seven"})["source_job"] == ["source_job must be a whole number."]
    assert serializer_errors({"source_job": "seven"})["source_job"] == ["source_job must be a whole number."]
    with pytest.raises(argparse.ArgumentError, match="source_job must be a whole number"):
        cli("--source-job", "seven")


# Forms ------------------------------------------------------------------------------------------------------------

def test_it_shows_each_default_and_help_and_puts_checkboxes_beside_their_labels(db):
    html = str(ExampleForm())
    assert ('<label class="check" for="id_use_peft"><input type="checkbox" name="use_peft" '
            'aria-describedby="id_use_peft_helptext" id="id_use_peft" checked> Use peft</label>') in html
    assert "AdamW learning rate. Allowed: above 0. Default: 5e-07." in html
    assert 'name="learning_rate" value="5e-07"' in html and 'name="layers" value="0, 1"' in html
    assert "DPO loss. Default: sigmoid." in html and '<option value="sigmoid" selected>Sigmoid (DPO)</option>' in html
    assert '<fieldset class="config-group"><legend>Step</legend>' in html
    assert 'name="step_clip" placeholder="the trainer&#x27;s"' in html and "Default: the trainer&#x27;s." in html


def test_it_leaves_an_empty_box_at_its_default_and_reads_lists_and_ticks(pairs_job):
    form = ExampleForm({"source_job": pairs_job.pk, "learning_rate": "", "tags": "a, b", "layers": "3",
                        "step_clip": "1.5"})
    assert form.is_valid(), form.errors
    config = form.config()
    assert (config.learning_rate, config.tags, config.layers, config.use_peft) == (5e-7, ["a", "b"], [3], False)
    assert config.step == {"warmup_steps": 10, "clip": 1.5}  # a key of overrides joins the field's default keys


def test_it_offers_choices_only_the_database_knows(pairs_job):
    form = ExampleForm()
    form.offer_choices("tags", [("x", "Tag x"), ("y", "Tag y")])
    assert 'value="x" id="id_tags_0"> Tag x</label>' in str(form)


# API and command line ---------------------------------------------------------------------------------------------

def test_the_serializer_nests_overrides_and_refuses_unknown_nested_keys(pairs_job):
    serializer = ExampleSerializer(data={"source_job": pairs_job.pk, "step": {"warmup_steps": 2}})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["config"].step == {"warmup_steps": 2}
    errors = serializer_errors({"source_job": pairs_job.pk, "step": {"warmup": 2, "clip": -1}})
    assert errors["step"] == {"non_field_errors": ["Unknown step option(s): warmup."],
                              "clip": ["step.clip must be at least 0."]}


def test_the_command_line_reads_lists_bools_none_and_a_config_file_under_its_flags(pairs_job, tmp_path):
    config = cli("--source-job", str(pairs_job.pk), "--tags", "a,b", "--no-use-peft", "--step-clip", "none")
    assert (config.tags, config.use_peft, config.step) == (["a", "b"], False, {"warmup_steps": 10, "clip": None})
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"source_job": pairs_job.pk, "learning_rate": 0.1, "loss_type": "ipo"}))
    config = cli("--config-file", str(path), "--learning-rate", "0.2")
    assert (config.learning_rate, config.loss_type) == (0.2, "ipo")
    assert config_from_options(ExampleConfig, {}, defaults={"source_job": pairs_job.pk}).source_job == pairs_job.pk


def test_the_options_table_lists_every_option_with_its_default_and_bounds():
    table = options_table(ExampleConfig).splitlines()
    assert len(table) == 2 + len(flat_options(ExampleConfig))
    assert "| `learning_rate` | `--learning-rate` | number | `5e-07` | above 0 | AdamW learning rate. |" in table
    assert "| `step.clip` | `--step-clip` | number or none | the trainer's | at least 0 |" in table[-1]
    assert "`--use-peft`, `--no-use-peft`" in options_table(ExampleConfig)


# Every registered config ------------------------------------------------------------------------------------------

KINDS = sorted(registered_configs())


def test_the_synthesis_dataset_and_training_job_kinds_are_registered():
    expected = {"synthesize", "verify", "build_pairs", "dataset_version", "train_dpo", "train_sft", "train_rm"}
    assert expected <= set(KINDS)
    assert {registration.job_kind for registration in registered_configs().values()} <= set(JOB_KINDS)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_its_form_exposes_exactly_its_options_with_their_defaults(kind):
    config = registered_configs()[kind].config
    form = import_string(registered_configs()[kind].form)()
    options = {option.name: option for option in flat_options(config)}
    assert set(options) <= set(form.fields) and set(form.fields) - set(options) <= REQUEST_FIELDS
    for name, option in options.items():
        field = form.fields[name]
        assert (field.required, field.help_text) == (option.required, option.full_help()), name
        if not option.required:
            assert field.initial == (None if option.stored_default is UNSET else option.default), name


@pytest.mark.parametrize("kind", KINDS)
def test_its_serializer_exposes_exactly_its_options_with_their_defaults(kind):
    config = registered_configs()[kind].config
    fields = import_string(registered_configs()[kind].serializer)().fields
    options = {option.name: option for option in config_options(config)}
    assert set(options) <= set(fields) and set(fields) - set(options) <= REQUEST_FIELDS
    for name, option in options.items():
        assert fields[name].required == option.required, name
        if not option.required:
            assert fields[name].default == option.default, name
        if option.children:
            assert set(fields[name].fields) == {child.path[-1] for child in option.children}, name


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_its_command_exposes_exactly_its_options_with_their_defaults(kind):
    registration = registered_configs()[kind]
    config, (name, *words) = registration.config, registration.command.split()
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    options = {option.name: option for option in flat_options(config)}
    required = [(option.flag, {str: "x", int: "1", float: "1.0"}[option.kind])
                for option in options.values() if option.required]
    required += [(action.option_strings[0], "x") for action in parser._actions  # the command's own, such as --name
                 if action.required and not set(action.option_strings) & set(words)]
    # The words that pick this config (train --method dpo) come first; parsing them adds the config's options.
    parsed = vars(parser.parse_args([*words, *(word for pair in required for word in pair)]))
    group = next(g for g in parser._action_groups if g.title == f"{config.__name__} options")
    actions = {action.dest: action for action in group._group_actions}
    assert set(actions) == set(options) | COMMAND_FIELDS
    assert config_from_options(config, parsed) == config(**{o.name: parsed[o.name] for o in options.values()
                                                           if o.required})
    for option in options.values():
        assert option.full_help(with_choices=True) == actions[option.name].help.replace("%%", "%")


def test_the_readme_tables_are_the_generated_ones():
    text = (settings.BASE_DIR / "README.md").read_text()
    assert render_readme(text) == text, "README.md is stale: run python manage.py config_table --write"


def test_the_configs_import_where_django_is_not_installed():
    """GPU benchmark machines import synthesis.configs (SamplingConfig) without Django or DRF."""
    code = ("import sys; sys.modules.update(django=None, rest_framework=None)\n"
            "from synthesis.configs import SamplingConfig\n"
            "print(SamplingConfig.from_dict({'max_tokens': 8}).max_tokens)")
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            check=False)
    assert result.stdout.strip() == "8", result.stderr
