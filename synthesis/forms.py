"""Forms leads use: run synthesis, verification or pair building, edit attributes, templates and endpoints."""

from typing import Any

from django import forms

from jobs.configs import config_form_class
from jobs.configs.forms import ConfigForm
from jobs.models import Queue

from .configs import PairConfig, SynthesisConfig, VerificationConfig
from .models import SCALE_LEVELS, Attribute, ModelEndpoint, Verdict

QUEUE_CHOICES = [("", "By backend (GPU endpoints on the gpu queue)"), *Queue.choices]
QUEUE_HELP = "Which workers run the job: default, or gpu (by default, the endpoint's backend decides)."


def csv(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


def offer_catalogue(form: ConfigForm, role: str | None = None) -> None:
    """Offer the active endpoints (starting from the default of `role`) and the attribute catalogue as choices."""
    if role:
        endpoints = ModelEndpoint.objects.filter(is_active=True)
        default = endpoints.filter(**{f"is_default_{role}": True}).values_list("name", flat=True).first()
        form.offer_choices("endpoint", [(name, name) for name in endpoints.values_list("name", flat=True)],
                           initial=default)
    form.offer_choices("attributes", [(a.key, f"{a.name} ({a.group})") for a in Attribute.objects.all()])


# The base class is built from the config at import time, which mypy cannot follow.
class SynthesisForm(config_form_class(SynthesisConfig)):  # type: ignore[misc]
    queue = forms.ChoiceField(choices=QUEUE_CHOICES, required=False, help_text=QUEUE_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_catalogue(self, "generator")


# The base class is built from the config at import time, which mypy cannot follow.
class VerificationForm(config_form_class(VerificationConfig)):  # type: ignore[misc]
    queue = forms.ChoiceField(choices=QUEUE_CHOICES, required=False, help_text=QUEUE_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_catalogue(self, "judge")


# The base class is built from the config at import time, which mypy cannot follow.
class PairForm(config_form_class(PairConfig)):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_catalogue(self)


class AttributeForm(forms.ModelForm):
    scale_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Scale",
                                 help_text="Five levels, one per line, worst first.")

    class Meta:
        model = Attribute
        fields = ["name", "group", "definition", "guidance", "is_active"]
        widgets = {"definition": forms.Textarea(attrs={"rows": 3}), "guidance": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scale_text"].initial = "\n".join(self.instance.scale)

    def clean_scale_text(self) -> list[str]:
        levels = [line.strip() for line in self.cleaned_data["scale_text"].splitlines() if line.strip()]
        if len(levels) != SCALE_LEVELS:
            raise forms.ValidationError(f"Give exactly {SCALE_LEVELS} levels, one per line.")
        return levels


class TemplateForm(forms.Form):
    system_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    user_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}))
    placeholders = forms.CharField(help_text="Every {name} the texts use, comma-separated.")
    notes = forms.CharField(required=False, help_text="Why this version.")

    def cleaned_placeholders(self) -> list[str]:
        return csv(self.cleaned_data["placeholders"])


class EndpointForm(forms.ModelForm):
    class Meta:
        model = ModelEndpoint
        fields = ["name", "backend", "model", "base_url", "api_key_env", "default_sampling", "device", "batch_size",
                  "max_concurrency", "timeout_s", "max_retries", "backoff_base_s", "requests_per_minute",
                  "supports_prefill", "queue", "is_default_generator", "is_default_judge", "is_active", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class OverrideForm(forms.Form):
    verdict = forms.ChoiceField(choices=[("", "Back to the judge's verdict"), (Verdict.ACCEPTED, "Accept"),
                                         (Verdict.REJECTED, "Reject")], required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if data is not None and data.get("verdict") and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why you override the judge.")
        return data
