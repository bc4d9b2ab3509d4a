"""Forms leads use: run synthesis or verification, edit attributes, templates and endpoints, override a verdict."""

from django import forms

from corpus.models import Split
from jobs.models import Queue

from .configs import SynthesisConfig, VerificationConfig
from .models import SCALE_LEVELS, Attribute, ModelEndpoint, Verdict

DIRECTION_CHOICES = [("enhance_hindsight", "Enhance with hindsight (the paper's enhanced side)"),
                     ("enhance", "Enhance without hindsight"), ("corrupt", "Corrupt")]
QUEUE_CHOICES = [("", "By backend (GPU endpoints on the gpu queue)"), *Queue.choices]


def endpoint_field(role):
    default = {"is_default_judge": True} if role == "judge" else {"is_default_generator": True}
    return forms.ModelChoiceField(
        queryset=ModelEndpoint.objects.filter(is_active=True), to_field_name="name",
        initial=lambda: ModelEndpoint.objects.filter(is_active=True, **default).first(),
    )


def csv(value):
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class SamplingFields(forms.Form):
    temperature = forms.FloatField(min_value=0, max_value=5, required=False)
    top_p = forms.FloatField(min_value=0.01, max_value=1, required=False)
    max_tokens = forms.IntegerField(min_value=1, max_value=4096, required=False)
    seed = forms.IntegerField(required=False)

    def sampling(self):
        return {name: self.cleaned_data[name] for name in ("temperature", "top_p", "max_tokens", "seed")
                if self.cleaned_data.get(name) is not None}


class SynthesisForm(SamplingFields):
    endpoint = endpoint_field("generator")
    attributes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    directions = forms.MultipleChoiceField(choices=DIRECTION_CHOICES, widget=forms.CheckboxSelectMultiple,
                                           initial=["enhance_hindsight", "corrupt"])
    split = forms.ChoiceField(choices=[("", "Any split"), *Split.choices], required=False)
    qids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Optional question ids, comma-separated; they override the split.")
    # A small first run by default: SmolLM2 on a CPU writes about one rewrite a second (docs/synthesis.md).
    limit = forms.IntegerField(min_value=0, required=False, initial=5, help_text="0: every selected question.")
    batch_size = forms.IntegerField(min_value=0, required=False, initial=0, help_text="0: the endpoint's setting.")
    queue = forms.ChoiceField(choices=QUEUE_CHOICES, required=False)
    field_order = ["endpoint", "attributes", "directions", "split", "qids", "limit", "temperature", "top_p",
                   "max_tokens", "seed", "batch_size", "queue"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attributes"].choices = [(a.key, f"{a.name} ({a.group})") for a in Attribute.objects.all()]
        self.fields["attributes"].initial = SynthesisConfig.__dataclass_fields__["attributes"].default_factory()

    def config(self):
        data = self.cleaned_data
        return SynthesisConfig(
            endpoint=data["endpoint"].name, attributes=data["attributes"], directions=data["directions"],
            split=data["split"], qids=csv(data["qids"]), limit=data["limit"] or 0, sampling=self.sampling(),
            batch_size=data["batch_size"] or 0,
        )


class VerificationForm(forms.Form):
    endpoint = endpoint_field("judge")
    attributes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                           help_text="None ticked: every attribute.")
    enhanced_direction = forms.ChoiceField(choices=DIRECTION_CHOICES[:2])
    split = forms.ChoiceField(choices=[("", "Any split"), *Split.choices], required=False)
    generator_model = forms.CharField(required=False, help_text="Only rewrites by this model name.")
    max_attempts = forms.IntegerField(min_value=1, max_value=10, initial=3)
    limit = forms.IntegerField(min_value=0, required=False, initial=0)
    queue = forms.ChoiceField(choices=QUEUE_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attributes"].choices = [(a.key, a.name) for a in Attribute.objects.all()]

    def config(self):
        data = self.cleaned_data
        return VerificationConfig(
            endpoint=data["endpoint"].name, attributes=data["attributes"], split=data["split"],
            generator_model=data["generator_model"], enhanced_direction=data["enhanced_direction"],
            max_attempts=data["max_attempts"], limit=data["limit"] or 0,
        )


class AttributeForm(forms.ModelForm):
    scale_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Scale",
                                 help_text="Five levels, one per line, worst first.")

    class Meta:
        model = Attribute
        fields = ["name", "group", "definition", "guidance", "is_active"]
        widgets = {"definition": forms.Textarea(attrs={"rows": 3}), "guidance": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scale_text"].initial = "\n".join(self.instance.scale)

    def clean_scale_text(self):
        levels = [line.strip() for line in self.cleaned_data["scale_text"].splitlines() if line.strip()]
        if len(levels) != SCALE_LEVELS:
            raise forms.ValidationError(f"Give exactly {SCALE_LEVELS} levels, one per line.")
        return levels


class TemplateForm(forms.Form):
    system_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    user_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}))
    placeholders = forms.CharField(help_text="Every {name} the texts use, comma-separated.")
    notes = forms.CharField(required=False, help_text="Why this version.")

    def cleaned_placeholders(self):
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

    def clean(self):
        data = super().clean()
        if data.get("verdict") and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why you override the judge.")
        return data
