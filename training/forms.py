"""The new-run and merge forms; a run's option fields are generated from its method's config dataclass."""

from collections.abc import Callable
from functools import cache
from typing import Any, cast

from django import forms

from alfa_platform.jsonbody import JSONInputError, parse_json_text
from dataversions.models import DatasetVersion, VersionStatus
from dataversions.selection import PAIR_TYPES
from jobs.configs import JobConfig, config_form_class
from jobs.models import Queue
from synthesis.models import Attribute

from .configs import DPORunConfig, RewardRunConfig, SFTRunConfig, config_class


class RunFields(forms.Form):
    """What a run trains, from which data, under which name: the request's fields beside the method's options."""

    dataset_version = forms.ModelChoiceField(
        queryset=DatasetVersion.objects.filter(status=VersionStatus.READY).select_related("dataset"),
        help_text="A ready dataset version: preference pairs for DPO and reward models, SFT rows for SFT.")
    base_model = forms.CharField(max_length=500, help_text="A registered model's name or a model folder.")
    attributes = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="One for a per-attribute run; several, or none (all), for data mixing.")
    pair_types = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, choices=[(p, p) for p in PAIR_TYPES],
        help_text="None ticked: all three.")
    name = forms.SlugField(required=False, max_length=64, help_text="Name of the model it registers (default "
                                                                    "run-<id>).")
    queue = forms.ChoiceField(required=False, choices=[("", "by the model's size"), *Queue.choices])
    config_json = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Options as JSON",
        help_text="Optional: options that override the fields above, e.g. another run's config.")

    # from the options form that run_form_class() combines it with
    options: Callable[[], dict[str, Any]]

    OWN_FIELDS = ("dataset_version", "base_model", "attributes", "pair_types", "name", "queue", "config_json")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["attributes"]).choices = [
            (a.key, a.name) for a in Attribute.objects.order_by("order")]

    @property
    def option_fields(self) -> list:
        return [self[name] for name in self.fields if name not in self.OWN_FIELDS]

    @property
    def run_fields(self) -> list:
        return [self[name] for name in self.OWN_FIELDS]

    def clean_config_json(self) -> dict:
        text = self.cleaned_data["config_json"].strip()
        try:
            value = parse_json_text(text) if text else {}  # json.loads recursed into a 500 on deep nesting
        except JSONInputError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object of option names and values.")
        return value

    def run_config(self) -> dict:
        """Return the options as entered: empty fields take the preset, the JSON box overrides the fields."""
        return {**self.options(), **self.cleaned_data["config_json"]}


DPOOptionsForm = config_form_class(DPORunConfig)
SFTOptionsForm = config_form_class(SFTRunConfig)
RewardOptionsForm = config_form_class(RewardRunConfig)
OPTIONS_FORMS: dict[type[JobConfig], type[forms.Form]] = {
    DPORunConfig: DPOOptionsForm, SFTRunConfig: SFTOptionsForm, RewardRunConfig: RewardOptionsForm}


@cache
def run_form_class(method: str) -> type[RunFields]:
    """Return the new-run form of `method`: the run's fields, then one field per option of its config."""
    options_form = OPTIONS_FORMS[config_class(method)]
    return type(f"{options_form.__name__}Run", (RunFields, options_form), {"__module__": __name__})


class MergeForm(forms.Form):
    models = forms.CharField(help_text="Registered model names or folders, comma-separated (at least two).")
    name = forms.SlugField(max_length=64, help_text="Name of the merged model.")
    weights = forms.CharField(required=False, help_text="Comma-separated, one per model (default: equal).")
    leave_one_out = forms.BooleanField(required=False, help_text="Also write each average without one model.")

    def clean_models(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["models"].split(",") if part.strip()]

    def clean_weights(self) -> list[float] | None:
        parts = [part.strip() for part in self.cleaned_data["weights"].split(",") if part.strip()]
        try:
            return [float(part) for part in parts] or None
        except ValueError as exc:
            raise forms.ValidationError("Weights are numbers, comma-separated.") from exc


class ServeForm(forms.Form):
    port = forms.IntegerField(required=False, min_value=0, max_value=65535,
                              help_text="TCP port on the worker (empty or 0: a free one).")
