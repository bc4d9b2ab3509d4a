"""The new-run and merge forms; a run's option fields are generated from its method's config dataclass."""

import json
from dataclasses import fields
from typing import get_type_hints

from django import forms

from dataversions.models import DatasetVersion, VersionStatus
from dataversions.selection import PAIR_TYPES
from jobs.models import Queue
from synthesis.models import Attribute

from .configs import TrainingConfig, config_class, plain_type
from .models import TrainingMethod


def option_field(kind: type, default, help_text: str, choices=None) -> forms.Field:
    """Return the form field of one option; bounds are left to the config, so every front end words them alike."""
    if kind is bool:
        return forms.BooleanField(required=False, initial=default, help_text=help_text)
    if choices:
        return forms.ChoiceField(required=False, choices=[(c, c) for c in choices], initial=default,
                                 help_text=f"{help_text} Preset: {default}.")
    field_class = {float: forms.FloatField, int: forms.IntegerField, str: forms.CharField}[kind]
    return field_class(required=False, initial=default, help_text=f"{help_text} Preset: {default}.")


def config_fields(config: type[TrainingConfig]) -> dict[str, forms.Field]:
    hints = get_type_hints(config)
    return {f.name: option_field(plain_type(hints[f.name]), f.default, f.metadata.get("help", ""),
                                 f.metadata.get("choices")) for f in fields(config)}


class RunForm(forms.Form):
    """A training run: what it trains, from which data, and its options (the method's preset filled in)."""

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

    OWN_FIELDS = ("dataset_version", "base_model", "attributes", "pair_types", "name", "queue", "config_json")

    def __init__(self, *args, method: str = TrainingMethod.DPO, **kwargs):
        super().__init__(*args, **kwargs)
        self.method = method
        self.fields["attributes"].choices = [(a.key, a.name) for a in Attribute.objects.order_by("order")]
        self.fields.update(config_fields(config_class(method)))

    @property
    def option_fields(self) -> list:
        return [self[name] for name in self.fields if name not in self.OWN_FIELDS]

    @property
    def run_fields(self) -> list:
        return [self[name] for name in self.OWN_FIELDS]

    def clean_config_json(self) -> dict:
        text = self.cleaned_data["config_json"].strip()
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object of option names and values.")
        return value

    def config(self) -> dict:
        """Return the options as entered: empty fields take the preset, the JSON box overrides the fields."""
        entered = {name: self.cleaned_data[name] for name in self.fields
                   if name not in self.OWN_FIELDS and self.cleaned_data.get(name) not in (None, "")}
        return {**entered, **self.cleaned_data["config_json"]}


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
