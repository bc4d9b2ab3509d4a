"""Forms of the annotation pages (leads' campaign settings, imports, adjudication, gold labelling, releases)."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.models import User
from django.db.models import Field

from .actions import annotator_users
from .attributes import list_attributes
from .models import LETTERS, Campaign, Choice, JudgmentMode

if TYPE_CHECKING:
    from .pairs import PairSelection

DEFAULTED = ("qualification_items", "qualification_pass_mark", "gold_alert_accuracy", "gold_alert_min_judged")


class CampaignForm(forms.ModelForm):
    attribute_keys = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Per-attribute mode: which attributes to ask on every item. None ticked: each item's own attribute.",
    )
    annotators: "forms.ModelMultipleChoiceField[User]" = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Who may annotate (besides everyone, if open to all).",
    )

    class Meta:
        model = Campaign
        fields = ["name", "description", "guidelines", "judgment_mode", "attribute_keys", "overlap", "gold_rate",
                  "items_per_annotator", "open_to_all", "qualification_required", "qualification_items",
                  "qualification_pass_mark", "gold_alert_accuracy", "gold_alert_min_judged"]
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 8}), "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["attribute_keys"]).choices = [(a.key, a.name) for a in list_attributes()]
        cast(forms.ModelMultipleChoiceField, self.fields["annotators"]).queryset = annotator_users()
        cast(forms.ChoiceField, self.fields["judgment_mode"]).choices = JudgmentMode.choices
        for name in DEFAULTED:  # forms and clients written before these settings existed keep working
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["annotators"].initial = list(
                self.instance.members.filter(invited=True).values_list("user_id", flat=True)
            )

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's clean returns its cleaned_data
        for name in DEFAULTED:
            if data.get(name) is None:
                field = cast("Field[Any, Any]", Campaign._meta.get_field(name))  # DEFAULTED names concrete fields
                data[name] = getattr(self.instance, name) if self.instance.pk else field.default
        return data


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL: one {context, question_a, question_b, attribute} object per line.")


class AdjudicationForm(forms.Form):
    attribute = forms.CharField(widget=forms.HiddenInput, max_length=32)  # the column's length
    choice = forms.ChoiceField(choices=Choice.choices, widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class BlindAnswerForm(forms.Form):
    letter = forms.ChoiceField(choices=[(letter, letter) for letter in LETTERS], widget=forms.RadioSelect)
    time_ms = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0, max_value=86_400_000)


class ImpliedForm(forms.Form):
    def __init__(self, *args: Any, options: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for letter in LETTERS:
            self.fields[f"implied_{letter}"] = forms.ChoiceField(
                label=f"{letter}. {(options or {}).get(letter, '')}",
                choices=[("yes", "Implied"), ("no", "Not implied")], widget=forms.RadioSelect,
            )

    def marks(self) -> dict[str, bool]:
        return {letter: self.cleaned_data[f"implied_{letter}"] == "yes" for letter in LETTERS}


class GoldEditForm(forms.Form):
    stem = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    option_A = forms.CharField(label="Option A")
    option_B = forms.CharField(label="Option B")
    option_C = forms.CharField(label="Option C")
    option_D = forms.CharField(label="Option D")
    answer_idx = forms.ChoiceField(label="Key", choices=[(letter, letter) for letter in LETTERS])
    note = forms.CharField(required=False)

    def options(self) -> dict[str, str]:
        return {letter: self.cleaned_data[f"option_{letter}"] for letter in LETTERS}


class FactsForm(forms.Form):
    atomic_facts = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}),
                                   help_text="One fact per line. Bullets are stripped.")
    note = forms.CharField(required=False)

    def facts(self) -> list[str]:
        return self.cleaned_data["atomic_facts"].splitlines()


class InitialInfoForm(forms.Form):
    initial_info = forms.CharField(label="Chief complaint", widget=forms.Textarea(attrs={"rows": 2}),
                                   max_length=2000)


class RebalanceForm(forms.Form):
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**32 - 1)


class ReleaseForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SynthesisPairsForm(forms.Form):
    """Choose synthesis preference pairs for a campaign; every filter left empty means "any"."""

    attributes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    pair_types = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    verdicts = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    splits = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    ids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                          help_text="Optional: pair ids (numbers or pair_id strings), one per line or comma-separated.")
    ids_file = forms.FileField(required=False, help_text="Optional: a text file of pair ids, one per line.")
    limit = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from corpus.models import Split
        from synthesis.models import PairType, Verdict

        cast(forms.ChoiceField, self.fields["attributes"]).choices = [(a.key, a.name) for a in list_attributes()]
        cast(forms.ChoiceField, self.fields["pair_types"]).choices = PairType.choices
        cast(forms.ChoiceField, self.fields["verdicts"]).choices = Verdict.choices
        cast(forms.ChoiceField, self.fields["splits"]).choices = Split.choices

    def selection(self) -> "PairSelection":
        from .pairs import PairSelection

        data = self.cleaned_data
        text = data.get("ids") or ""
        if data.get("ids_file"):
            text += "\n" + data["ids_file"].read().decode("utf-8", errors="replace")
        ids = [token for token in text.replace(",", "\n").split() if token]
        return PairSelection(attributes=data["attributes"], pair_types=data["pair_types"], verdicts=data["verdicts"],
                             splits=data["splits"], ids=ids, limit=data.get("limit"))
